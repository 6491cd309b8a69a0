// A bounded zip central-directory reader over a ByteSource. The npm zip readers take a whole
// buffer or their own reader type and trust the directory's counts and offsets; a model archive
// may be tens of GB and the directory may lie, so this reads only the end records and at most
// 4 MiB of directory, checks every offset against the file, and inflates members with node:zlib
// under an output cap.
import { constants, inflateRawSync } from 'node:zlib';
import type { ByteSource } from '@mlbom/core';
import { formatError, readExact, utf8, view } from './util.js';

export const ZIP_LIMITS = {
  maxEntries: 100_000,
  maxDirectoryBytes: 4 * 1024 * 1024,
};

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate, others unsupported. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  crc32: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Where the central directory starts: every member lies before it. */
  directoryOffset: number;
  zip64: boolean;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads a zip's central directory.
 * @throws {MlbomError} FORMAT_INVALID when there is none, or when it contradicts the file (offsets
 *   past the end, more entries than fit, members overlapping the directory)
 */
export async function readZipDirectory(source: ByteSource, limits = ZIP_LIMITS): Promise<ZipDirectory> {
  const size = source.size;
  const tailLength = Math.min(size, 22 + 0xffff);
  if (tailLength < 22) throw formatError(source, 'zip: too short for an end-of-directory record');
  const tail = await readExact(source, size - tailLength, tailLength, 'zip end record');
  const dv = view(tail);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) === EOCD && i + 22 + dv.getUint16(i + 20, true) <= tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw formatError(source, 'zip: no end-of-central-directory record (truncated?)');
  const eocdOffset = size - tailLength + eocd;
  let entries = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  let zip64 = false;
  let directoryEnd = eocdOffset;
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || dv.getUint32(locator, true) !== ZIP64_LOCATOR) {
      throw formatError(source, 'zip: Zip64 values without a Zip64 locator');
    }
    const recordOffset = Number(dv.getBigUint64(locator + 8, true));
    if (!Number.isSafeInteger(recordOffset) || recordOffset + 56 > eocdOffset) {
      throw formatError(source, 'zip: Zip64 end record offset points outside the file');
    }
    const record = view(await readExact(source, recordOffset, 56, 'zip64 end record'));
    if (record.getUint32(0, true) !== ZIP64_EOCD) throw formatError(source, 'zip: bad Zip64 end record');
    const big = (at: number) => {
      const v = record.getBigUint64(at, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(source, 'zip: Zip64 value out of range');
      return Number(v);
    };
    entries = big(32);
    cdSize = big(40);
    cdOffset = big(48);
    zip64 = true;
    directoryEnd = recordOffset;
  }
  if (cdOffset + cdSize > directoryEnd) {
    throw formatError(
      source,
      `zip: central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record at ${directoryEnd}`,
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
  const cd = await readExact(source, cdOffset, cdSize, 'zip central directory');
  const cdv = view(cd);
  const out: ZipEntry[] = [];
  let pos = 0;
  for (let i = 0; i < entries; i++) {
    if (pos + 46 > cd.length || cdv.getUint32(pos, true) !== CENTRAL) {
      throw formatError(source, `zip: central directory entry ${i} is missing or corrupt`);
    }
    const flags = cdv.getUint16(pos + 8, true);
    const method = cdv.getUint16(pos + 10, true);
    const crc32 = cdv.getUint32(pos + 16, true);
    let compressedSize = cdv.getUint32(pos + 20, true);
    let uncompressed = cdv.getUint32(pos + 24, true);
    const nameLength = cdv.getUint16(pos + 28, true);
    const extraLength = cdv.getUint16(pos + 30, true);
    const commentLength = cdv.getUint16(pos + 32, true);
    let localHeaderOffset = cdv.getUint32(pos + 42, true);
    const next = pos + 46 + nameLength + extraLength + commentLength;
    if (next > cd.length) throw formatError(source, `zip: central directory entry ${i} runs past the directory`);
    const nameBytes = cd.subarray(pos + 46, pos + 46 + nameLength);
    const name = utf8(nameBytes);
    // Zip64 extended information: present values replace the 0xFFFFFFFF placeholders, in order.
    let e = pos + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cdv.getUint16(e, true);
      const len = cdv.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) break;
      if (id === 0x0001) {
        let p = e + 4;
        const take = () => {
          if (p + 8 > e + 4 + len) throw formatError(source, `zip: short Zip64 field in entry "${name.slice(0, 200)}"`);
          const v = cdv.getBigUint64(p, true);
          p += 8;
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(source, 'zip: Zip64 value out of range');
          return Number(v);
        };
        if (uncompressed === 0xffffffff) uncompressed = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    if (localHeaderOffset + 30 + nameLength + compressedSize > cdOffset) {
      throw formatError(
        source,
        `zip: entry "${name.slice(0, 200)}" (offset ${localHeaderOffset}, ${compressedSize} bytes) overlaps the central directory at ${cdOffset}`,
      );
    }
    if ((flags & 1) === 0 || method === 0 || method === 8) {
      out.push({ name, method, compressedSize, size: uncompressed, localHeaderOffset, crc32 });
    } else out.push({ name, method: -1, compressedSize, size: uncompressed, localHeaderOffset, crc32 });
    pos = next;
  }
  return { entries: out, directoryOffset: cdOffset, zip64 };
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
  const size = entry.size;
  const name = `${source.name}:${entry.name}`;
  let bytesRead = 0;
  return {
    name,
    size,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      if (want === 0) return new Uint8Array(0);
      const out = await source.read(start + offset, want);
      bytesRead += out.length;
      return out;
    },
    async close() {},
  };
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
