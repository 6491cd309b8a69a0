// Helpers for this package's tests (excluded from the build).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultContext, type SourceContext } from '@mlbom/core';
import { afterEach } from 'vitest';

const dirs: string[] = [];

/** A fresh temp directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlbom-local-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Writes files (path → content) under `root`, creating folders. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  }
}

// Minimal file headers: the formats package owns the builders, so both test suites craft the same bytes.
export {
  ggufBytes,
  hdf5Bytes,
  kerasBytes,
  npyBytes,
  npzBytes,
  onnxBytes,
  pickleBytes,
  safetensorsBytes,
  tfliteBytes,
  torchLegacyBytes,
  torchScriptBytes,
  torchZipBytes,
  zipBytes,
} from '../../formats/src/test-utils.js';

// ---- context ----

export interface Recorded {
  ctx: SourceContext;
  warnings: string[];
  added: number[];
  advanced: number[];
}

/** A context that records warnings and progress. */
export function recordingContext(overrides: Partial<SourceContext> = {}): Recorded {
  const warnings: string[] = [];
  const added: number[] = [];
  const advanced: number[] = [];
  const ctx = defaultContext({
    logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    progress: { add: (n) => added.push(n), advance: (n) => advanced.push(n), done() {} },
    ...overrides,
  });
  return { ctx, warnings, added, advanced };
}
