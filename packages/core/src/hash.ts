import { createHash } from 'node:crypto';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { fsError, MlbomError } from './errors.js';

/**
 * Read size for hashing. Measured on 2 vCPUs with SHA-NI, page cache warm: a 1 GiB file with a
 * read stream took 1.36 s at 64 KiB chunks, 0.94 s at 1 MiB, 0.79 s at 4 MiB; the double-buffered
 * loop below hashes 2 GiB in 1.53 s at 4 MiB (1.59 s at 1 MiB) with RSS flat at ~54 MB.
 */
export const HASH_CHUNK_SIZE = 4 * 1024 * 1024;

/** Flags for opening files to read: never block on a FIFO; the caller adds O_NOFOLLOW where wanted. */
export const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
/** Like READ_FLAGS, but refuses to open a symbolic link (where the platform supports it). */
export const READ_NOFOLLOW_FLAGS = READ_FLAGS | (constants.O_NOFOLLOW ?? 0);

export interface HashOptions {
  /** Aborting rejects with an MlbomError of code ABORTED. */
  signal?: AbortSignal | undefined;
  /** Called with the byte count of every chunk read. */
  onProgress?: ((bytes: number) => void) | undefined;
  /** Read size in bytes (default 4 MiB). */
  chunkSize?: number | undefined;
}

export interface FileHash {
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  /** Bytes hashed. */
  size: number;
}

export function abortedError(what: string, signal?: AbortSignal): MlbomError {
  return new MlbomError('ABORTED', `${what}: aborted`, { cause: signal?.reason });
}

/**
 * Streams a file through SHA-256 without holding more than a few chunks in memory.
 * @throws {MlbomError} NOT_FOUND, PERMISSION_DENIED, FILE_UNREADABLE (via fsError), INVALID_INPUT when
 *   the path is not a regular file, ABORTED when `signal` fires
 */
export async function hashFile(path: string, options: HashOptions = {}): Promise<FileHash> {
  if (options.signal?.aborted) throw abortedError(path, options.signal);
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    throw fsError(error, path, 'open');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MlbomError('INVALID_INPUT', `${path}: not a regular file`);
    return await hashHandle(handle, path, options);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * Hashes an open file from offset 0; the caller closes the handle. `label` names the file in errors.
 * Two buffers are reused for the whole file: the next chunk is read (on the libuv pool) while the
 * current one is hashed, so memory stays at 2 x chunkSize whatever the file size.
 */
export async function hashHandle(handle: FileHandle, label: string, options: HashOptions = {}): Promise<FileHash> {
  const { signal, onProgress } = options;
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? HASH_CHUNK_SIZE));
  if (signal?.aborted) throw abortedError(label, signal);
  const hash = createHash('sha256');
  let chunk = Buffer.allocUnsafe(chunkSize);
  let next = Buffer.allocUnsafe(chunkSize);
  let size = 0;
  let pending: Promise<{ bytesRead: number }> | undefined = handle.read(chunk, 0, chunkSize, 0);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) break;
      if (signal?.aborted) throw abortedError(label, signal);
      size += bytesRead;
      pending = handle.read(next, 0, chunkSize, size);
      hash.update(bytesRead === chunkSize ? chunk : chunk.subarray(0, bytesRead));
      [chunk, next] = [next, chunk];
      onProgress?.(bytesRead);
    }
  } catch (error) {
    if (error instanceof MlbomError) throw error;
    throw fsError(error, label, 'read');
  } finally {
    // Never leave a read in flight into a buffer (or on a handle) the caller is about to drop.
    await pending?.catch(() => {});
  }
  return { sha256: hash.digest('hex'), size };
}
