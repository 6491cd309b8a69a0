import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isCommit, isRepoId, modelPurl, splitId } from './target.js';
import { compare, readSmall } from './util.js';

/** Where `hf download --local-dir DIR` keeps what it downloaded: `DIR/.cache/huggingface/download/<path>.metadata`. */
export const DOWNLOAD_METADATA_DIR = '.cache/huggingface/download';
/** Most metadata files read from one folder. */
const MAX_METADATA_FILES = 100_000;
const MAX_DEPTH = 32;
/** A metadata file is three short lines. */
const MAX_METADATA_BYTES = 4096;

/** One `<path>.metadata` file: the commit the file was downloaded at, its ETag and when. */
export interface DownloadMetadata {
  /** Path of the downloaded file in the folder (posix). */
  path: string;
  /** Full commit, lowercase. */
  commit: string;
  /** The ETag, unquoted and lowercase: the SHA-256 for an LFS file, the git blob SHA-1 otherwise. */
  etag: string;
  /** Seconds since the epoch, as written. */
  timestamp?: number | undefined;
}

/** What the metadata of a `--local-dir` folder says about the repo it came from. */
export interface LocalDirDownload {
  /** The commit most files were downloaded at (lexically first among equals). */
  commit: string;
  /** Every other commit some files were downloaded at (a folder downloaded twice). */
  otherCommits: string[];
  /** Metadata by file path. */
  files: Map<string, DownloadMetadata>;
}

/** Parses a `.metadata` file (commit, etag, float timestamp on three lines); `undefined` when it is not one. */
export function parseDownloadMetadata(path: string, text: string): DownloadMetadata | undefined {
  const [commit, etag, timestamp] = text.split(/\r?\n/).map((line) => line.trim());
  if (!isCommit(commit)) return undefined;
  const tag = (etag ?? '')
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(tag)) return undefined;
  const seconds = Number.parseFloat(timestamp ?? '');
  return {
    path,
    commit: commit.toLowerCase(),
    etag: tag,
    ...(Number.isFinite(seconds) ? { timestamp: seconds } : {}),
  };
}

/**
 * Reads the download metadata of a `hf download --local-dir` folder; `undefined` when it has none.
 * Never throws: an unreadable or malformed metadata file is skipped.
 */
export async function readLocalDirDownload(dir: string): Promise<LocalDirDownload | undefined> {
  const files = new Map<string, DownloadMetadata>();
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (files.size >= MAX_METADATA_FILES) return;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(abs, entry.name), childRel, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.metadata')) {
        const text = await readSmall(join(abs, entry.name), MAX_METADATA_BYTES);
        const path = childRel.slice(0, -'.metadata'.length);
        const parsed = text === undefined ? undefined : parseDownloadMetadata(path, text);
        if (parsed) files.set(path, parsed);
      }
    }
  };
  await walk(join(dir, DOWNLOAD_METADATA_DIR), '', 0);
  if (files.size === 0) return undefined;
  const counts = new Map<string, number>();
  for (const m of files.values()) counts.set(m.commit, (counts.get(m.commit) ?? 0) + 1);
  const ranked = [...counts].sort(([a, x], [b, y]) => y - x || compare(a, b)).map(([c]) => c);
  return { commit: ranked[0] as string, otherCommits: ranked.slice(1), files };
}

/**
 * The Hub identity of a `--local-dir` folder: the metadata has the commit but not the repo, so the
 * repo id comes from the model card's name (`model_name` / `model-index`) when it reads `org/name`.
 */
export function localDirIdentity(
  download: LocalDirDownload,
  cardName: string | undefined,
): { group: string; name: string; revision: string; purl: string } | undefined {
  const id = cardName?.trim();
  if (!id?.includes('/') || !isRepoId(id)) return undefined;
  const { org, name } = splitId(id);
  if (!org) return undefined;
  return { group: org, name, revision: download.commit, purl: modelPurl(id, download.commit) };
}
