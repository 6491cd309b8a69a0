// Bad input: each reader either returns or throws MlbomError, within bounded time and reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ByteSource, bufferByteSource, isMlbomError } from '@mlbom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeModelFile } from './describe.js';
import { readGgufHeader } from './gguf.js';
import { readKeras, readKerasH5 } from './keras.js';
import { readNpy, readNpz } from './numpy.js';
import { readOnnxModel } from './onnx.js';
import { readPickleGlobals } from './pickle.js';
import { readPytorch } from './pytorch.js';
import { readSafetensorsHeader, readSafetensorsIndex } from './safetensors.js';
import { readSavedModel, readTensorBundleIndex } from './savedmodel.js';
import { FIXTURES } from './test-utils.js';
import { readTflite } from './tflite.js';
import { readZipDirectory } from './zip.js';

const load = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** Runs a reader; fails the test on a non-MlbomError or when it takes longer than `ms`. */
async function settles(run: () => Promise<unknown>, ms = 10_000): Promise<'ok' | 'error'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`reader did not settle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([run(), timeout]);
    return 'ok';
  } catch (error) {
    if (!isMlbomError(error)) throw error;
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

function gguf(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const str = (s: string) => gguf([u64(BigInt(s.length)), new TextEncoder().encode(s)]);

describe('the bad inputs of the issue', () => {
  it('a safetensors header length of 2^60', async () => {
    const bytes = new Uint8Array(1024);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 60n, true);
    bytes.set(new TextEncoder().encode('{"a":{}}'), 8);
    const source = bufferByteSource(bytes, 'big.safetensors');
    const error = await rejection(readSafetensorsHeader(source));
    expect(isMlbomError(error) && error.code).toBe('FORMAT_INVALID');
    expect((error as Error).message).toContain('1152921504606846976 exceeds the limit');
    expect(source.bytesRead).toBe(8);
    const d = await describeModelFile(bufferByteSource(bytes, 'big.safetensors'), 'big.safetensors');
    expect(d.problems.map((p) => p.code)).toEqual(['FORMAT_INVALID']);
  });

  it('a GGUF array count of 2^40', async () => {
    const bytes = gguf([
      new TextEncoder().encode('GGUF'),
      u32(3),
      u64(0n),
      u64(1n),
      str('tokenizer.ggml.tokens'),
      u32(9),
      u32(8),
      u64(2n ** 40n),
      new Uint8Array(64),
    ]);
    const source = bufferByteSource(bytes, 'lying.gguf');
    const error = await rejection(readGgufHeader(source));
    expect((error as Error).message).toContain('array length 1099511627776 exceeds the limit');
    const d = await describeModelFile(bufferByteSource(bytes, 'lying.gguf'), 'lying.gguf');
    expect(d).toMatchObject({ format: 'gguf', problems: [{ code: 'FORMAT_INVALID', subject: 'lying.gguf' }] });
  });

  it('a GGUF count that merely exceeds the bytes left', async () => {
    const bytes = gguf([new TextEncoder().encode('GGUF'), u32(3), u64(1000n), u64(0n)]);
    expect(((await rejection(readGgufHeader(bufferByteSource(bytes)))) as Error).message).toContain('cannot fit');
  });

  it('an ONNX file that is random bytes', async () => {
    const random = load('random.bin');
    expect(isMlbomError(await rejection(readOnnxModel(bufferByteSource(random, 'model.onnx'))))).toBe(true);
    const d = await describeModelFile(bufferByteSource(random, 'model.onnx'), 'model.onnx');
    expect(d.format).toBe('onnx');
    expect(d.problems.map((p) => p.code)).toEqual(['FORMAT_INVALID']);
  });

  it('a zip whose central directory lies', async () => {
    const pt = load('model.pt');
    const eocd = pt.length - 22;
    expect(new DataView(pt.buffer).getUint32(eocd, true)).toBe(0x06054b50);
    const cases: [string, (v: DataView) => void, string][] = [
      ['entry count', (v) => v.setUint16(eocd + 10, 60_000, true), 'cannot fit'],
      ['directory offset', (v) => v.setUint32(eocd + 16, pt.length * 10, true), 'runs past its end record'],
      ['directory size', (v) => v.setUint32(eocd + 12, 0xfffffff0, true), ''],
    ];
    for (const [what, mutate, message] of cases) {
      const bytes = pt.slice();
      mutate(new DataView(bytes.buffer));
      const error = await rejection(readZipDirectory(bufferByteSource(bytes, 'model.pt')));
      expect(isMlbomError(error), what).toBe(true);
      expect((error as Error).message).toContain(message);
      const d = await describeModelFile(bufferByteSource(bytes, 'model.pt'), 'model.pt');
      expect(d.format, what).toBe('pytorch-zip');
      expect(
        d.problems.map((p) => p.code),
        what,
      ).toEqual(['FORMAT_INVALID']);
    }
  });

  it('a zip entry whose local header offset lies', async () => {
    const pt = load('model.pt');
    const view = new DataView(pt.buffer);
    const cdOffset = view.getUint32(pt.length - 22 + 16, true);
    view.setUint32(cdOffset + 42, cdOffset - 10, true); // first entry "starts" just before the directory
    expect(isMlbomError(await rejection(readPytorch(bufferByteSource(pt, 'model.pt'))))).toBe(true);
  });

  it('a .pt that is really a text file', async () => {
    const text = new TextEncoder().encode('This checkpoint moved to https://example.com/model.pt\n');
    const d = await describeModelFile(bufferByteSource(text, 'model.pt'), 'model.pt');
    expect(d.problems).toEqual([
      { code: 'FORMAT_INVALID', message: 'content does not look like pytorch', subject: 'model.pt' },
    ]);
  });

  it('truncated files of every format', async () => {
    for (const name of [
      'model.safetensors',
      'model.gguf',
      'model.onnx',
      'model.pt',
      'legacy.pt',
      'model.joblib',
      'weights.npy',
      'arrays.npz',
      'model.keras',
      'model.tflite',
      'saved_model/saved_model.pb',
    ]) {
      const full = load(name);
      for (const keep of [0.25, 0.5, 0.9]) {
        const cut = full.subarray(0, Math.floor(full.length * keep));
        const d = await describeModelFile(bufferByteSource(cut, name), name);
        expect(d.problems.length, `${name} cut to ${cut.length} bytes`).toBeGreaterThan(0);
      }
    }
  });
});

// ---- property-based: random and mutated bytes ----

type Reader = (source: ByteSource) => Promise<unknown>;
const READERS: [string, string, Reader][] = [
  ['safetensors', 'model.safetensors', readSafetensorsHeader],
  ['safetensors index', 'sharded/model.safetensors.index.json', (s) => readSafetensorsIndex(s)],
  ['gguf', 'model.gguf', readGgufHeader],
  ['onnx', 'model.onnx', readOnnxModel],
  ['pytorch zip', 'model.pt', readPytorch],
  ['pytorch legacy', 'legacy.pt', readPytorch],
  ['torchscript', 'scripted.pt', readPytorch],
  ['pickle', 'model.pkl', (s) => readPickleGlobals(s)],
  ['joblib', 'model.joblib', (s) => readPickleGlobals(s, { joblib: true })],
  ['npy', 'objects.npy', readNpy],
  ['npz', 'arrays.npz', readNpz],
  ['keras', 'model.keras', readKeras],
  ['savedmodel', 'saved_model/saved_model.pb', (s) => readSavedModel(s)],
  ['tensor bundle', 'saved_model/variables/variables.index', readTensorBundleIndex],
  ['tflite', 'model.tflite', readTflite],
  ['zip', 'arrays.npz', readZipDirectory],
];

/** A fixture with some bytes overwritten, some cut off, or some inserted. */
function mutated(base: Uint8Array) {
  return fc
    .record({
      edits: fc.array(fc.tuple(fc.nat({ max: Math.max(0, base.length - 1) }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      cut: fc.option(fc.nat({ max: base.length }), { nil: undefined }),
      insert: fc.option(fc.tuple(fc.nat({ max: base.length }), fc.uint8Array({ minLength: 1, maxLength: 16 })), {
        nil: undefined,
      }),
    })
    .map(({ edits, cut, insert }) => {
      let bytes = base.slice();
      for (const [at, value] of edits) bytes[at] = value;
      if (insert) {
        const [at, extra] = insert;
        bytes = new Uint8Array([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]);
      }
      return cut === undefined ? bytes : bytes.subarray(0, cut);
    });
}

describe('property-based: every reader returns or throws MlbomError', () => {
  for (const [label, name, reader] of READERS) {
    it(`${label}: random bytes and mutated ${name}`, async () => {
      const base = load(name);
      const input = fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated(base), mutated(base));
      await fc.assert(
        fc.asyncProperty(input, async (bytes) => {
          const source = bufferByteSource(bytes, name);
          await settles(() => reader(source));
          // Bounded reads: a reader never reads far more than the data it was given.
          expect(source.bytesRead).toBeLessThanOrEqual(bytes.length * 64 + 65_536);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('keras-h5 (parser in a worker): mutated model.h5', async () => {
    const base = load('model.h5');
    await fc.assert(
      fc.asyncProperty(mutated(base), async (bytes) => {
        await settles(() => readKerasH5(bufferByteSource(bytes, 'model.h5')), 20_000);
      }),
      { numRuns: 25 },
    );
  });

  it('describeModelFile under any name', async () => {
    const names = [
      'model.safetensors',
      'model.gguf',
      'model.onnx',
      'model.pt',
      'model.pkl',
      'model.joblib',
      'x.npy',
      'x.npz',
      'model.keras',
      'model.tflite',
      'saved_model.pb',
      'blob',
    ];
    const fixtures = [
      'model.safetensors',
      'model.gguf',
      'model.onnx',
      'model.pt',
      'legacy.pt',
      'model.joblib',
      'arrays.npz',
      'model.tflite',
    ].map(load);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.oneof(fc.uint8Array({ maxLength: 2048 }), ...fixtures.map(mutated)),
        async (name, bytes) => {
          const outcome = await settles(() => describeModelFile(bufferByteSource(bytes, name), name));
          expect(outcome).toBe('ok'); // bad content is a Problem, never a throw
        },
      ),
      { numRuns: 300 },
    );
  });
});
