// Streaming SHA-256 lives in @mlbom/core (shared by every source); re-exported for existing importers.
export {
  abortedError,
  type FileHash,
  HASH_CHUNK_SIZE,
  type HashOptions,
  hashFile,
  hashHandle,
  READ_FLAGS,
  READ_NOFOLLOW_FLAGS,
} from '@mlbom/core';
