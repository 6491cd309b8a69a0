import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { createGunzip, createInflate, createInflateRaw, constants as zc } from 'node:zlib';
import unbzip2Stream from 'unbzip2-stream';
import xzDecompress from 'xz-decompress';

// xz-decompress is CommonJS: its named exports are reachable through the default import only.
const { XzReadableStream } = xzDecompress;

/** Compressions mlbom decodes: deflate (zip members), zlib (joblib), gzip, bz2 and xz (joblib). */
export type Codec = 'raw' | 'zlib' | 'gzip' | 'bz2' | 'xz';

const FILE_CODECS: ReadonlySet<string> = new Set(['zlib', 'gzip', 'bz2', 'xz']);

/** Whether a whole-file compression `detectContent` reports (`mlbom:compression`) is one mlbom decodes. */
export function isDecodedCompression(compression: string | undefined): compression is Exclude<Codec, 'raw'> {
  return compression !== undefined && FILE_CODECS.has(compression);
}

/** Corrupt or truncated compressed data, whichever decoder found it. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly codec: Codec,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DecompressedStream {
  /**
   * The next decompressed chunk. Rejects with the input's own error when reading the compressed
   * bytes failed (never a quiet end: xz-decompress would otherwise just stop), else with a DecodeError.
   */
  next(): Promise<IteratorResult<Uint8Array>>;
  /** Stops the input and the decoder. */
  destroy(): void;
}

/** The decompressed bytes of `input`, one chunk at a time (backpressure bounds the memory). */
export function decompressStream(codec: Codec, input: Readable): DecompressedStream {
  const decoder = decoderFor(codec, input);
  let inputError: unknown;
  // pipe() does not forward errors: a failed read of the compressed bytes ends the decoder with it.
  input.on('error', (err) => {
    inputError = err;
    decoder.destroy(err);
  });
  return {
    async next() {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await decoder.chunks.next();
      } catch (err) {
        if (inputError !== undefined) throw inputError;
        throw new DecodeError(codec, err instanceof Error ? err.message : String(err), { cause: err });
      }
      if (r.done && inputError !== undefined) throw inputError;
      return r;
    },
    destroy() {
      input.destroy();
      decoder.destroy();
    },
  };
}

function decoderFor(codec: Codec, input: Readable): { chunks: AsyncIterator<Uint8Array>; destroy(err?: Error): void } {
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
