import { createHash } from 'node:crypto';
import { type ByteSource, MAX_READ_BYTES, MlbomError, type Property } from '@mlbom/core';

/** The error every reader throws for bytes that are not what they claim to be. */
export function formatError(source: { name: string } | string, message: string, cause?: unknown): MlbomError {
  const name = typeof source === 'string' ? source : source.name;
  return new MlbomError('FORMAT_INVALID', `${name}: ${message}`, cause === undefined ? undefined : { cause });
}

const decoder = new TextDecoder('utf-8', { fatal: false });
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Decodes UTF-8, throwing FORMAT_INVALID on invalid sequences. */
export function strictUtf8(source: { name: string }, bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (error) {
    throw formatError(source, `${what} is not valid UTF-8`, error);
  }
}

export function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, Math.min(i + 4096, bytes.length)));
  }
  return out;
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads exactly `length` bytes at `offset`, in pieces no larger than the ByteSource allows.
 * @throws {MlbomError} FORMAT_INVALID when the data ends first
 */
export async function readExact(source: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw formatError(source, `${what}: invalid range (offset ${offset}, length ${length})`);
  }
  if (offset + length > source.size) {
    throw formatError(
      source,
      `${what}: needs bytes ${offset}..${offset + length} but the file has ${source.size}: truncated`,
    );
  }
  if (length <= MAX_READ_BYTES) {
    const bytes = await source.read(offset, length);
    if (bytes.length < length)
      throw formatError(source, `${what}: truncated (read ${bytes.length} of ${length} bytes)`);
    return bytes;
  }
  const out = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const piece = await source.read(offset + done, Math.min(MAX_READ_BYTES, length - done));
    if (piece.length === 0) throw formatError(source, `${what}: truncated`);
    out.set(piece, done);
    done += piece.length;
  }
  return out;
}

/** A property value kept to a sane length (CycloneDX has no limit, readers of a BOM do). */
export function clip(value: string, max = 1000): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** A property-name-safe form of a free-form key (`mlbom:` names allow `[a-z0-9:._-]`). */
export function propertyKey(key: string): string {
  return (
    key
      .replace(/[^A-Za-z0-9:._-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 100) || '_'
  );
}

export function prop(name: string, value: string | number | bigint | boolean): Property {
  return { name, value: clip(String(value)) };
}

/**
 * Sequential reading with a window cache over a ByteSource: reads happen in chunks (growing up to
 * 1 MiB) so a header walk costs few reads, whether local or HTTP ranges; `skip` moves without reading.
 * Every accessor requires a preceding `need(n)`.
 */
export class Cursor {
  pos: number;
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private dv = view(this.buf);
  private chunk: number;

  constructor(
    readonly source: ByteSource,
    start: number,
    /** Offset the reader may not go past (defaults to the end of the data). */
    readonly end: number = source.size,
    options: { chunk?: number } = {},
  ) {
    this.pos = start;
    this.chunk = options.chunk ?? 64 * 1024;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Makes `n` bytes at `pos` available. @throws {MlbomError} FORMAT_INVALID past `end` */
  async need(n: number, what = 'data'): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.end) {
      throw formatError(this.source, `${what} at offset ${this.pos} runs past the end (${this.end}): truncated`);
    }
    const length = Math.min(Math.max(n, this.chunk), this.end - this.pos);
    // Sources whose size is only a cap (decompressing ones) may return less than asked near their end.
    this.buf =
      length <= MAX_READ_BYTES
        ? await this.source.read(this.pos, length)
        : await readExact(this.source, this.pos, length, what);
    if (this.buf.length < n) {
      throw formatError(this.source, `${what} at offset ${this.pos} runs past the end of the data: truncated`);
    }
    this.bufStart = this.pos;
    this.dv = view(this.buf);
    this.chunk = Math.min(this.chunk * 2, 1024 * 1024);
  }

  /** Whether `n` bytes at `pos` are already in memory (so the sync accessors may be used). */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length;
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  u8(): number {
    return this.buf[this.at(1)] as number;
  }
  u16(): number {
    return this.dv.getUint16(this.at(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.dv.getInt32(this.at(4), true);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.at(8), true);
  }
  i64(): bigint {
    return this.dv.getBigInt64(this.at(8), true);
  }
  f32(): number {
    return this.dv.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.dv.getFloat64(this.at(8), true);
  }
  /** A view of the next `n` bytes (valid until the next `need`). */
  bytes(n: number): Uint8Array {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }

  /** Skips `n` bytes without reading them. @throws {MlbomError} FORMAT_INVALID past `end` */
  skip(n: number, what = 'data'): void {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.end) {
      throw formatError(this.source, `${what} of ${n} bytes at offset ${this.pos} runs past the end: truncated`);
    }
    this.pos += n;
  }

  /** Reads `n` bytes (copied), at most `max`. */
  async take(n: number, max: number, what: string): Promise<Uint8Array> {
    if (n > max) throw formatError(this.source, `${what} of ${n} bytes exceeds the limit of ${max}`);
    if (n <= 1024 * 1024) {
      await this.need(n, what);
      return this.bytes(n).slice();
    }
    const out = await readExact(this.source, this.pos, n, what);
    this.pos += n;
    return out;
  }
}

/** Converts a u64 to a safe number. @throws {MlbomError} FORMAT_INVALID when it is not one */
export function safeNumber(source: { name: string }, value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(source, `${what} ${value} is implausibly large`);
  return Number(value);
}

/** Product of dimensions; throws when it is not a safe integer. */
export function product(source: { name: string }, dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw formatError(source, `${what}: invalid dimension ${d}`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw formatError(source, `${what}: element count overflows`);
  }
  return n;
}

/** Sums parameter counts per dtype; the result is ordered by count (largest first). */
export class DtypeTally {
  private readonly counts = new Map<string, number>();
  total = 0;

  add(dtype: string, count: number): void {
    this.counts.set(dtype, (this.counts.get(dtype) ?? 0) + count);
    this.total += count;
  }

  entries(): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }
}

/** The standard parameter properties: total, per dtype, and the dtype list (largest share first). */
export function parameterProperties(byDtype: Record<string, number>, total: number): Property[] {
  const entries = Object.entries(byDtype).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out: Property[] = [prop('mlbom:parameterCount', total)];
  if (entries.length > 0) out.push(prop('mlbom:dtype', entries.map(([d]) => d).join(',')));
  if (entries.length > 1) for (const [d, n] of entries) out.push(prop(`mlbom:parameterCount:${propertyKey(d)}`, n));
  return out;
}
