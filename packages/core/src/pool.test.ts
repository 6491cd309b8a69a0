import { describe, expect, it } from 'vitest';
import { createLimiter, mapPool } from './pool.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapPool', () => {
  it('keeps input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await tick();
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });
});

describe('createLimiter', () => {
  it('runs at most `limit` calls at once across callers, and frees slots on failure', async () => {
    const run = createLimiter(2);
    let inFlight = 0;
    let most = 0;
    const job = (fail: boolean) =>
      run(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await tick();
        await tick();
        inFlight--;
        if (fail) throw new Error('bad file');
        return 'ok';
      });
    const settled = await Promise.allSettled([job(true), job(false), job(true), job(false), job(false), job(false)]);
    expect(settled.map((s) => s.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(most).toBe(2);
    expect(await run(async () => 'after')).toBe('after');
  });
});
