import type { Source } from '@mlbom/core';
import type { Command } from 'commander';

/**
 * How a source plugs into `mlbom generate`: it declares its flags, then builds its Source from the
 * parsed flags and the environment (the CLI is the only place that reads the environment).
 */
export interface SourcePlugin {
  readonly name: string;
  /** Adds this source's options to the generate command. */
  register(command: Command): void;
  /** @throws {MlbomError} INVALID_INPUT for unusable flags or environment */
  make(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Source;
  /** Targets a flag implies (`--hf-cache` means "every repo in the cache"). */
  impliedTargets?(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): string[];
}
