export { type CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main } from './main.js';
