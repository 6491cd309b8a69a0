import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferChunks, type ChunkSource, type Codec, DecodeError, decompressChunks, LimitError } from './input.js';

const corpus = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'scanner');
// Written by Python's lzma / bz2 modules (the writers joblib uses).
const XZ_HELLO = Buffer.from(
  '/Td6WFoAAATm1rRGAgAhAQwAAACPmEGcAQAHaGVsbG8geHoAho+bS0kI4KQAASAIuxnZux+2830BAAAAAARZWg==',
  'base64',
);
const BZ2_HELLO = Buffer.from('QlpoOTFBWSZTWfzQTNQAAAIZgEAAEAASRIAQIAAxDAggDyg2aMPi7kinChIfmgmagA==', 'base64');
// 108 bytes of bz2 that decompress to 64 MiB of zeros.
const BZ2_BOMB = Buffer.from(
  'QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZvAS1wwCidcAAwAAACCAAIKQINjKKiE0qKiE4u5IpwoSFALuD6A==',
  'base64',
);

async function drain(source: ChunkSource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let chunk = await source.next(); chunk; chunk = await source.next()) parts.push(chunk);
  return Buffer.concat(parts);
}

const decompress = (bytes: Uint8Array, codec: Codec, budget?: number) =>
  drain(decompressChunks(bufferChunks(bytes), codec, budget === undefined ? {} : { budget: { remaining: budget } }));

describe('decompressChunks', () => {
  it('decodes xz and bz2 as Python writes them', async () => {
    expect((await decompress(XZ_HELLO, 'xz')).toString()).toBe('hello xz');
    expect((await decompress(BZ2_HELLO, 'bz2')).toString()).toBe('hello bz2');
  });

  it("decodes joblib's bz2 and xz containers to the same bytes", async () => {
    const bz = await decompress(await readFile(join(corpus, 'malicious/joblib_object_array_bz2.joblib')), 'bz2');
    const xz = await decompress(await readFile(join(corpus, 'malicious/joblib_object_array_xz.joblib')), 'xz');
    expect(bz.equals(xz)).toBe(true);
    expect(bz.length).toBeGreaterThan(100);
  });

  it('stops a bz2 bomb at the scan budget', async () => {
    await expect(decompress(BZ2_BOMB, 'bz2', 1024 * 1024)).rejects.toBeInstanceOf(LimitError);
    const xz = await readFile(join(corpus, 'benign/pipeline_xz.joblib'));
    await expect(decompress(xz, 'xz', 64)).rejects.toBeInstanceOf(LimitError);
  });

  it('reports corrupt data of every codec as a DecodeError', async () => {
    const corrupt = (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 12), Buffer.alloc(64, 0x55)]);
    for (const [codec, bytes] of [
      ['xz', XZ_HELLO],
      ['bz2', BZ2_HELLO],
      ['zlib', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff])],
    ] as const) {
      const error = await decompress(codec === 'zlib' ? bytes : corrupt(bytes), codec).catch((e: unknown) => e);
      expect(error, codec).toBeInstanceOf(DecodeError);
    }
    for (const codec of ['bz2', 'xz'] as const) {
      const full = await readFile(join(corpus, `malicious/joblib_object_array_${codec}.joblib`));
      const cut = await decompress(full.subarray(0, full.length >> 1), codec).catch((e: unknown) => e);
      expect(cut, `truncated ${codec}`).toBeInstanceOf(DecodeError);
    }
  });

  it('passes on a failed read of the compressed bytes instead of hanging', async () => {
    const failing: ChunkSource = {
      next: async () => {
        throw new Error('disk gone');
      },
    };
    for (const codec of ['bz2', 'xz', 'zlib'] as const) {
      await expect(drain(decompressChunks(failing, codec)), codec).rejects.toThrow('disk gone');
    }
  });
});
