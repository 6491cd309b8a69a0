import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { ByteSource } from '@mlbom/core';
import { type Codec, DecodeError, decompressStream } from '@mlbom/formats';

export { type Codec, DecodeError };

/**
 * Pull-based byte streams. Every analyser reads through a `Reader`, whatever the bytes come from: a
 * slice of a ByteSource (a file, an HTTP resource, a stored zip member: skipping is free, nothing is
 * read), a decompressed stream (zip deflate, joblib zlib/bz2/xz, gzip), or a member of a tar stream.
 */
export interface ChunkSource {
  /** The next chunk, or null at the end. */
  next(): Promise<Uint8Array | null>;
  /** Skips `n` bytes without returning them; returns how many were skipped (fewer only at the end). */
  skip?(n: number): Promise<number>;
  /** Releases resources (stops a decompressor). */
  close?(): void;
}

/** Thrown when a configured limit is reached: the scan budget, a member's declared size, a stream cap. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
  constructor(
    readonly kind: 'budget' | 'output' | 'stream',
    message: string,
  ) {
    super(message);
  }
}

const EMPTY = new Uint8Array(0);
export const CHUNK_SIZE = 256 * 1024;

/** `length` bytes of `source` from `start`, read lazily in chunks; skipping reads nothing. */
export function sourceChunks(source: ByteSource, start: number, length: number, chunkSize = CHUNK_SIZE): ChunkSource {
  let offset = start;
  const end = start + length;
  // Start small (a format check needs a few hundred bytes), then grow: few reads, little read ahead.
  let size = Math.min(8 * 1024, chunkSize);
  return {
    async next() {
      if (offset >= end) return null;
      const want = Math.min(size, end - offset);
      size = Math.min(size * 4, chunkSize);
      const chunk = await source.read(offset, want);
      if (chunk.length === 0) {
        offset = end;
        return null;
      }
      offset += chunk.length;
      return chunk;
    },
    async skip(n) {
      const k = Math.max(0, Math.min(n, end - offset));
      offset += k;
      return k;
    },
  };
}

/** Bytes already in memory, handed over as one chunk. */
export function bufferChunks(bytes: Uint8Array): ChunkSource {
  let offset = 0;
  return {
    async next() {
      if (offset >= bytes.length) return null;
      const rest = bytes.subarray(offset);
      offset = bytes.length;
      return rest;
    },
    async skip(n) {
      const k = Math.max(0, Math.min(n, bytes.length - offset));
      offset += k;
      return k;
    },
  };
}

/** Shared decompression budget of one scan (a zip bomb stops here, not in memory). */
export interface Budget {
  remaining: number;
}

/**
 * Streams the decompressed bytes of `inner`. `maxOutput` bounds this stream; `budget` bounds all
 * decompression of one scan. Both throw LimitError when exceeded; corrupt data throws DecodeError.
 */
export function decompressChunks(
  inner: ChunkSource,
  codec: Codec,
  options: { maxOutput?: number; budget?: Budget } = {},
): ChunkSource {
  async function* input() {
    for (;;) {
      const chunk = await inner.next();
      if (!chunk) return;
      yield chunk;
    }
  }
  const decoding = decompressStream(codec, Readable.from(input(), { objectMode: false }));
  let produced = 0;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    decoding.destroy();
    inner.close?.();
  };
  return {
    async next() {
      if (closed) return null;
      let r: IteratorResult<Uint8Array>;
      try {
        r = await decoding.next();
      } catch (err) {
        close();
        throw err;
      }
      if (r.done) {
        close();
        return null;
      }
      const chunk = new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length);
      produced += chunk.length;
      if (options.maxOutput !== undefined && produced > options.maxOutput) {
        close();
        throw new LimitError('output', `inflates to more than the ${options.maxOutput} bytes its header declares`);
      }
      if (options.budget) {
        options.budget.remaining -= chunk.length;
        if (options.budget.remaining < 0) {
          close();
          throw new LimitError('budget', 'decompression budget of this scan exhausted');
        }
      }
      return chunk;
    },
    close,
  };
}

/** Wraps a stream to compute the CRC-32 of everything read; `complete` is false once anything was skipped. */
export function crcChunks(inner: ChunkSource): ChunkSource & { crc: number; length: number; complete: boolean } {
  const state = {
    crc: 0,
    length: 0,
    complete: true,
    async next() {
      const chunk = await inner.next();
      if (chunk) {
        state.crc = crc32(chunk, state.crc);
        state.length += chunk.length;
      }
      return chunk;
    },
    async skip(n: number) {
      state.complete = false;
      if (inner.skip) return inner.skip(n);
      let left = n;
      while (left > 0) {
        const c = await inner.next();
        if (!c) break;
        left -= c.length;
      }
      return n - Math.max(0, left);
    },
    close: () => inner.close?.(),
  };
  return state;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A buffered reader over a ChunkSource with a synchronous fast path: callers check `avail()` and
 * index `buf[p]` directly, awaiting `fill(n)` only at chunk boundaries.
 */
export class Reader {
  buf: Uint8Array = EMPTY;
  p = 0;
  /** Absolute offset of buf[0] in the stream. */
  base = 0;
  private ended = false;

  constructor(
    private readonly src: ChunkSource,
    /** The stream is cut here (LimitError): a pickle that never ends stops. */
    readonly limit = Number.POSITIVE_INFINITY,
    readonly signal?: AbortSignal,
  ) {}

  get pos(): number {
    return this.base + this.p;
  }

  avail(): number {
    return this.buf.length - this.p;
  }

  /** Ensures at least `n` contiguous bytes are buffered; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    if (this.buf.length - this.p >= n) return true;
    if (this.signal?.aborted) throw this.signal.reason ?? new Error('aborted');
    let rest = this.buf.subarray(this.p);
    this.base += this.p;
    this.p = 0;
    while (rest.length < n && !this.ended) {
      const chunk = await this.src.next();
      if (!chunk) {
        this.ended = true;
        break;
      }
      if (this.base + rest.length + chunk.length > this.limit) {
        throw new LimitError('stream', `stream longer than the ${this.limit}-byte limit`);
      }
      rest = concat(rest, chunk);
    }
    this.buf = rest;
    return rest.length >= n;
  }

  /** The next byte, or -1 when the stream ends. */
  async byte(): Promise<number> {
    if (this.p < this.buf.length || (await this.fill(1))) return this.buf[this.p++] as number;
    return -1;
  }

  /** The byte `k` places ahead when it is already buffered (not consumed); else -1. */
  peekByte(k: number): number {
    const i = this.p + k;
    return i < this.buf.length ? (this.buf[i] as number) : -1;
  }

  /** A view of the next `n` bytes when they are already buffered (not consumed); else undefined. */
  buffered(n: number): Uint8Array | undefined {
    return this.buf.length - this.p >= n ? this.buf.subarray(this.p, this.p + n) : undefined;
  }

  /** Consumes `n` buffered bytes. */
  advance(n: number): void {
    this.p += n;
  }

  /** Whether the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Up to `n` bytes without consuming them. */
  async peek(n: number): Promise<Uint8Array> {
    await this.fill(n);
    return this.buf.subarray(this.p, this.p + Math.min(n, this.avail()));
  }

  /** Exactly `n` bytes (copied out of the buffer view), or null when the stream ends first. */
  async read(n: number): Promise<Uint8Array | null> {
    if (!(await this.fill(n))) return null;
    const out = this.buf.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }

  /** Skips `n` bytes; false when the stream ends first. Reads nothing from a ByteSource slice. */
  async skip(n: number): Promise<boolean> {
    const have = this.avail();
    if (have >= n) {
      this.p += n;
      return true;
    }
    let left = n - have;
    this.base += this.buf.length;
    this.buf = EMPTY;
    this.p = 0;
    if (this.base + left > this.limit)
      throw new LimitError('stream', `stream longer than the ${this.limit}-byte limit`);
    if (this.src.skip) {
      const k = await this.src.skip(left);
      this.base += k;
      if (k < left) this.ended = true;
      return k === left;
    }
    while (left > 0) {
      if (this.signal?.aborted) throw this.signal.reason ?? new Error('aborted');
      const chunk = await this.src.next();
      if (!chunk) {
        this.ended = true;
        return false;
      }
      if (chunk.length > left) {
        this.base += left; // buf[0] is at absolute offset base
        this.buf = chunk.subarray(left);
        return true;
      }
      this.base += chunk.length;
      left -= chunk.length;
    }
    return true;
  }

  /**
   * Reads `n` bytes keeping at most `keep` of them (the rest is skipped). Returns null when the stream
   * ends first.
   */
  async take(n: number, keep: number): Promise<Uint8Array | null> {
    if (n <= keep) return this.read(n);
    const head = await this.read(keep);
    if (!head) return null;
    const copy = head.slice();
    return (await this.skip(n - keep)) ? copy : null;
  }

  /**
   * A line ending in `\n` (without it). `null` at end of stream before a newline, `undefined` when no
   * newline comes within `max` bytes.
   */
  async line(max: number): Promise<Uint8Array | null | undefined> {
    let from = 0;
    for (;;) {
      const idx = this.buf.indexOf(0x0a, this.p + from);
      if (idx >= 0 && idx - this.p <= max) {
        const out = this.buf.subarray(this.p, idx);
        this.p = idx + 1;
        return out;
      }
      const have = this.avail();
      if (have > max) return undefined;
      from = have;
      if (!(await this.fill(have + 1))) return null;
    }
  }

  /** A child stream of the next `n` bytes of this reader (for tar members and nested streams). */
  sub(n: number): ChunkSource {
    let left = n;
    return {
      next: async () => {
        if (left <= 0) return null;
        if (this.avail() === 0 && !(await this.fill(1))) return null;
        const k = Math.min(left, this.avail());
        const out = this.buf.subarray(this.p, this.p + k);
        this.p += k;
        left -= k;
        return out;
      },
      skip: async (k) => {
        const want = Math.min(k, left);
        const before = this.pos;
        await this.skip(want);
        const done = this.pos - before;
        left -= done;
        return done;
      },
    };
  }
}
