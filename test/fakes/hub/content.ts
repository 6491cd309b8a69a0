import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** A repo file's bytes: either held in memory, or generated on demand (a multi-GB shard served by range). */
export interface Content {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export function bytesContent(bytes: Uint8Array): Content {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export function textContent(text: string): Content {
  return bytesContent(new TextEncoder().encode(text));
}

/** A file that starts with `head` and continues with zeros up to `size` bytes (nothing is allocated for them). */
export function paddedContent(head: Uint8Array, size: number): Content {
  return {
    size,
    read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      if (offset < head.length) out.set(head.subarray(offset, Math.min(head.length, end)));
      return out;
    },
  };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A deterministic 40-hex commit id for a fixture. */
export function fakeCommit(seed: string): string {
  return createHash('sha1').update(`commit:${seed}`).digest('hex');
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I8: 1, U8: 1 };

/**
 * The header of a safetensors file (8-byte length, JSON padded to 8 bytes) for the given tensors, and
 * the file's total size: the data after the header is left to the caller (zeros, for a padded file).
 */
export function safetensorsHeader(
  tensors: { name: string; dtype: string; shape: number[] }[],
  metadata: Record<string, string> = { format: 'pt' },
): { head: Uint8Array; size: number } {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[t.dtype] ?? 4);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  return { head, size: head.length + offset };
}

/** Content made of byte runs and runs of zeros (a large file with little real data). */
export function segmentedContent(segments: (Uint8Array | number)[]): Content {
  // A run of zeros has no bytes; a byte run is its own length.
  const parts = segments.map((s) => (typeof s === 'number' ? { zeros: s, bytes: undefined } : { zeros: 0, bytes: s }));
  const size = parts.reduce((n, p) => n + (p.bytes ? p.bytes.length : p.zeros), 0);
  return {
    size,
    read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      let at = 0;
      for (const part of parts) {
        const len = part.bytes ? part.bytes.length : part.zeros;
        const from = Math.max(offset, at);
        const to = Math.min(end, at + len);
        if (from < to && part.bytes) out.set(part.bytes.subarray(from - at, to - at), from - offset);
        at += len;
        if (at >= end) break;
      }
      return out;
    },
  };
}

interface ZipMember {
  name: string;
  /** Real bytes, or a count of zero bytes (never allocated). */
  data: Uint8Array | number;
}

function zerosCrc(count: number): number {
  const chunk = new Uint8Array(Math.min(count, 1 << 20));
  let crc = 0;
  for (let left = count; left > 0; left -= chunk.length)
    crc = crc32(chunk.subarray(0, Math.min(left, chunk.length)), crc);
  return crc;
}

/** A stored (uncompressed) zip archive; members given as a zero count take no memory. */
export function zipContent(members: ZipMember[]): Content {
  const segments: (Uint8Array | number)[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const member of members) {
    const name = new TextEncoder().encode(member.name);
    const length = typeof member.data === 'number' ? member.data : member.data.length;
    const crc = typeof member.data === 'number' ? zerosCrc(member.data) : crc32(member.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, length, true);
    lv.setUint32(22, length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const entry = new Uint8Array(46 + name.length);
    const cv = new DataView(entry.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, length, true);
    cv.setUint32(24, length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    entry.set(name, 46);
    central.push(entry);
    segments.push(local, member.data);
    offset += local.length + length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return segmentedContent([...segments, ...central, end]);
}

/**
 * A PyTorch-style zip whose `data.pkl` calls `posix.system("echo pwned")` when unpickled (a harmless
 * payload for scanner tests; nothing here ever unpickles it), followed by `padding` bytes of tensor
 * storage, so reading the whole file would show in the bytes served.
 */
export function maliciousTorchZip(padding = 64 * 1024 * 1024): Content {
  const command = new TextEncoder().encode('echo pwned');
  const pickle = new Uint8Array([
    0x80,
    0x02, // PROTO 2
    0x63,
    ...new TextEncoder().encode('posix\nsystem\n'), // GLOBAL posix.system
    0x71,
    0x00, // BINPUT 0
    0x58,
    command.length,
    0,
    0,
    0,
    ...command, // BINUNICODE
    0x71,
    0x01, // BINPUT 1
    0x85, // TUPLE1
    0x71,
    0x02, // BINPUT 2
    0x52, // REDUCE
    0x71,
    0x03, // BINPUT 3
    0x2e, // STOP
  ]);
  return zipContent([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
    { name: 'archive/data/0', data: padding },
  ]);
}
