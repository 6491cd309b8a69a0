import { availableParallelism } from 'node:os';
import { parseOptions } from '@mlbom/core';
import { z } from 'zod';

/** Default cap on the number of files one scan may list; a guard against pointing mlbom at `/`. */
export const DEFAULT_MAX_FILE_COUNT = 100_000;

const patternList = z.array(z.string().min(1));

/**
 * Options of the local-directory source. Patterns are globs relative to the scanned directory; a
 * pattern without `/` matches a name at any depth (`*.onnx`, `checkpoints`), and a pattern that
 * matches a directory also matches everything under it.
 */
export const localOptionsSchema = z
  .strictObject({
    include: patternList
      .optional()
      .describe(
        'Only list and hash files matching these globs (default: every file). Models are still grouped using every file.',
      ),
    exclude: patternList
      .optional()
      .describe('Globs to skip, in addition to the defaults (.git, node_modules, __pycache__, virtualenvs, caches).'),
    hash: z.boolean().optional().describe('Compute SHA-256 of every listed file (default true).'),
    scan: z
      .boolean()
      .optional()
      .describe('Scan pickle-based and other code-carrying model files for hidden code (default true).'),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(256)
      .optional()
      .describe('How many files are hashed at once (default: the number of CPUs).'),
    maxFileCount: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(`Fail when the directory holds more files than this (default ${DEFAULT_MAX_FILE_COUNT}).`),
  })
  .describe('Options of the local directory source');

export type LocalOptions = z.input<typeof localOptionsSchema>;

/** Options with every default filled in. */
export interface ResolvedLocalOptions {
  include: string[];
  exclude: string[];
  hash: boolean;
  scan: boolean;
  concurrency: number;
  maxFileCount: number;
}

/** Validates options and fills defaults. @throws {MlbomError} INVALID_INPUT naming the bad option */
export function resolveLocalOptions(options: LocalOptions = {}): ResolvedLocalOptions {
  const o = parseOptions(localOptionsSchema, options, 'local source');
  return {
    include: o.include ?? [],
    exclude: o.exclude ?? [],
    hash: o.hash ?? true,
    scan: o.scan ?? true,
    concurrency: o.concurrency ?? Math.max(1, availableParallelism()),
    maxFileCount: o.maxFileCount ?? DEFAULT_MAX_FILE_COUNT,
  };
}
