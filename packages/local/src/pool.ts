// The bounded-concurrency map lives in @mlbom/core; re-exported for existing importers.
export { mapPool } from '@mlbom/core';
