// The one zip reader of mlbom: a bounded central-directory reader over a ByteSource, written here
// rather than taken from a library on purpose.
//
// - A model archive may be tens of GB and its directory may lie: only the end records, the
//   directory (capped) and the local headers are read; member data is streamed on demand from the
//   ByteSource, so a 1 GiB archive costs a few kilobytes, and every offset is checked against the file.
// - The scanner must see what extraction libraries hide or refuse. PyTorch's loader (miniz) reads
//   members that Python's zipfile rejects (flag bits claiming encryption, bad CRCs, a local header
//   name that differs from the central directory's, CVE-2025-1944/1945/10156), so a reader that
//   throws at the first lie crashes where the loader does not, and a lenient one never learns that
//   the headers lie. `inspectZip` therefore reports what it finds as data (`problems`, both the
//   central and the local view of each member) and never throws for bad bytes; `readZipDirectory`
//   is the strict view the metadata readers use, built on the same parse, which throws
//   FORMAT_INVALID when the directory contradicts the file.
import { constants, inflateRawSync } from 'node:zlib';
import { type ByteSource, MAX_READ_BYTES, sliceByteSource } from '@mlbom/core';
import { formatError, readExact, utf8, view } from './util.js';

export const ZIP_LIMITS = {
  maxEntries: 100_000,
  maxDirectoryBytes: 4 * 1024 * 1024,
};

export interface ZipEntry {
  name: string;
  /** General-purpose flag bits of the central directory (bit 0: encrypted, bit 11: UTF-8 name). */
  flags: number;
  /** 0 stored, 8 deflate, others unsupported. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Length in bytes of the name as stored. */
  nameLength: number;
  /** True when the name is a directory. */
  directory: boolean;
}

/** What the end records say, and where the directory really is. */
export interface ZipEnd {
  /** Entry count, directory size and offset as recorded (Zip64 values when the classic ones are saturated). */
  declaredEntries: number;
  declaredDirectorySize: number;
  declaredDirectoryOffset: number;
  /** Where the directory ends: the Zip64 end record, or the end record. */
  directoryEnd: number;
  /** True when the classic values are saturated (0xffff / 0xffffffff). */
  saturated: boolean;
  /** True when the values come from a Zip64 end record. */
  zip64: boolean;
  /** Bytes before the archive: every recorded offset is shifted by this much. */
  shift: number;
  /** Offset of the central directory in the file (shift applied). */
  directoryOffset: number;
  problems: string[];
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Entries that were not read (over the limit). */
  omitted: number;
  /** Where the central directory starts: every member lies before it. */
  directoryOffset: number;
  zip64: boolean;
  /** What does not add up (tampering, truncation), for callers that judge rather than throw. */
  problems: string[];
}

/** A member's local header: the fields it repeats from the central directory, as it states them. */
export interface LocalHeader extends Pick<ZipEntry, 'name' | 'flags' | 'method' | 'crc32' | 'compressedSize' | 'size'> {
  /** Where the member's data starts. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Finds and reads the end records. Undefined when the bytes are not a zip archive (no end record).
 * @throws {MlbomError} when the source cannot be read
 */
export async function readZipEnd(source: ByteSource): Promise<ZipEnd | undefined> {
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
    if (tail.length < tailLength) return undefined;
    const v = view(tail);
    for (let i = tail.length - 22; i >= 0; i--) {
      if (v.getUint32(i, true) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd >= 0) break;
  }
  if (eocd < 0) return undefined;
  const tv = view(tail);
  const problems: string[] = [];
  let entries = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const saturated = entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  let zip64 = false;
  // The central directory ends where the Zip64 end record (or the end record) starts.
  let directoryEnd = size - tailLength + eocd;
  // A Zip64 end record (written by some tools even for small archives, e.g. PyTorch) sits between the
  // directory and the end record; its values count when the classic ones are saturated.
  const locator = eocd - 20;
  if (locator >= 0 && tv.getUint32(locator, true) === ZIP64_LOCATOR) {
    const recordOffset = Number(tv.getBigUint64(locator + 8, true));
    if (Number.isSafeInteger(recordOffset) && recordOffset + 56 <= directoryEnd) {
      const bytes = await source.read(recordOffset, 56);
      const rec = bytes.length === 56 ? view(bytes) : undefined;
      if (rec && rec.getUint32(0, true) === ZIP64_EOCD) {
        directoryEnd = recordOffset;
        if (saturated) {
          entries = Number(rec.getBigUint64(32, true));
          cdSize = Number(rec.getBigUint64(40, true));
          cdOffset = Number(rec.getBigUint64(48, true));
          zip64 = true;
        }
      }
    }
  }
  // Bytes prepended to the archive shift every recorded offset by the same amount.
  let shift = 0;
  let directoryOffset = cdOffset;
  if (Number.isSafeInteger(cdOffset + cdSize) && cdOffset + cdSize !== directoryEnd && cdSize <= directoryEnd) {
    shift = directoryEnd - (cdOffset + cdSize);
    problems.push(`offsets are shifted by ${shift} bytes (data before the archive)`);
    directoryOffset += shift;
  }
  if (!Number.isSafeInteger(directoryOffset) || directoryOffset < 0 || directoryOffset > size) {
    problems.push('central directory offset is outside the file');
  }
  return {
    declaredEntries: entries,
    declaredDirectorySize: cdSize,
    declaredDirectoryOffset: cdOffset,
    directoryEnd,
    saturated,
    zip64,
    shift,
    directoryOffset,
    problems,
  };
}

/**
 * Reads the directory's entries (at most `maxEntries` of them, at most `maxDirectoryBytes` of
 * directory). Never throws for bad bytes: what does not add up is returned as problems.
 * @throws {MlbomError} when the source cannot be read
 */
export async function readZipEntries(
  source: ByteSource,
  end: ZipEnd,
  options: { maxEntries: number; maxDirectoryBytes?: number },
): Promise<ZipDirectory> {
  const problems: string[] = [];
  const size = source.size;
  const cdOffset = end.directoryOffset;
  const out = { entries: [] as ZipEntry[], omitted: 0, directoryOffset: cdOffset, zip64: end.zip64, problems };
  if (!Number.isSafeInteger(cdOffset) || cdOffset < 0 || cdOffset > size) {
    out.directoryOffset = size;
    return out;
  }
  const cdSize = end.declaredDirectorySize;
  const cap = Math.min(options.maxDirectoryBytes ?? MAX_READ_BYTES, MAX_READ_BYTES);
  const cdLength = Math.max(0, Math.min(cdSize, size - cdOffset, cap));
  if (cdLength < cdSize) problems.push(`central directory of ${cdSize} bytes read only in part`);
  const cd = await source.read(cdOffset, cdLength);
  const cv = view(cd);
  const entries = out.entries;
  let count = 0;
  let pos = 0;
  while (pos + 46 <= cd.length) {
    if (cv.getUint32(pos, true) !== CENTRAL) {
      if (count < end.declaredEntries) problems.push(`central directory entry ${count} is missing or corrupt`);
      break;
    }
    const flags = cv.getUint16(pos + 8, true);
    const method = cv.getUint16(pos + 10, true);
    const crc32 = cv.getUint32(pos + 16, true);
    let compressedSize = cv.getUint32(pos + 20, true);
    let usize = cv.getUint32(pos + 24, true);
    const nameLength = cv.getUint16(pos + 28, true);
    const extraLength = cv.getUint16(pos + 30, true);
    const commentLength = cv.getUint16(pos + 32, true);
    let localHeaderOffset = cv.getUint32(pos + 42, true);
    const nameEnd = pos + 46 + nameLength;
    const extraEnd = nameEnd + extraLength;
    if (extraEnd > cd.length) {
      problems.push(`central directory entry ${count} runs past the directory`);
      break;
    }
    const name = utf8(cd.subarray(pos + 46, nameEnd));
    // Zip64 extended information: present values replace the 0xFFFFFFFF placeholders, in order.
    let e = nameEnd;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) break;
      if (id === 0x0001) {
        let q = e + 4;
        let short = false;
        const take = (fallback: number) => {
          if (q + 8 > e + 4 + len) {
            short = true;
            return fallback;
          }
          const v = Number(cv.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take(usize);
        if (compressedSize === 0xffffffff) compressedSize = take(compressedSize);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take(localHeaderOffset);
        if (short) problems.push(`short Zip64 field in entry "${name.slice(0, 200)}"`);
      }
      e += 4 + len;
    }
    if (entries.length < options.maxEntries) {
      entries.push({
        name,
        flags,
        method,
        crc32,
        compressedSize,
        size: usize,
        localHeaderOffset: localHeaderOffset + end.shift,
        nameLength,
        directory: name.endsWith('/'),
      });
    } else out.omitted++;
    count++;
    pos = extraEnd + commentLength;
  }
  return out;
}

/**
 * The tamper-aware view: the directory with what does not add up as `problems`. Undefined when the
 * bytes are not a zip archive (no end record).
 * @throws {MlbomError} only when the source cannot be read
 */
export async function inspectZip(
  source: ByteSource,
  options: { maxEntries: number; maxDirectoryBytes?: number },
): Promise<ZipDirectory | undefined> {
  const end = await readZipEnd(source);
  if (!end) return undefined;
  const dir = await readZipEntries(source, end, options);
  dir.problems.unshift(...end.problems);
  return dir;
}

/**
 * The strict view, for metadata readers: reads a zip's central directory and refuses one that
 * contradicts the file.
 * @throws {MlbomError} FORMAT_INVALID when there is none, or when it contradicts the file (offsets
 *   past the end, more entries than fit, members overlapping the directory)
 */
export async function readZipDirectory(source: ByteSource, limits = ZIP_LIMITS): Promise<ZipDirectory> {
  const end = await readZipEnd(source);
  if (!end) {
    if (source.size < 22) throw formatError(source, 'zip: too short for an end-of-directory record');
    throw formatError(source, 'zip: no end-of-central-directory record (truncated?)');
  }
  const { declaredEntries: entries, declaredDirectorySize: cdSize, declaredDirectoryOffset: cdOffset } = end;
  if (end.saturated && !end.zip64) throw formatError(source, 'zip: Zip64 values without a Zip64 locator');
  if (![entries, cdSize, cdOffset].every(Number.isSafeInteger)) {
    throw formatError(source, 'zip: Zip64 value out of range');
  }
  if (cdOffset + cdSize > end.directoryEnd) {
    throw formatError(
      source,
      `zip: central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record at ${end.directoryEnd}`,
    );
  }
  if (entries > limits.maxEntries)
    throw formatError(source, `zip: ${entries} entries exceed the limit of ${limits.maxEntries}`);
  if (entries * 46 > cdSize)
    throw formatError(source, `zip: ${entries} entries cannot fit in a ${cdSize}-byte directory`);
  if (cdSize > limits.maxDirectoryBytes) {
    throw formatError(
      source,
      `zip: central directory of ${cdSize} bytes exceeds the limit of ${limits.maxDirectoryBytes}`,
    );
  }
  const dir = await readZipEntries(source, end, limits);
  const first = dir.problems[0];
  if (first !== undefined) throw formatError(source, `zip: ${first}`);
  if (dir.entries.length + dir.omitted < entries) {
    throw formatError(source, `zip: central directory entry ${dir.entries.length} is missing or corrupt`);
  }
  dir.entries = dir.entries.slice(0, entries);
  for (const entry of dir.entries) {
    const label = `"${entry.name.slice(0, 200)}"`;
    if (![entry.size, entry.compressedSize, entry.localHeaderOffset].every(Number.isSafeInteger)) {
      throw formatError(source, `zip: Zip64 value out of range in entry ${label}`);
    }
    if (entry.localHeaderOffset + 30 + entry.nameLength + entry.compressedSize > dir.directoryOffset) {
      throw formatError(
        source,
        `zip: entry ${label} (offset ${entry.localHeaderOffset}, ${entry.compressedSize} bytes) overlaps the central directory at ${dir.directoryOffset}`,
      );
    }
    // Encrypted members other than stored/deflated ones are unreadable.
    if ((entry.flags & 1) !== 0 && entry.method !== 0 && entry.method !== 8) entry.method = -1;
  }
  return dir;
}

/** Reads a member's local header; undefined when there is none at the recorded offset. */
export async function readLocalHeader(source: ByteSource, entry: ZipEntry): Promise<LocalHeader | undefined> {
  if (entry.localHeaderOffset < 0 || entry.localHeaderOffset + 30 > source.size) return undefined;
  // One read for the fixed part and (usually) the name.
  const first = await source.read(entry.localHeaderOffset, Math.min(30 + 512, source.size - entry.localHeaderOffset));
  if (first.length < 30) return undefined;
  const v = view(first);
  if (v.getUint32(0, true) !== LOCAL) return undefined;
  const flags = v.getUint16(6, true);
  const nameLength = v.getUint16(26, true);
  const extraLength = v.getUint16(28, true);
  const nameBytes =
    30 + nameLength <= first.length
      ? first.subarray(30, 30 + nameLength)
      : await source.read(entry.localHeaderOffset + 30, nameLength);
  return {
    name: utf8(nameBytes),
    flags,
    method: v.getUint16(8, true),
    crc32: v.getUint32(14, true),
    compressedSize: v.getUint32(18, true),
    size: v.getUint32(22, true),
    dataOffset: entry.localHeaderOffset + 30 + nameLength + extraLength,
  };
}

/** A member name that would land outside the extraction directory (zip slip). */
export function isTraversal(name: string): boolean {
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[a-zA-Z]:/.test(n)) return true;
  return n.split('/').some((part) => part === '..');
}

/** Where a member's data starts, from its local header. @throws {MlbomError} FORMAT_INVALID */
export async function zipEntryDataOffset(source: ByteSource, dir: ZipDirectory, entry: ZipEntry): Promise<number> {
  const header = view(await readExact(source, entry.localHeaderOffset, 30, 'zip local header'));
  if (header.getUint32(0, true) !== LOCAL) {
    throw formatError(
      source,
      `zip: no local header for "${entry.name.slice(0, 200)}" at offset ${entry.localHeaderOffset}`,
    );
  }
  const start = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + entry.compressedSize > dir.directoryOffset) {
    throw formatError(source, `zip: data of "${entry.name.slice(0, 200)}" runs into the central directory`);
  }
  return start;
}

/** A stored (uncompressed) member as a ByteSource of its own, reading through the archive's. */
export async function zipEntrySource(source: ByteSource, dir: ZipDirectory, entry: ZipEntry): Promise<ByteSource> {
  if (entry.method !== 0) throw formatError(source, `zip: "${entry.name.slice(0, 200)}" is compressed`);
  if (entry.size !== entry.compressedSize) {
    throw formatError(source, `zip: stored entry "${entry.name.slice(0, 200)}" has different sizes`);
  }
  const start = await zipEntryDataOffset(source, dir, entry);
  return sliceByteSource(source, start, entry.size, `${source.name}:${entry.name}`);
}

/**
 * A member's bytes (stored or deflated), at most `maxBytes` of them.
 * @throws {MlbomError} FORMAT_INVALID when larger, corrupt, or compressed another way
 */
export async function readZipEntry(
  source: ByteSource,
  dir: ZipDirectory,
  entry: ZipEntry,
  maxBytes: number,
): Promise<Uint8Array> {
  const label = `"${entry.name.slice(0, 200)}"`;
  if (entry.size > maxBytes)
    throw formatError(source, `zip: ${label} of ${entry.size} bytes exceeds the limit of ${maxBytes}`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw formatError(source, `zip: ${label} uses an unsupported compression or encryption`);
  }
  if (entry.compressedSize > maxBytes) {
    throw formatError(
      source,
      `zip: ${label} compressed to ${entry.compressedSize} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  const start = await zipEntryDataOffset(source, dir, entry);
  const data = await readExact(source, start, entry.compressedSize, `zip member ${label}`);
  if (entry.method === 0) return data;
  try {
    return new Uint8Array(inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past ${maxBytes} bytes` : 'is not valid deflate data';
    throw formatError(source, `zip: ${label} ${why}`, error);
  }
}

/** The first bytes of a member (e.g. a `.npy` header inside an `.npz`), stored or deflated. */
export async function readZipEntryPrefix(
  source: ByteSource,
  dir: ZipDirectory,
  entry: ZipEntry,
  length: number,
): Promise<Uint8Array> {
  const label = `"${entry.name.slice(0, 200)}"`;
  const start = await zipEntryDataOffset(source, dir, entry);
  if (entry.method === 0)
    return readExact(source, start, Math.min(length, entry.compressedSize), `zip member ${label}`);
  if (entry.method !== 8) throw formatError(source, `zip: ${label} uses an unsupported compression or encryption`);
  const input = await readExact(source, start, Math.min(entry.compressedSize, 16 * 1024), `zip member ${label}`);
  try {
    const out = inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 32 * 1024 * 1024 });
    return new Uint8Array(out.subarray(0, length));
  } catch (error) {
    throw formatError(source, `zip: ${label} is not valid deflate data`, error);
  }
}
