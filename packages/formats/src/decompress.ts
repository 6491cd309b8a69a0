import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { createGunzip, createInflate, createInflateRaw, constants as zc } from 'node:zlib';
import unbzip2Stream from 'unbzip2-stream';
import xzDecompress from 'xz-decompress';

// xz-decompress is CommonJS: its named exports are reachable through the default import only.
const { XzReadableStream } = xzDecompress;

/** Compressions mlbom decodes: deflate (zip members), zlib (joblib), gzip, bz2 and xz (joblib). */
export type Codec = 'raw' | 'zlib' | 'gzip' | 'bz2' | 'xz';

/**
 * The decompressed bytes of `input`, read one chunk at a time (backpressure bounds the memory).
 * `destroy(err)` stops the decoder; with an error, the next read rejects with it.
 */
export function decompressStream(
  codec: Codec,
  input: Readable,
): { chunks: AsyncIterator<Uint8Array>; destroy(err?: Error): void } {
  switch (codec) {
    case 'bz2': {
      // unbzip2-stream is a classic stream; a PassThrough gives it backpressure and an async iterator.
      const bz = unbzip2Stream();
      const out = new PassThrough({ highWaterMark: 64 * 1024 });
      bz.on('error', (err: Error) => out.destroy(err));
      input.pipe(bz).pipe(out);
      return {
        chunks: out[Symbol.asyncIterator](),
        destroy: (err) => {
          bz.destroy();
          out.destroy(err);
        },
      };
    }
    case 'xz': {
      // node:zlib has no xz; xz-decompress pulls its input only as its output is read.
      const reader = new XzReadableStream(Readable.toWeb(input) as ReadableStream<Uint8Array>).getReader();
      return {
        chunks: {
          next: async () => {
            const r = await reader.read();
            return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
          },
        },
        destroy: (err) => void reader.cancel(err).catch(() => {}),
      };
    }
    default: {
      const opts = { chunkSize: 64 * 1024, finishFlush: zc.Z_SYNC_FLUSH };
      const z = codec === 'raw' ? createInflateRaw(opts) : codec === 'gzip' ? createGunzip(opts) : createInflate(opts);
      input.pipe(z);
      return { chunks: z[Symbol.asyncIterator](), destroy: (err) => z.destroy(err) };
    }
  }
}
