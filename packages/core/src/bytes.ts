import { type FileHandle, open } from 'node:fs/promises';
import { fsError, MlbomError, MlbomHttpError } from './errors.js';

/**
 * Random-access bytes: what every format reader and the scanner work over, so the same code reads a
 * local file, an HTTP resource through range requests, or a zip member.
 */
export interface ByteSource {
  /** For messages: a path or URL (never with credentials). */
  readonly name: string;
  readonly size: number;
  /**
   * Reads up to `length` bytes at `offset`; returns fewer only at end of data.
   * @throws {MlbomError} FILE_UNREADABLE / SOURCE_FAILED when the bytes cannot be read
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Total bytes handed out so far: lets tests and benchmarks prove a reader read only what it needed. */
  readonly bytesRead: number;
  close(): Promise<void>;
}

/** Hard ceiling on one read, so a lying length field cannot make a reader allocate gigabytes. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

function checkRange(name: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new MlbomError('FORMAT_INVALID', `${name}: invalid read at offset ${offset}, length ${length}`);
  }
  if (length > MAX_READ_BYTES) {
    throw new MlbomError(
      'FORMAT_INVALID',
      `${name}: refusing to read ${length} bytes at once (limit ${MAX_READ_BYTES})`,
    );
  }
}

/** Wraps a raw reader with the range checks and byte counting every ByteSource shares. */
export function countingSource(
  name: string,
  size: number,
  readRange: (offset: number, length: number) => Promise<Uint8Array>,
  close: () => Promise<void> = async () => {},
): ByteSource {
  let bytesRead = 0;
  return {
    name,
    size,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset, length) {
      checkRange(name, offset, length);
      const out = await readRange(offset, length);
      bytesRead += out.length;
      return out;
    },
    close,
  };
}

export function bufferByteSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return countingSource(name, bytes.length, async (offset, length) =>
    bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length)),
  );
}

/** Positional reads from an open file handle, filling what the file has. */
function handleReader(handle: FileHandle, size: number, name: string) {
  return async (offset: number, length: number): Promise<Uint8Array> => {
    const want = Math.max(0, Math.min(length, size - offset));
    const buffer = new Uint8Array(want);
    let filled = 0;
    try {
      while (filled < want) {
        const { bytesRead: n } = await handle.read(buffer, filled, want - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
    } catch (err) {
      throw fsError(err, name);
    }
    return buffer.subarray(0, filled);
  };
}

/** A ByteSource over an already open file handle; closing the handle stays the caller's business. */
export function handleByteSource(handle: FileHandle, size: number, name: string): ByteSource {
  return countingSource(name, size, handleReader(handle, size, name));
}

/**
 * A local file, opened once.
 * @throws {MlbomError} NOT_FOUND, PERMISSION_DENIED or FILE_UNREADABLE naming the path
 */
export async function fileByteSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, 'r');
    size = (await handle.stat()).size;
  } catch (err) {
    throw fsError(err, path);
  }
  return countingSource(path, size, handleReader(handle, size, path), () => handle.close());
}

/**
 * Reads at most `cap` bytes of a regular file as UTF-8 (cards, configs, metadata): bounded whatever
 * the file's size; `truncated` tells that more was there.
 * @throws {MlbomError} NOT_FOUND / PERMISSION_DENIED / FILE_UNREADABLE naming the path
 */
export async function readTextPrefix(
  path: string,
  cap: number,
  flags: string | number = 'r',
): Promise<{ text: string; truncated: boolean }> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    throw fsError(err, path);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MlbomError('FILE_UNREADABLE', `${path}: not a regular file`);
    const bytes = await handleReader(handle, info.size, path)(0, Math.min(info.size, cap));
    return { text: Buffer.from(bytes).toString('utf8'), truncated: info.size > cap };
  } finally {
    await handle.close().catch(() => {});
  }
}

/** A window of another source (a zip member, an embedded array); reads are counted here too. */
export function sliceByteSource(parent: ByteSource, offset: number, length: number, name: string): ByteSource {
  const size = Math.max(0, Math.min(length, parent.size - offset));
  return countingSource(name, size, async (at, len) => {
    const want = Math.max(0, Math.min(len, size - at));
    return want === 0 ? new Uint8Array(0) : parent.read(offset + at, want);
  });
}

/** Removes credentials and query strings (which may hold signed tokens) from a URL for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/**
 * An HTTP resource read with `Range` requests. `size` must be known (from a listing, HEAD or a
 * Content-Range header). Headers (auth) are sent on every request and never reported.
 */
export function httpByteSource(options: {
  url: string;
  size: number;
  fetch?: typeof globalThis.fetch;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}): ByteSource {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const name = redactUrl(options.url);
  return countingSource(name, options.size, async (offset, length) => {
    const end = Math.min(offset + length, options.size) - 1;
    if (end < offset) return new Uint8Array(0);
    const response = await doFetch(options.url, {
      headers: { ...options.headers, Range: `bytes=${offset}-${end}` },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status !== 206 && response.status !== 200) {
      await response.body?.cancel();
      throw new MlbomHttpError('SOURCE_FAILED', `${name}: range request answered HTTP ${response.status}`, {
        status: response.status,
        url: name,
        requestId: response.headers.get('x-request-id') ?? undefined,
      });
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (response.status === 200 && (!Number.isFinite(declared) || declared > MAX_READ_BYTES)) {
      // The server ignored Range and would send the whole (possibly huge) file: refuse it.
      await response.body?.cancel();
      throw new MlbomError('SOURCE_FAILED', `${name}: server ignores HTTP range requests`);
    }
    const body = new Uint8Array(await response.arrayBuffer());
    // A server that ignores Range sends the whole body: keep only what was asked for.
    return response.status === 200 ? body.subarray(offset, end + 1) : body.subarray(0, end - offset + 1);
  });
}
