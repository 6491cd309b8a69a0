import { MlbomError } from '@mlbom/core';

export type RepoType = 'model' | 'dataset';

/** A Hub repository named by a target. */
export interface RepoTarget {
  kind: 'repo';
  type: RepoType;
  /** `org/name`, or `name` for legacy ids without an org. */
  id: string;
  /** The revision asked for (branch, tag or commit); undefined means the default branch. */
  revision?: string | undefined;
}

/** A local Hugging Face cache directory. */
export interface CacheTarget {
  kind: 'cache';
  dir: string;
}

export type HfTarget = RepoTarget | CacheTarget;

/** Prefix of repo targets, as the Python client's HfFileSystem writes them. */
export const HF_SCHEME = 'hf://';
/** Prefix of cache targets: `hf-cache:<dir>` (what `--hf-cache` expands to). */
export const HF_CACHE_SCHEME = 'hf-cache:';

/** One part of a repo id: what the Hub allows (no `--` or `..`, at most 96 characters). */
const PART_RE = /^[A-Za-z0-9](?:[\w.-]{0,94}[\w])?$/;

export function isValidRepoPart(part: string): boolean {
  return PART_RE.test(part) && !part.includes('--') && !part.includes('..');
}

/** Whether `id` is a Hub repo id: `name` or `org/name`. */
export function isRepoId(id: string): boolean {
  const parts = id.split('/');
  return parts.length >= 1 && parts.length <= 2 && parts.every(isValidRepoPart);
}

export function canHandleTarget(target: string): boolean {
  return target.startsWith(HF_SCHEME) || target.startsWith(HF_CACHE_SCHEME);
}

/**
 * Parses `hf://[datasets/]<org>/<name>[@<revision>]`, `hf://<name>[@<revision>]` (legacy ids) and
 * `hf-cache:<dir>`. A revision with `/` (`refs/pr/1`) is written URL-encoded (`refs%2Fpr%2F1`).
 * @throws {MlbomError} INVALID_INPUT naming the target when it is not one of those forms
 */
export function parseTarget(target: string): HfTarget {
  if (target.startsWith(HF_CACHE_SCHEME)) {
    const dir = target.slice(HF_CACHE_SCHEME.length);
    if (dir === '') throw new MlbomError('INVALID_INPUT', `${target}: no cache directory given`);
    return { kind: 'cache', dir };
  }
  if (!target.startsWith(HF_SCHEME)) {
    throw new MlbomError('INVALID_INPUT', `${target}: not a Hugging Face target (hf://org/name)`);
  }
  let rest = target.slice(HF_SCHEME.length).replace(/\/+$/, '');
  let type: RepoType = 'model';
  if (rest.startsWith('datasets/')) {
    type = 'dataset';
    rest = rest.slice('datasets/'.length);
  } else if (rest.startsWith('models/')) {
    rest = rest.slice('models/'.length);
  } else if (rest.startsWith('spaces/')) {
    throw new MlbomError('INVALID_INPUT', `${target}: Spaces are not inventoried; name a model or dataset`);
  }
  let revision: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const raw = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      revision = decodeURIComponent(raw);
    } catch {
      throw new MlbomError('INVALID_INPUT', `${target}: the revision is not valid URL encoding`);
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (revision === '' || /[\x00-\x20\x7f]/.test(revision) || revision.includes('..')) {
      throw new MlbomError('INVALID_INPUT', `${target}: invalid revision`);
    }
  }
  if (rest.split('/').length > 2) {
    throw new MlbomError(
      'INVALID_INPUT',
      `${target}: paths inside a repo are not supported; name the repo (hf://org/name[@revision])`,
    );
  }
  if (!isRepoId(rest)) {
    throw new MlbomError('INVALID_INPUT', `${target}: not a valid Hub repo id (expected hf://org/name[@revision])`);
  }
  return { kind: 'repo', type, id: rest, ...(revision !== undefined ? { revision } : {}) };
}

/** Splits `org/name` (or a legacy `name`). */
export function splitId(id: string): { org?: string; name: string } {
  const slash = id.indexOf('/');
  return slash < 0 ? { name: id } : { org: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** `pkg:huggingface/<org>/<name>@<commit>` (purl spec: lowercase full commit; no namespace for legacy ids). */
export function modelPurl(id: string, commit?: string): string {
  const { org, name } = splitId(id);
  const path = org ? `${encodeURIComponent(org)}/${encodeURIComponent(name)}` : encodeURIComponent(name);
  return `pkg:huggingface/${path}${commit ? `@${commit.toLowerCase()}` : ''}`;
}

/** Whether a string is a full 40-hex git commit id. */
export function isCommit(value: string | undefined): value is string {
  return value !== undefined && /^[0-9a-fA-F]{40}$/.test(value);
}
