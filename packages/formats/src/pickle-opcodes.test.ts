import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferByteSource } from '@mlbom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cursorPickleInput,
  newPickleOp,
  PickleDecodeError,
  type PickleDecodeOptions,
  type PickleOp,
  readBufferedPickleOp,
  readPickleOp,
} from './pickle-opcodes.js';
import { FIXTURES } from './test-utils.js';
import { Cursor } from './util.js';

const OPTIONS: PickleDecodeOptions = { maxLine: 4096, maxText: 1024, keepText: 16, maxKeptBytes: 1024 };

/** Every op of a byte string, until STOP or an error, as plain records. */
async function decodeAll(bytes: Uint8Array, chunk: number, buffered: boolean): Promise<unknown[]> {
  const input = cursorPickleInput(new Cursor(bufferByteSource(bytes, 'p.pkl'), 0, bytes.length, { chunk }));
  const scratch = newPickleOp();
  const out: unknown[] = [];
  for (let i = 0; i < 10_000; i++) {
    let op: PickleOp;
    try {
      op =
        (buffered ? readBufferedPickleOp(input, OPTIONS, scratch) : undefined) ?? (await readPickleOp(input, OPTIONS));
    } catch (error) {
      if (!(error instanceof PickleDecodeError)) throw error;
      out.push({ error: error.message, offset: error.offset, code: error.code });
      return out;
    }
    // Only the fields an opcode has are meaningful.
    const { code, offset, int, float, text, name, length } = op;
    const rec: Record<string, unknown> = { code, offset, pos: input.pos };
    if ([0x4a, 0x4b, 0x4d, 0x80, 0x95, 0x67, 0x68, 0x6a, 0x70, 0x71, 0x72, 0x82, 0x83, 0x84].includes(code))
      rec.int = int;
    if (code === 0x47) rec.float = float;
    if ([0x53, 0x54, 0x55, 0x56, 0x58, 0x8c, 0x8d, 0x50, 0x63, 0x69].includes(code)) {
      Object.assign(rec, { text, name, whole: op.whole, length });
    }
    if ([0x42, 0x43, 0x8e, 0x96].includes(code)) Object.assign(rec, { length, data: op.data && [...op.data] });
    out.push(rec);
    if (code === 0x2e) return out;
  }
  return out;
}

describe('pickle opcode decoder', () => {
  it('decodes the same ops whether arguments are in memory or awaited', async () => {
    for (const name of ['model.pkl', 'model.joblib']) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const fast = await decodeAll(bytes, 1024 * 1024, true);
      expect(fast.length, name).toBeGreaterThan(10);
      expect(await decodeAll(bytes, 1, false), name).toEqual(fast);
      expect(await decodeAll(bytes, 3, true), name).toEqual(fast);
    }
  });

  it('agrees between both paths on arbitrary bytes, and never throws anything but a decode error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        const fast = await decodeAll(bytes, 1024, true);
        expect(await decodeAll(bytes, 1, false)).toEqual(fast);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes arguments with bounds', async () => {
    const p = (...parts: number[][]) => new Uint8Array(parts.flat());
    // BININT -2, SHORT_BINUNICODE 'hé', a long string kept in part, GLOBAL, STOP
    const long = new Array(2000).fill(0x61);
    const ops = await decodeAll(
      p([0x80, 4, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x8c, 3, 0x68, 0xc3, 0xa9], [0x58, 0xd0, 0x07, 0, 0], long, [
        0x63,
        ...Buffer.from('os\nsystem\n'),
        0x2e,
      ]),
      1024 * 1024,
      true,
    );
    expect(ops).toMatchObject([
      { code: 0x80, int: 4 },
      { code: 0x4a, int: -2 },
      { code: 0x8c, text: 'hé', whole: true },
      { code: 0x58, text: 'a'.repeat(16), whole: false, length: 2000 },
      { code: 0x63, text: 'os', name: 'system' },
      { code: 0x2e },
    ]);
    expect(await decodeAll(p([0x80, 2, 0x4a, 1, 2]), 1024, true)).toMatchObject([
      { code: 0x80 },
      { error: 'truncated BININT', offset: 2, code: 0x4a },
    ]);
    expect(await decodeAll(p([0x4e]), 1024, true)).toMatchObject([
      { code: 0x4e },
      { error: 'pickle ends without STOP', code: -1 },
    ]);
    expect(await decodeAll(p([0xff]), 1024, true)).toMatchObject([{ error: 'unknown opcode 0xff', offset: 0 }]);
  });
});
