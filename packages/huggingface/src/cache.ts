import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import {
  type FileAsset,
  fileByteSource,
  fsError,
  hashFile,
  type Inventory,
  MlbomError,
  type ModelAsset,
  mapPool,
  type Property,
  type SourceContext,
} from '@mlbom/core';
import { type ModelCardInfo, parseModelCard, parseModelConfig, splitFrontMatter } from '@mlbom/formats';
import { parse as parseYaml } from 'yaml';
import { MAX_CARD_BYTES, MAX_CONFIG_BYTES, mapModelCard } from './card.js';
import { datasetAsset, datasetKey, unresolvedDataset } from './dataset.js';
import { applyWeightsHints, type CardHints, inspectFile, isInspectable, MAX_INSPECTIONS } from './inspect.js';
import { ancestorFor, baseModelRefs } from './lineage.js';
import { type ResolvedHuggingFaceOptions, resolveHuggingFaceOptions } from './options.js';
import { HF_CACHE_SCHEME, isCommit, isValidRepoPart, modelPurl, type RepoType, splitId } from './target.js';
import { compare, InventoryParts, type MutableFile, readSmall, repoReferences } from './util.js';
import { formatFromName } from './weights.js';

/** Most files listed in one cache; a guard against pointing the walker at the wrong folder. */
export const MAX_CACHE_FILES = 200_000;
const MAX_DEPTH = 32;

interface CachedRepo {
  type: RepoType;
  id: string;
  dir: string;
  folder: string;
}

/** `models--org--name` → model `org/name`; `datasets--name` → dataset `name`. */
export function parseRepoFolder(folder: string): { type: RepoType; id: string } | undefined {
  const match = /^(models|datasets)--(.+)$/.exec(folder);
  if (!match) return undefined;
  const parts = (match[2] as string).split('--');
  if (parts.length > 2 || !parts.every(isValidRepoPart)) return undefined;
  return { type: match[1] === 'models' ? 'model' : 'dataset', id: parts.join('/') };
}

/** Refs of a cached repo (`refs/main`, `refs/refs/pr/1`...): ref name → commit. */
async function readRefs(repoDir: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const walkRefs = async (dir: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walkRefs(join(dir, entry.name), name, depth + 1);
      else if (entry.isFile()) {
        const commit = (await readSmall(join(dir, entry.name), 128))?.trim();
        if (isCommit(commit)) refs.set(name, commit.toLowerCase());
      }
    }
  };
  await walkRefs(join(repoDir, 'refs'), '', 0);
  return refs;
}

/** Where a folder sits in a Hub cache: the whole cache, one repo folder, or one snapshot of a repo. */
export type HubCacheLayout =
  | { kind: 'cache' }
  | { kind: 'repo'; type: RepoType; id: string }
  | { kind: 'snapshot'; type: RepoType; id: string; commit: string };

/**
 * The repo and commit of a path ending in `models--org--name/snapshots/<commit>` (posix separators),
 * by its names alone.
 */
export function snapshotOf(path: string): { type: RepoType; id: string; commit: string } | undefined {
  const [folder, snapshots, commit] = path.split('/').slice(-3);
  if (snapshots !== 'snapshots' || !isCommit(commit) || folder === undefined) return undefined;
  const repo = parseRepoFolder(folder);
  return repo ? { ...repo, commit: commit.toLowerCase() } : undefined;
}

/** Names a Hub cache folder holds besides repo folders (`.locks`, `version.txt`...). */
function isCacheHousekeeping(name: string): boolean {
  return name.startsWith('.') || name === 'version.txt' || name === 'CACHEDIR.TAG' || /^spaces--./.test(name);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * Whether `dir` is (in) a Hugging Face cache: `models--org--name/snapshots/<commit>`, a
 * `models--org--name` (or `datasets--...`) folder with `snapshots/`, or a cache folder holding only
 * repo folders, at least one with `snapshots/` (and the cache's own housekeeping files). Looks at names only, and never reads a file.
 */
export async function hubCacheLayout(dir: string): Promise<HubCacheLayout | undefined> {
  const path = resolve(dir);
  const name = basename(path);
  const snapshot = snapshotOf(path.split(sep).join('/'));
  if (snapshot) return { kind: 'snapshot', ...snapshot };
  const repo = parseRepoFolder(name);
  if (repo) return (await isDirectory(join(path, 'snapshots'))) ? { kind: 'repo', ...repo } : undefined;
  const names = await readdir(path).catch(() => [] as string[]);
  let repos = 0;
  for (const entry of names) {
    if (isCacheHousekeeping(entry)) continue;
    if (!parseRepoFolder(entry) || !(await isDirectory(join(path, entry)))) return undefined;
    // A repo folder without snapshots/ (a download that never finished) does not make a cache on its own.
    if (await isDirectory(join(path, entry, 'snapshots'))) repos++;
  }
  return repos > 0 ? { kind: 'cache' } : undefined;
}

export interface CacheSettings {
  /** Hash files whose blob name is no SHA-256 (small git files); default true. LFS files never need reading. */
  hash?: boolean | undefined;
  /**
   * Read what each cached weights file says about itself (format, parameter counts, dtypes, pickle
   * globals) with @mlbom/formats, as the Hub source does over range requests; default true.
   */
  readHeaders?: boolean | undefined;
  /** Scan pickle-based and other loadable weights with @mlbom/scanner, never loading them; default true (needs readHeaders). */
  scan?: boolean | undefined;
}

/** Inventories a Hugging Face cache directory offline: every model snapshot, every dataset. */
export class CacheCollector extends InventoryParts {
  private fileCount = 0;
  /** Where a listed file's bytes are: its blob (checked to lie in the repo's `blobs/`) or a plain file. */
  private readonly contents = new WeakMap<FileAsset, string>();

  constructor(
    readonly root: string,
    readonly target: string,
    readonly ctx: SourceContext,
    readonly options: ResolvedHuggingFaceOptions,
    readonly settings: CacheSettings = {},
  ) {
    super();
  }

  /** SHA-256 of each git blob hashed so far: snapshots of one repo link the same blob, which is read once. */
  private readonly blobHashes = new Map<string, Promise<string>>();

  private hashBlob(blob: string): Promise<string> {
    let hash = this.blobHashes.get(blob);
    if (!hash) {
      hash = hashFile(blob, { signal: this.ctx.signal }).then((h) => h.sha256);
      this.blobHashes.set(blob, hash);
    }
    return hash;
  }

  private checkAborted(): void {
    if (this.ctx.signal.aborted) throw new MlbomError('ABORTED', `${this.target}: aborted`);
  }

  /** @throws {MlbomError} NOT_FOUND / PERMISSION_DENIED / INVALID_INPUT naming the target when the cache cannot be listed */
  async collect(): Promise<Inventory> {
    this.checkAborted();
    let names: string[];
    try {
      const info = await stat(this.root);
      if (!info.isDirectory()) throw new MlbomError('INVALID_INPUT', `${this.target}: not a directory`);
      names = (await readdir(this.root)).sort(compare);
    } catch (error) {
      if (error instanceof MlbomError) throw error;
      const mapped = fsError(error, this.root, 'list');
      throw new MlbomError(mapped.code, `${this.target}: ${mapped.message}`, { cause: error });
    }
    const repos: CachedRepo[] = [];
    for (const folder of names) {
      const parsed = parseRepoFolder(folder);
      if (parsed) repos.push({ ...parsed, dir: join(this.root, folder), folder });
      else if (!folder.startsWith('.'))
        this.ctx.logger.debug(`${this.target}: ${folder} skipped (not a model or dataset repo)`);
    }
    if (repos.length === 0) this.ctx.logger.warn(`${this.target}: no model or dataset repos in the cache`);
    for (const repo of repos) {
      this.checkAborted();
      if (repo.type === 'model') await this.collectModelRepo(repo);
      else await this.collectDatasetRepo(repo);
    }
    return this.inventory();
  }

  /**
   * One repo folder (`layout.kind` `repo`: every snapshot) or one snapshot of it, `root` being that folder.
   * @throws {MlbomError} NOT_FOUND / PERMISSION_DENIED when the folder cannot be listed
   */
  async collectPart(layout: Exclude<HubCacheLayout, { kind: 'cache' }>): Promise<Inventory> {
    this.checkAborted();
    try {
      await readdir(this.root);
    } catch (error) {
      const mapped = fsError(error, this.root, 'list');
      throw new MlbomError(mapped.code, `${this.target}: ${mapped.message}`, { cause: error });
    }
    const repoDir = layout.kind === 'repo' ? this.root : dirname(dirname(this.root));
    const repo: CachedRepo = { type: layout.type, id: layout.id, dir: repoDir, folder: basename(repoDir) };
    if (layout.kind === 'repo') {
      if (repo.type === 'model') await this.collectModelRepo(repo);
      else await this.collectDatasetRepo(repo);
    } else if (repo.type === 'model') await this.collectSnapshot(repo, layout.commit, await readRefs(repoDir));
    else await this.collectDatasetRepo(repo, layout.commit);
    return this.inventory();
  }

  /** A folder relative to the target (posix; `.` for the target itself). */
  private relativePath(dir: string): string {
    return relative(this.root, dir).split(sep).join('/') || '.';
  }

  private async snapshots(repo: CachedRepo): Promise<string[]> {
    const entries = await readdir(join(repo.dir, 'snapshots'), { withFileTypes: true }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        this.problems.push({
          code: 'FILE_UNREADABLE',
          message: `snapshots cannot be listed (${code})`,
          subject: repo.folder,
        });
      }
      return [];
    });
    const folders = entries.filter((e) => e.isDirectory());
    for (const stray of folders.filter((e) => !isCommit(e.name))) {
      // The hub client names every snapshot after its full commit; anything else was put there by hand.
      const message = `snapshots/${stray.name} is not named after a commit and was not inventoried (run mlbom scan on it)`;
      this.problems.push({ code: 'SNAPSHOT_NOT_A_COMMIT', message, subject: repo.folder });
      this.ctx.logger.warn(`${repo.folder}: ${message}`);
    }
    return folders
      .filter((e) => isCommit(e.name))
      .map((e) => e.name)
      .sort(compare);
  }

  private async collectModelRepo(repo: CachedRepo): Promise<void> {
    const refs = await readRefs(repo.dir);
    const snapshots = await this.snapshots(repo);
    if (snapshots.length === 0) this.ctx.logger.debug(`${this.target}: ${repo.folder} has no snapshots`);
    for (const [ref, commit] of refs) {
      if (!snapshots.includes(commit))
        this.ctx.logger.debug(`${repo.folder}: ref ${ref} points at ${commit}, which is not in the cache`);
    }
    for (const commit of snapshots) {
      this.checkAborted();
      await this.collectSnapshot(repo, commit.toLowerCase(), refs);
    }
  }

  private async collectSnapshot(repo: CachedRepo, commit: string, refs: Map<string, string>): Promise<void> {
    const snapshotDir = join(repo.dir, 'snapshots', commit);
    const files = await this.listSnapshot(repo, snapshotDir);
    const { org, name } = splitId(repo.id);
    const purl = modelPurl(repo.id, commit);
    const properties: Property[] = [{ name: 'mlbom:path', value: this.relativePath(snapshotDir) }];
    const pointing = [...refs]
      .filter(([, c]) => c === commit)
      .map(([r]) => r)
      .sort(compare);
    if (pointing.length > 0) properties.push({ name: 'mlbom:hf:refs', value: pointing.join(',') });

    let card: ModelCardInfo | undefined;
    const readme = files.find((f) => f.path === 'README.md');
    if (readme) {
      const text = await readSmall(join(snapshotDir, 'README.md'), MAX_CARD_BYTES);
      if (text !== undefined) card = parseModelCard(text, 'README.md');
    }
    let modelType: string | undefined;
    let architecture: string | undefined;
    const configFile = files.find((f) => f.path === 'config.json');
    if (configFile) {
      const text = await readSmall(join(snapshotDir, 'config.json'), MAX_CONFIG_BYTES);
      if (text !== undefined) {
        const config = parseModelConfig(text, 'config.json');
        modelType = config.modelType;
        architecture = config.architecture;
        if (config.problem) configFile.problems.push(config.problem);
      }
    }
    const mapped = mapModelCard(
      card ?? parseModelCard('', 'README.md'),
      { modelType, architecture, tags: [] },
      (path) => `${this.options.hubUrl}/${repo.id}/blob/${commit}/${path}`,
    );
    const model: ModelAsset = {
      kind: 'model',
      key: purl,
      name,
      ...(org ? { group: org, supplier: org, authors: [org] } : {}),
      version: commit,
      purl,
      ...(mapped.description ? { description: mapped.description } : {}),
      licenses: mapped.licenses,
      externalReferences: [
        ...repoReferences(`${this.options.hubUrl}/${repo.id}`, commit),
        ...mapped.externalReferences,
      ],
      tags: mapped.tags,
      properties: [...properties, ...mapped.properties],
      problems: mapped.problems,
      files,
      ...(mapped.card ? { card: mapped.card } : {}),
    };
    this.models.push(model);
    if (this.settings.readHeaders !== false) await this.inspectSnapshot(model, files, snapshotDir);
    for (const datasetId of new Set(card?.datasets ?? [])) {
      const key = datasetKey(datasetId);
      this.relations.push({ type: 'trained-on', from: purl, to: key });
      if (!this.datasets.has(key)) this.datasets.set(key, unresolvedDataset(key, datasetId, this.options.hubUrl));
    }
    for (const base of baseModelRefs(card, [])) {
      this.relations.push({
        type: 'derived-from',
        from: purl,
        ancestor: ancestorFor(base, this.options.hubUrl),
        ...(base.relation ? { relation: base.relation } : {}),
      });
    }
  }

  /** Every file of a snapshot: links into `blobs/` give the LFS SHA-256 (the blob's name) and size without reading. */
  private async listSnapshot(repo: CachedRepo, snapshotDir: string): Promise<MutableFile[]> {
    const blobsDir = join(repo.dir, 'blobs') + sep;
    const blobsReal = await realpath(join(repo.dir, 'blobs')).then(
      (p) => p + sep,
      () => undefined,
    );
    const found: { rel: string; abs: string }[] = [];
    const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH) return;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
        const childRel = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), childRel, depth + 1);
        else if (entry.isFile() || entry.isSymbolicLink()) {
          if (++this.fileCount > MAX_CACHE_FILES) {
            throw new MlbomError(
              'INVALID_INPUT',
              `${this.target}: more than ${MAX_CACHE_FILES} files; is this a Hugging Face cache?`,
            );
          }
          found.push({ rel: childRel, abs: join(dir, entry.name) });
        }
      }
    };
    await walk(snapshotDir, '', 0);
    return mapPool(found, 8, async ({ rel, abs }) => {
      this.checkAborted();
      const file: MutableFile = { path: rel, format: formatFromName(rel), properties: [], problems: [] };
      try {
        const info = await lstat(abs);
        if (info.isSymbolicLink()) {
          const blob = resolve(dirname(abs), await readlink(abs));
          // Only into this repo's blobs/, and not on from there (a blob that is itself a link elsewhere).
          const real = await realpath(blob).catch(() => blob);
          if (!blob.startsWith(blobsDir) || (real !== blob && !(blobsReal && real.startsWith(blobsReal)))) {
            file.problems.push({
              code: 'LINK_OUTSIDE_CACHE',
              message: "symlink does not point into the repo's blobs/; not followed",
              subject: rel,
            });
            return file;
          }
          const blobName = blob.slice(blobsDir.length);
          const blobInfo = await stat(blob).catch(() => undefined);
          if (!blobInfo?.isFile()) {
            this.ctx.logger.warn(
              `${abs}: blob ${blobName} is missing (incomplete download); listed without size or hash`,
            );
            file.problems.push({
              code: 'BLOB_MISSING',
              message: `blob ${blobName} is missing (incomplete download)`,
              subject: rel,
            });
            return file;
          }
          file.size = blobInfo.size;
          this.contents.set(file, blob);
          if (/^[0-9a-f]{64}$/.test(blobName)) {
            file.sha256 = blobName;
            file.properties.push(
              { name: 'mlbom:hf:storage', value: 'lfs' },
              { name: 'mlbom:sha256:source', value: 'cache-blob-name' },
            );
          } else {
            if (/^[0-9a-f]{40}$/.test(blobName)) {
              file.properties.push(
                { name: 'mlbom:hf:storage', value: 'git' },
                { name: 'mlbom:git:blob-sha1', value: blobName },
              );
            }
            if (this.settings.hash !== false) {
              file.sha256 = await this.hashBlob(blob);
              file.properties.push({ name: 'mlbom:sha256:source', value: 'computed' });
            }
          }
        } else if (info.isFile()) {
          file.size = info.size;
          this.contents.set(file, abs);
          if (this.settings.hash !== false) {
            const hashed = await hashFile(abs, { signal: this.ctx.signal });
            file.size = hashed.size;
            file.sha256 = hashed.sha256;
            file.properties.push({ name: 'mlbom:sha256:source', value: 'computed' });
          }
        }
      } catch (error) {
        if (error instanceof MlbomError && error.code === 'ABORTED') throw error;
        const message = error instanceof Error ? error.message : String(error);
        this.ctx.logger.warn(`${abs}: cannot read (${message}); listed without hash`);
        file.problems.push({ code: 'FILE_UNREADABLE', message: `cannot read the file (${message})`, subject: rel });
      }
      return file;
    });
  }

  /**
   * Reads the weights files of a snapshot from their blobs as the Hub source reads them remotely
   * (@mlbom/formats headers, @mlbom/scanner findings; nothing is loaded), with the same bound on
   * how many files are read. Architecture hints fill a card that names none; the frameworks the
   * files record become packages the model depends on.
   */
  private async inspectSnapshot(model: ModelAsset, files: MutableFile[], snapshotDir: string): Promise<void> {
    const candidates = files.filter(
      (f) => f.size !== undefined && f.size > 0 && this.contents.has(f) && isInspectable(f.path),
    );
    if (candidates.length > MAX_INSPECTIONS) {
      this.ctx.logger.debug(
        `${snapshotDir}: ${candidates.length} weights files; headers of the first ${MAX_INSPECTIONS} read`,
      );
    }
    const hints: CardHints = {};
    const scanFiles = this.settings.scan !== false;
    const found = await mapPool(candidates.slice(0, MAX_INSPECTIONS), this.options.concurrency, async (file) => {
      this.checkAborted();
      const subject = join(snapshotDir, file.path);
      try {
        const source = await fileByteSource(this.contents.get(file) as string);
        try {
          return await inspectFile(file, source, subject, this.ctx, scanFiles, hints);
        } finally {
          await source.close();
        }
      } catch (error) {
        if ((error instanceof MlbomError && error.code === 'ABORTED') || this.ctx.signal.aborted) {
          throw error instanceof MlbomError && error.code === 'ABORTED'
            ? error
            : new MlbomError('ABORTED', `${this.target}: aborted`);
        }
        const message = error instanceof Error ? error.message : String(error);
        this.ctx.logger.warn(`${subject}: cannot read (${message}); its header is not read or scanned`);
        file.problems.push({
          code: 'FILE_UNREADABLE',
          message: `cannot read the file (${message})`,
          subject: file.path,
        });
        return [];
      }
    });
    applyWeightsHints(model, { card: hints, frameworks: found.flat() }, this.packages, this.relations);
  }

  /** A dataset repo: one `data` component, at `pinned` or else at `main` (or the last snapshot). */
  private async collectDatasetRepo(repo: CachedRepo, pinned?: string): Promise<void> {
    const refs = await readRefs(repo.dir);
    const snapshots = await this.snapshots(repo);
    if (snapshots.length === 0) return;
    const main = refs.get('main');
    const commit =
      pinned && snapshots.includes(pinned)
        ? pinned
        : main && snapshots.includes(main)
          ? main
          : (snapshots[snapshots.length - 1] as string);
    const snapshotDir = join(repo.dir, 'snapshots', commit);
    let cardData: Record<string, unknown> | undefined;
    const text = await readSmall(join(snapshotDir, 'README.md'), MAX_CARD_BYTES);
    const yaml = text === undefined ? undefined : splitFrontMatter(text).yaml;
    if (yaml !== undefined) {
      try {
        const data: unknown = parseYaml(yaml, { maxAliasCount: 100 });
        if (data && typeof data === 'object' && !Array.isArray(data)) cardData = data as Record<string, unknown>;
      } catch {
        this.problems.push({
          code: 'CARD_INVALID',
          message: 'dataset card front matter is not valid YAML',
          subject: repo.folder,
        });
      }
    }
    const key = datasetKey(repo.id);
    const properties: Property[] = [{ name: 'mlbom:path', value: this.relativePath(snapshotDir) }];
    if (snapshots.length > 1) properties.push({ name: 'mlbom:hf:snapshots', value: snapshots.join(',') });
    this.datasets.set(key, datasetAsset(key, { id: repo.id, commit, cardData }, this.options.hubUrl, properties));
  }
}

/**
 * A folder of a Hugging Face cache named as a local path (a snapshot, a repo folder or the whole
 * cache), read as `--hf-cache` reads it: files are links into the repo's `blobs/`, followed there
 * only. `undefined` when the folder has no cache layout.
 * @throws {MlbomError} as CacheCollector.collect
 */
export async function collectCacheFolder(
  dir: string,
  ctx: SourceContext,
  settings: CacheSettings & { hubUrl?: string | undefined } = {},
): Promise<Inventory | undefined> {
  const layout = await hubCacheLayout(dir);
  if (!layout) return undefined;
  const options = resolveHuggingFaceOptions(settings.hubUrl ? { hubUrl: settings.hubUrl } : {});
  const collector = new CacheCollector(resolve(dir), dir, ctx, options, settings);
  ctx.logger.debug(`${dir}: a Hugging Face cache ${layout.kind === 'cache' ? 'folder' : layout.kind}`);
  return layout.kind === 'cache' ? collector.collect() : collector.collectPart(layout);
}

/** @throws {MlbomError} as CacheCollector.collect */
export function collectCache(dir: string, ctx: SourceContext, options: ResolvedHuggingFaceOptions): Promise<Inventory> {
  return new CacheCollector(resolve(dir), `${HF_CACHE_SCHEME}${dir}`, ctx, options, {
    readHeaders: options.readHeaders,
    scan: options.scan,
  }).collect();
}
