import type { Source, SourceContext } from '@mlbom/core';
import { collectLocal } from './collect.js';
import { type LocalOptions, resolveLocalOptions } from './options.js';

export { MAX_CARD_BYTES, MAX_CONFIG_BYTES, MAX_REQUIREMENTS_BYTES, targetPath } from './collect.js';
export {
  DEFAULT_MAX_FILE_COUNT,
  type LocalOptions,
  localOptionsSchema,
  type ResolvedLocalOptions,
  resolveLocalOptions,
} from './options.js';
export { DEFAULT_EXCLUDED_DIRS, DEFAULT_EXCLUDED_FILES, DEFAULT_EXCLUDED_PATHS } from './walk.js';

/** URI-like targets other sources own: `hf://`, `models:/`, `runs:/`, `http(s)://`, `s3://`... */
const SCHEME_RE = /^[a-z][a-z0-9+.-]+:/i;

/** Whether a target is a local path (or a `file:` URL) rather than a URI another source handles. */
export function isLocalTarget(target: string): boolean {
  if (target.trim() === '') return false;
  if (/^file:/i.test(target)) return true;
  return !SCHEME_RE.test(target);
}

/**
 * The local-directory source: inventories the models in a directory (or a single weights file),
 * hashing every file they are made of.
 * @throws {MlbomError} INVALID_INPUT when the options are invalid
 */
export function local(options: LocalOptions = {}): Source<LocalOptions> {
  const resolved = resolveLocalOptions(options);
  return {
    name: 'local',
    options,
    canHandle: isLocalTarget,
    collect: (target: string, ctx: SourceContext) => collectLocal(target, ctx, resolved),
  };
}
