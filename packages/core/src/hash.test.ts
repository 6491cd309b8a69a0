import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isMlbomError } from './errors.js';
import { HASH_CHUNK_SIZE, hashFile } from './hash.js';
import { mapPool } from './pool.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlbom-hash-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function sha256sum(path: string): string {
  const out = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  return out.stdout.split(' ')[0] as string;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('hashFile', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['one chunk exactly', HASH_CHUNK_SIZE],
    ['several chunks plus a tail', 2 * HASH_CHUNK_SIZE + 12345],
  ])('matches sha256sum for a %s file', async (_label, size) => {
    const dir = await tempDir();
    const path = join(dir, 'f.bin');
    await writeFile(path, randomBytes(size));
    const progress: number[] = [];
    const result = await hashFile(path, { onProgress: (n) => progress.push(n) });
    expect(result.sha256).toBe(sha256sum(path));
    expect(result.size).toBe(size);
    expect(progress.reduce((a, b) => a + b, 0)).toBe(size);
  });

  it('gives the same hash whatever the chunk size', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f.bin');
    await writeFile(path, randomBytes(100_003));
    const a = await hashFile(path, { chunkSize: 1021 });
    const b = await hashFile(path, { chunkSize: 65536 });
    expect(a).toEqual(b);
    expect(a.sha256).toBe(sha256sum(path));
  });

  it('throws NOT_FOUND naming a missing file', async () => {
    const path = join(await tempDir(), 'missing.bin');
    const error = await rejection(hashFile(path));
    expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
    expect((error as Error).message).toContain(path);
  });

  it('refuses a directory', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'd'));
    const error = await rejection(hashFile(join(dir, 'd')));
    expect(isMlbomError(error)).toBe(true);
  });

  it('throws ABORTED when the signal fires mid-file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f.bin');
    await writeFile(path, Buffer.alloc(1024 * 1024));
    const controller = new AbortController();
    const error = await rejection(
      hashFile(path, { chunkSize: 1024, signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(isMlbomError(error) && error.code).toBe('ABORTED');
  });

  it('throws ABORTED when the signal has already fired', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f.bin');
    await writeFile(path, 'x');
    const error = await rejection(hashFile(path, { signal: AbortSignal.abort() }));
    expect(isMlbomError(error) && error.code).toBe('ABORTED');
  });
});

describe('mapPool', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapPool([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('stops starting work after a failure and rethrows it once in-flight work settles', async () => {
    const started: number[] = [];
    let settled = 0;
    const error = await rejection(
      mapPool([0, 1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await new Promise((r) => setTimeout(r, 5));
        settled++;
        if (n === 1) throw new Error('boom');
        return n;
      }),
    );
    expect((error as Error).message).toBe('boom');
    expect(started.length).toBeLessThan(6);
    expect(settled).toBe(started.length);
  });

  it('handles an empty list', async () => {
    expect(await mapPool([], 4, async () => 1)).toEqual([]);
  });
});
