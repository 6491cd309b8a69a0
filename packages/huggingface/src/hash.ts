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
