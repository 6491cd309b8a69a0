import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli.js';

const run = promisify(execFile);

describe('examples', () => {
  it('library-usage.mjs inventories the tiny-bert example', async () => {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'examples', 'library-usage.mjs')], {
      cwd: repoRoot,
    });
    expect(stdout).toMatch(/tiny-bert: .*model\.safetensors \(safetensors, sha256 [0-9a-f]{12}/);
    expect(stdout).toMatch(/packages: .*torch==2\.1\.0/);
    expect(stdout).toMatch(/valid=true/);
  });
});
