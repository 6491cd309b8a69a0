import type { Inventory } from './assets.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Byte-level progress for long work (hashing); the CLI renders it on a TTY. */
export interface Progress {
  /** Announces `bytes` more work under `label`. */
  add(bytes: number, label?: string): void;
  advance(bytes: number): void;
  done(): void;
}

/** What a source may use from the outside world; injected so tests and embedders control it. */
export interface SourceContext {
  fetch: typeof globalThis.fetch;
  logger: Logger;
  progress: Progress;
  signal: AbortSignal;
}

/**
 * The adapter contract: a plain object, usually made by a factory (`local()`, `huggingface()`, ...).
 * `collect` returns plain assets; it reports per-item failures inside the inventory and throws
 * (an MlbomError) only when the target as a whole cannot be read.
 */
export interface Source<Options = unknown> {
  readonly name: string;
  readonly options: Options;
  /** Whether this source understands the target string (a path, `hf://...`, `models:/...`). */
  canHandle(target: string): boolean;
  /** @throws {MlbomError} when the target cannot be read at all */
  collect(target: string, ctx: SourceContext): Promise<Inventory>;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export const noProgress: Progress = {
  add() {},
  advance() {},
  done() {},
};

/** A context with no output and the global fetch, for library users who do not care. */
export function defaultContext(overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    fetch: globalThis.fetch.bind(globalThis),
    logger: silentLogger,
    progress: noProgress,
    signal: new AbortController().signal,
    ...overrides,
  };
}
