export * from './cache.js';
export * from './content.js';
export * from './fixtures.js';
export * from './server.js';
