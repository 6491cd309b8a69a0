import type { ByteSource } from '@mlbom/core';

export interface ReadAheadOptions {
  /** First fetch size; doubles on each sequential miss up to `maxFetch` (default 16 KiB). */
  minFetch?: number;
  /** Largest single fetch (default 1 MiB). */
  maxFetch?: number;
  /** Most bytes kept in memory; the oldest ranges are dropped first (default 8 MiB). */
  maxCached?: number;
}

/**
 * Wraps a remote ByteSource so that format readers, which read a few bytes at a time, cost a few
 * HTTP range requests: each miss fetches at least `minFetch` bytes from the offset asked for, and
 * sequential misses double the fetch size (a GGUF vocabulary walk, a long pickle).
 * `bytesRead` counts what the readers were handed; `fetched` what came over the network.
 */
export function readAheadByteSource(
  inner: ByteSource,
  options: ReadAheadOptions = {},
): ByteSource & { readonly fetched: number } {
  const minFetch = options.minFetch ?? 16 * 1024;
  const maxFetch = options.maxFetch ?? 1024 * 1024;
  const maxCached = options.maxCached ?? 8 * 1024 * 1024;
  let ranges: { offset: number; bytes: Uint8Array }[] = [];
  let cached = 0;
  let fetched = 0;
  let bytesRead = 0;
  let nextFetch = minFetch;
  let lastEnd = -1;

  const find = (offset: number, length: number) =>
    ranges.find((r) => offset >= r.offset && offset + length <= r.offset + r.bytes.length);

  return {
    name: inner.name,
    size: inner.size,
    get bytesRead() {
      return bytesRead;
    },
    get fetched() {
      return fetched;
    },
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, inner.size - offset));
      let hit = find(offset, want);
      if (!hit) {
        nextFetch = offset === lastEnd ? Math.min(nextFetch * 2, maxFetch) : minFetch;
        const size = Math.min(Math.max(want, nextFetch), Math.max(0, inner.size - offset));
        const bytes = await inner.read(offset, size);
        fetched += bytes.length;
        lastEnd = offset + bytes.length;
        hit = { offset, bytes };
        ranges.push(hit);
        cached += bytes.length;
        while (cached > maxCached && ranges.length > 1) {
          const dropped = ranges.shift();
          cached -= dropped?.bytes.length ?? 0;
        }
      }
      const start = offset - hit.offset;
      const out = hit.bytes.subarray(start, start + want);
      bytesRead += out.length;
      return out;
    },
    async close() {
      ranges = [];
      cached = 0;
      await inner.close();
    },
  };
}
