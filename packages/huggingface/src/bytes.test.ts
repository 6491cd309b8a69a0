import { bufferByteSource } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { readAheadByteSource } from './bytes.js';

describe('readAheadByteSource', () => {
  it('serves small reads from one fetch and grows fetches on sequential misses', async () => {
    const data = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const inner = bufferByteSource(data);
    const calls: number[] = [];
    const counting = {
      ...inner,
      read: (o: number, l: number) => {
        calls.push(l);
        return inner.read(o, l);
      },
    };
    const source = readAheadByteSource(counting, { minFetch: 1024, maxFetch: 8192 });
    for (let i = 0; i < 1024; i += 8) expect(await source.read(i, 8)).toEqual(data.subarray(i, i + 8));
    expect(calls).toEqual([1024]);
    await source.read(1024, 8);
    await source.read(3072, 8);
    expect(calls).toEqual([1024, 2048, 4096]);
    await source.read(500_000, 4);
    expect(calls.at(-1)).toBe(1024);
    expect(await source.read(data.length - 2, 10)).toEqual(data.subarray(data.length - 2));
    expect(source.fetched).toBeLessThan(16_000);
  });
});
