import { defaultContext, inventorySchema, isMlbomError, type Source } from '@mlbom/core';
import { describe, expect, it } from 'vitest';

export interface SourceContractCase {
  /** A target the source can read that yields at least one model. */
  goodTarget: () => Promise<string> | string;
  /** A target the source claims but cannot read at all (missing path, unknown repo). */
  badTarget: () => Promise<string> | string;
  /** A target some other source owns. */
  foreignTarget: string;
}

/** The contract every source must keep; each source's test file calls this once. */
export function testSource(name: string, makeSource: () => Source, cases: SourceContractCase): void {
  describe(`source contract: ${name}`, () => {
    it('returns an inventory that matches the asset model, with at least one model', async () => {
      const source = makeSource();
      const target = await cases.goodTarget();
      expect(source.canHandle(target)).toBe(true);
      const inventory = await source.collect(target, defaultContext());
      const parsed = inventorySchema.parse(inventory);
      expect(parsed.models.length).toBeGreaterThan(0);
      const keys = parsed.models.map((m) => m.key);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('is deterministic', async () => {
      const target = await cases.goodTarget();
      const a = await makeSource().collect(target, defaultContext());
      const b = await makeSource().collect(target, defaultContext());
      expect(b).toEqual(a);
    });

    it('throws an MlbomError naming a target it cannot read at all', async () => {
      const target = await cases.badTarget();
      const error = await makeSource()
        .collect(target, defaultContext())
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isMlbomError(error)).toBe(true);
      expect(String((error as Error).message)).toContain(target);
    });

    it('stops with ABORTED when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const error = await makeSource()
        .collect(await cases.goodTarget(), defaultContext({ signal: controller.signal }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isMlbomError(error) && error.code).toBe('ABORTED');
    });

    it('declines targets that belong to other sources', () => {
      expect(makeSource().canHandle(cases.foreignTarget)).toBe(false);
    });
  });
}
