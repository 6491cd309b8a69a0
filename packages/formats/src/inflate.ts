import { Readable } from 'node:stream';
import type { ByteSource } from '@mlbom/core';
import { type Codec, DecodeError, decompressStream } from './decompress.js';
import { formatError } from './util.js';

/** Most decompressed bytes one walk may go through (they are streamed, never held). */
export const MAX_INFLATED_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * A forward-only ByteSource over the decompressed content (zlib, gzip, bz2, xz) of another one: reads must
 * not go backwards (the pickle walker's never do), memory stays at about one window, and skipping
 * ahead inflates and discards. `size` is the cap, not the real length; reads past the real end come
 * back short.
 */
export function inflatingByteSource(
  source: ByteSource,
  compression: Exclude<Codec, 'raw'>,
  maxBytes = MAX_INFLATED_BYTES,
): ByteSource {
  const name = `${source.name} (${compression})`;
  async function* chunks() {
    const step = 1024 * 1024;
    for (let at = 0; at < source.size; at += step) yield await source.read(at, Math.min(step, source.size - at));
  }
  const decoding = decompressStream(compression, Readable.from(chunks()));
  let buf = new Uint8Array(0);
  let bufStart = 0;
  let done = false;
  let bytesRead = 0;
  return {
    name,
    size: maxBytes,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset, length) {
      if (offset < bufStart) throw formatError(name, 'decompressed data cannot be read backwards');
      const end = Math.min(offset + length, maxBytes);
      while (!done && bufStart + buf.length < end) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await decoding.next();
        } catch (error) {
          done = true;
          if (!(error instanceof DecodeError)) throw error;
          throw formatError(name, `not valid ${compression} data (${error.message})`, error);
        }
        if (next.done) {
          done = true;
          break;
        }
        // Keep only what is at or after `offset`.
        const drop = Math.max(0, Math.min(buf.length, offset - bufStart));
        const kept = buf.subarray(drop);
        const merged = new Uint8Array(kept.length + next.value.length);
        merged.set(kept);
        merged.set(next.value, kept.length);
        bufStart += drop;
        buf = merged;
        if (offset > bufStart + buf.length) {
          bufStart += buf.length;
          buf = new Uint8Array(0);
        }
      }
      const from = offset - bufStart;
      const out = buf.subarray(Math.max(0, from), Math.max(0, Math.min(buf.length, end - bufStart)));
      bytesRead += out.length;
      return out.slice();
    },
    async close() {
      done = true;
      decoding.destroy();
    },
  };
}
