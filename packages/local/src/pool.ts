// The bounded-concurrency map lives in @mlbom/huggingface; re-exported for this package and existing importers.
export { mapPool } from '@mlbom/huggingface';
