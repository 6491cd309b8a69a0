// Helpers for this package's tests (excluded from the build).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type ByteSource, bufferByteSource, fileByteSource } from '@mlbom/core';
import { afterEach } from 'vitest';

const dirs: string[] = [];

/** A fresh temp directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlbom-formats-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The committed framework-made fixtures. */
export const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'formats');
export const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'examples', 'tiny-bert');

const opened: ByteSource[] = [];
/** A fixture file as a ByteSource (closed after the test). */
export async function fixture(name: string): Promise<ByteSource> {
  const source = await fileByteSource(join(FIXTURES, name));
  opened.push(source);
  return source;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

export function bytes(b: Uint8Array, name = 'test'): ByteSource {
  return bufferByteSource(b, name);
}

// ---- minimal file headers ----

export function safetensorsBytes(options: { truncate?: boolean } = {}): Buffer {
  const header = Buffer.from(
    JSON.stringify({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }),
  );
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const full = Buffer.concat([length, header, Buffer.alloc(8, 1)]);
  return options.truncate ? full.subarray(0, 8 + Math.floor(header.length / 2)) : full;
}

export function ggufBytes(): Buffer {
  const b = Buffer.alloc(32);
  b.write('GGUF', 0, 'latin1');
  b.writeUInt32LE(3, 4);
  return b;
}

export function onnxBytes(): Buffer {
  // ir_version = 8, producer_name = "test"
  return Buffer.from([0x08, 0x08, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74, 0x3a, 0x00]);
}

export function hdf5Bytes(): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(56)]);
}

export function tfliteBytes(): Buffer {
  return Buffer.concat([Buffer.from([0x1c, 0, 0, 0]), Buffer.from('TFL3'), Buffer.alloc(24)]);
}

/** A protocol-4 pickle of an empty dict: PROTO 4, EMPTY_DICT, STOP. */
export function pickleBytes(): Buffer {
  return Buffer.from([0x80, 0x04, 0x7d, 0x2e]);
}

export function torchLegacyBytes(): Buffer {
  return Buffer.concat([
    Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]),
    Buffer.from([0x2e]),
  ]);
}

export function npyBytes(): Buffer {
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  const padded = `${header.padEnd(118, ' ')}\n`;
  const len = Buffer.alloc(2);
  len.writeUInt16LE(padded.length);
  return Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from('NUMPY'),
    Buffer.from([1, 0]),
    len,
    Buffer.from(padded),
    Buffer.alloc(4),
  ]);
}

/** A stored (uncompressed) zip; `zip64` writes Zip64 end records as large archives have. */
export function zipBytes(entries: Record<string, string | Buffer>, options: { zip64?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const count = Object.keys(entries).length;
  const tail: Buffer[] = [];
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(cd.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : count, 8);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : count, 10);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, cd, ...tail, eocd]);
}

export function torchZipBytes(options: { zip64?: boolean } = {}): Buffer {
  return zipBytes(
    {
      'archive/data.pkl': pickleBytes(),
      'archive/byteorder': 'little',
      'archive/data/0': Buffer.alloc(16),
      'archive/version': '3\n',
    },
    options,
  );
}

export function torchScriptBytes(): Buffer {
  return zipBytes({
    'archive/code/__torch__/m.py': 'class M: pass\n',
    'archive/constants.pkl': pickleBytes(),
    'archive/data.pkl': pickleBytes(),
  });
}

export function kerasBytes(): Buffer {
  return zipBytes({ 'metadata.json': '{}', 'config.json': '{}', 'model.weights.h5': hdf5Bytes() });
}

export function npzBytes(): Buffer {
  return zipBytes({ 'weight.npy': npyBytes(), 'bias.npy': npyBytes() });
}
