import { validateBom } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';

// Golden BOMs of the bundled example: any change to what mlbom writes shows up as a reviewable diff.
// Refresh after an intended change with `pnpm vitest run test/e2e/golden.test.ts -u`.
describe('golden BOMs', () => {
  for (const format of ['json', 'xml'] as const) {
    it(`examples/tiny-bert as CycloneDX 1.6 ${format}`, async () => {
      const run = await runCli(['generate', 'examples/tiny-bert', '--output-reproducible', '--output-format', format]);
      expect(run.code).toBe(0);
      expect((await validateBom(run.stdout)).issues).toEqual([]);
      await expect(run.stdout).toMatchFileSnapshot(`../golden/tiny-bert.cdx.${format}`);
    });
  }
});
