import { type ByteSource, MAX_READ_BYTES } from '@mlbom/core';

/**
 * A bounded zip central-directory reader, written here rather than taken from a library on purpose:
 * the scanner must see what extraction libraries hide or refuse. PyTorch's loader (miniz) reads
 * members that Python's zipfile rejects (flag bits claiming encryption, bad CRCs, a local header name
 * that differs from the central directory's, CVE-2025-1944/1945/10156), so a scanner built on a
 * strict library crashes where the loader does not, and one built on a lenient library never learns
 * that the headers lie. This reader keeps both views (central and local) and lets the caller judge,
 * reads only the directory and the local headers (member data is streamed on demand from the
 * ByteSource, so a 1 GiB archive costs a few kilobytes), and caps what it will read.
 */

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** True when the name is a directory. */
  directory: boolean;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Entries that were not read (over the limit). */
  omitted: number;
  /** Offset of the central directory (end of member data). */
  centralOffset: number;
  problems: string[];
}

export interface LocalHeader {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Where the member's data starts. */
  dataOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const utf8 = new TextDecoder('utf-8');
const cp437ish = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

function decodeName(b: Uint8Array, flags: number): string {
  return flags & 0x800 ? utf8.decode(b) : /[\x80-\xff]/.test(cp437ish(b)) ? utf8.decode(b) : cp437ish(b);
}

/**
 * Reads the central directory. Returns undefined when the bytes are not a zip archive (no end record).
 * @throws {MlbomError} when the source cannot be read
 */
export async function readZipDirectory(source: ByteSource, maxEntries: number): Promise<ZipDirectory | undefined> {
  const size = source.size;
  if (size < 22) return undefined;
  // The end record is 22 bytes plus a comment of up to 64 KiB: look in the last 4 KiB first.
  let tailLength = 0;
  let tail: Uint8Array = new Uint8Array(0);
  let eocd = -1;
  for (const want of [Math.min(size, 4096), Math.min(size, 22 + 0xffff)]) {
    if (want <= tailLength) break;
    tailLength = want;
    tail = await source.read(size - tailLength, tailLength);
    const v = view(tail);
    for (let i = tail.length - 22; i >= 0; i--) {
      if (v.getUint32(i, true) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd >= 0) break;
  }
  if (eocd < 0) return undefined;
  const tv = view(tail);
  const problems: string[] = [];
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  // The central directory ends where the zip64 end record (or the end record) starts.
  let directoryEnd = size - tailLength + eocd;
  // A zip64 end record (written by some tools even for small archives, e.g. PyTorch) sits between the
  // directory and the end record; its values count when the classic ones are saturated.
  const locator = eocd - 20;
  if (locator >= 0 && tv.getUint32(locator, true) === ZIP64_LOCATOR_SIG) {
    const recordOffset = Number(tv.getBigUint64(locator + 8, true));
    if (Number.isSafeInteger(recordOffset) && recordOffset + 56 <= size) {
      const rec = view(await source.read(recordOffset, 56));
      if (rec.getUint32(0, true) === ZIP64_EOCD_SIG) {
        directoryEnd = recordOffset;
        if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
          count = Number(rec.getBigUint64(32, true));
          cdSize = Number(rec.getBigUint64(40, true));
          cdOffset = Number(rec.getBigUint64(48, true));
        }
      }
    }
  }
  // Bytes prepended to the archive shift every recorded offset by the same amount.
  let shift = 0;
  if (Number.isSafeInteger(cdOffset + cdSize) && cdOffset + cdSize !== directoryEnd && cdSize <= directoryEnd) {
    shift = directoryEnd - (cdOffset + cdSize);
    problems.push(`offsets are shifted by ${shift} bytes (data before the archive)`);
    cdOffset += shift;
  }
  if (!Number.isSafeInteger(cdOffset) || cdOffset < 0 || cdOffset > size) {
    problems.push('central directory offset is outside the file');
    return { entries: [], omitted: 0, centralOffset: size, problems };
  }
  const cdLength = Math.min(cdSize, size - cdOffset, MAX_READ_BYTES);
  if (cdLength < cdSize) problems.push(`central directory of ${cdSize} bytes read only in part`);
  const cd = await source.read(cdOffset, cdLength);
  const cv = view(cd);
  const entries: ZipEntry[] = [];
  let pos = 0;
  let omitted = 0;
  while (pos + 46 <= cd.length) {
    if (cv.getUint32(pos, true) !== CENTRAL_SIG) {
      if (entries.length < count) problems.push(`central directory entry ${entries.length} has a bad signature`);
      break;
    }
    const flags = cv.getUint16(pos + 8, true);
    const method = cv.getUint16(pos + 10, true);
    const crc = cv.getUint32(pos + 16, true);
    let compressedSize = cv.getUint32(pos + 20, true);
    let usize = cv.getUint32(pos + 24, true);
    const nameLength = cv.getUint16(pos + 28, true);
    const extraLength = cv.getUint16(pos + 30, true);
    const commentLength = cv.getUint16(pos + 32, true);
    let localHeaderOffset = cv.getUint32(pos + 42, true);
    const nameEnd = pos + 46 + nameLength;
    if (nameEnd + extraLength > cd.length) {
      problems.push('central directory entry runs past the directory');
      break;
    }
    const name = decodeName(cd.subarray(pos + 46, nameEnd), flags);
    // Zip64 extra field: the 64-bit values of the fields set to 0xffffffff, in this order.
    let e = nameEnd;
    const extraEnd = nameEnd + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) return undefined;
          const v = Number(cv.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take() ?? usize;
        if (compressedSize === 0xffffffff) compressedSize = take() ?? compressedSize;
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take() ?? localHeaderOffset;
      }
      e += 4 + len;
    }
    if (entries.length < maxEntries) {
      entries.push({
        name,
        flags,
        method,
        crc,
        compressedSize,
        size: usize,
        localHeaderOffset: localHeaderOffset + shift,
        directory: name.endsWith('/'),
      });
    } else omitted++;
    pos = extraEnd + commentLength;
  }
  return { entries, omitted, centralOffset: cdOffset, problems };
}

/** Reads a member's local header; undefined when there is none at the recorded offset. */
export async function readLocalHeader(source: ByteSource, entry: ZipEntry): Promise<LocalHeader | undefined> {
  if (entry.localHeaderOffset + 30 > source.size) return undefined;
  // One read for the fixed part and (usually) the name.
  const first = await source.read(entry.localHeaderOffset, Math.min(30 + 512, source.size - entry.localHeaderOffset));
  if (first.length < 30) return undefined;
  const v = view(first);
  if (v.getUint32(0, true) !== LOCAL_SIG) return undefined;
  const flags = v.getUint16(6, true);
  const nameLength = v.getUint16(26, true);
  const extraLength = v.getUint16(28, true);
  const nameBytes =
    30 + nameLength <= first.length
      ? first.subarray(30, 30 + nameLength)
      : await source.read(entry.localHeaderOffset + 30, nameLength);
  return {
    name: decodeName(nameBytes, flags),
    flags,
    method: v.getUint16(8, true),
    crc: v.getUint32(14, true),
    compressedSize: v.getUint32(18, true),
    size: v.getUint32(22, true),
    dataOffset: entry.localHeaderOffset + 30 + nameLength + extraLength,
  };
}

/** A window of another ByteSource (a stored zip member), read without copying. */
export function sliceSource(parent: ByteSource, offset: number, length: number, name: string): ByteSource {
  const size = Math.max(0, Math.min(length, parent.size - offset));
  let bytesRead = 0;
  return {
    name,
    size,
    get bytesRead() {
      return bytesRead;
    },
    async read(at, len) {
      const want = Math.max(0, Math.min(len, size - at));
      if (want === 0) return new Uint8Array(0);
      const out = await parent.read(offset + at, want);
      bytesRead += out.length;
      return out;
    },
    async close() {},
  };
}

/** A member name that would land outside the extraction directory (zip slip). */
export function isTraversal(name: string): boolean {
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[a-zA-Z]:/.test(n)) return true;
  return n.split('/').some((part) => part === '..');
}
