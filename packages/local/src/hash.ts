// Streaming SHA-256 lives in @mlbom/huggingface (which this package depends on, for the Hub cache
// layout); re-exported here for this package's modules and existing importers.
export {
  abortedError,
  type FileHash,
  HASH_CHUNK_SIZE,
  type HashOptions,
  hashFile,
  hashHandle,
  READ_FLAGS,
  READ_NOFOLLOW_FLAGS,
} from '@mlbom/huggingface';
