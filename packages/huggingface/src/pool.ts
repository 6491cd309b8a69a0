export { mapPool } from '@mlbom/core';
