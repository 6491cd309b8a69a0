import { type FileHandle, open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DatasetAsset,
  type FileAsset,
  fsError,
  type Inventory,
  MlbomError,
  type ModelAsset,
  type ModelCardAsset,
  type PackageAsset,
  type Problem,
  type Property,
  type Relation,
  type SourceContext,
} from '@mlbom/core';
import { cardRelations, type ModelCardInfo, parseModelCard } from './card.js';
import { abortedError, hashHandle, READ_FLAGS, READ_NOFOLLOW_FLAGS } from './hash.js';
import type { ResolvedLocalOptions } from './options.js';
import { mapPool } from './pool.js';
import { parseRequirements, type RequirementsFile, requirementPackages } from './requirements.js';
import {
  type ClaimedFormat,
  claimFromName,
  formatFromClaim,
  isAmbiguousWeightsName,
  isWeightsName,
  readFully,
  type SniffResult,
  shouldSniff,
  sniff,
  weightsClaim,
} from './sniff.js';
import { type WalkedFile, walk } from './walk.js';

/** Longest model card read. */
export const MAX_CARD_BYTES = 1024 * 1024;
/** Longest config.json read. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Longest requirements.txt read. */
export const MAX_REQUIREMENTS_BYTES = 1024 * 1024;
/** Files opened at once to read their first bytes. */
const SNIFF_CONCURRENCY = 32;

/** Test seams; not part of the public API. */
export interface CollectHooks {
  /** Called just before a file is opened for hashing, with the path that will be opened. */
  beforeHash?: (path: string) => void | Promise<void>;
}

/** Keys with a HF config meaning; one of them makes a config.json a model config even without weights beside it. */
const MODEL_CONFIG_KEYS = [
  'model_type',
  'architectures',
  '_name_or_path',
  'transformers_version',
  '_class_name',
  '_diffusers_version',
];

interface ConfigInfo {
  modelType?: string | undefined;
  architecture?: string | undefined;
  modelLike: boolean;
  problem?: Problem | undefined;
}

interface FileRecord {
  walked: WalkedFile;
  asset: FileAsset & { properties: Property[]; problems: Problem[] };
  /** Open flags: never follow links inside a walk; follow for a file the user named. */
  flags: number;
  /** Whether the file opened fine and should be hashed. */
  readable: boolean;
  /** Whether the bytes showed a model format. */
  recognised: boolean;
}

function posixDirname(rel: string): string {
  return posix.dirname(rel);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errorCode(error: unknown): string {
  if (error instanceof MlbomError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** Reads up to `cap` bytes of a small text file; `truncated` says whether there was more. */
async function readText(path: string, cap: number, flags: number): Promise<{ text: string; truncated: boolean }> {
  const handle = await open(path, flags);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MlbomError('FILE_UNREADABLE', `${path}: not a regular file`);
    const buffer = Buffer.alloc(Math.min(info.size, cap));
    const got = await readFully(handle, buffer, 0);
    return { text: buffer.toString('utf8', 0, got), truncated: info.size > cap };
  } finally {
    await handle.close().catch(() => {});
  }
}

/** A `models--org--name/snapshots/<rev>` folder of the Hugging Face cache. */
function hubCacheIdentity(dir: string): { group?: string; name: string; revision: string } | undefined {
  const match = /(?:^|\/)models--([^/]+)\/snapshots\/([0-9a-f]{40})$/.exec(dir);
  if (!match) return undefined;
  const parts = (match[1] as string).split('--');
  const name = parts.pop() as string;
  if (!name) return undefined;
  return { ...(parts.length > 0 ? { group: parts.join('--') } : {}), name, revision: match[2] as string };
}

class Collector {
  readonly models: ModelAsset[] = [];
  readonly datasets = new Map<string, DatasetAsset>();
  readonly packages = new Map<string, PackageAsset>();
  readonly relations: Relation[] = [];
  readonly problems: Problem[] = [];
  private readonly relationKeys = new Set<string>();
  private readonly cards = new Map<string, Promise<ModelCardInfo | Problem>>();
  private readonly configs = new Map<string, Promise<ConfigInfo>>();
  private readonly requirements = new Map<string, Promise<RequirementsFile | Problem>>();

  constructor(
    readonly root: string,
    readonly ctx: SourceContext,
    readonly options: ResolvedLocalOptions,
    readonly hooks: CollectHooks,
  ) {}

  checkAborted(): void {
    if (this.ctx.signal.aborted) throw abortedError(this.root, this.ctx.signal);
  }

  unreadable(rel: string, path: string, error: unknown, what = 'read'): Problem {
    const reason = errorCode(error);
    this.ctx.logger.warn(
      `${path}: cannot ${what} (${reason}); listed without ${what === 'hash' ? 'a hash' : 'details'}`,
    );
    return { code: 'FILE_UNREADABLE', message: `cannot ${what} the file (${reason})`, subject: rel };
  }

  card(file: WalkedFile, flags: number): Promise<ModelCardInfo | Problem> {
    let cached = this.cards.get(file.rel);
    if (!cached) {
      cached = readText(file.open, MAX_CARD_BYTES, flags).then(
        ({ text, truncated }) => {
          if (truncated) this.ctx.logger.debug(`${file.open}: model card longer than 1 MiB; only the start is read`);
          return parseModelCard(text, file.rel);
        },
        (error: unknown) => this.unreadable(file.rel, file.open, error),
      );
      this.cards.set(file.rel, cached);
    }
    return cached;
  }

  config(file: WalkedFile, flags: number): Promise<ConfigInfo> {
    let cached = this.configs.get(file.rel);
    if (!cached) {
      cached = (async (): Promise<ConfigInfo> => {
        let text: string;
        try {
          const read = await readText(file.open, MAX_CONFIG_BYTES, flags);
          if (read.truncated) {
            return {
              modelLike: false,
              problem: {
                code: 'CONFIG_TOO_LARGE',
                message: 'config.json larger than 4 MiB; not read',
                subject: file.rel,
              },
            };
          }
          text = read.text;
        } catch (error) {
          return { modelLike: false, problem: this.unreadable(file.rel, file.open, error) };
        }
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return {
            modelLike: false,
            problem: {
              code: 'CONFIG_INVALID',
              message: `config.json is not valid JSON: ${message}`,
              subject: file.rel,
            },
          };
        }
        if (typeof data !== 'object' || data === null || Array.isArray(data)) {
          return {
            modelLike: false,
            problem: { code: 'CONFIG_INVALID', message: 'config.json is not a JSON object', subject: file.rel },
          };
        }
        const record = data as Record<string, unknown>;
        const architectures = record.architectures;
        const first = Array.isArray(architectures) ? architectures[0] : undefined;
        const className = record._class_name;
        return {
          modelLike: MODEL_CONFIG_KEYS.some((k) => k in record),
          modelType: typeof record.model_type === 'string' && record.model_type ? record.model_type : undefined,
          architecture:
            typeof first === 'string' && first
              ? first
              : typeof className === 'string' && className
                ? className
                : undefined,
        };
      })();
      this.configs.set(file.rel, cached);
    }
    return cached;
  }

  requirementsOf(file: WalkedFile, flags: number): Promise<RequirementsFile | Problem> {
    let cached = this.requirements.get(file.rel);
    if (!cached) {
      cached = readText(file.open, MAX_REQUIREMENTS_BYTES, flags).then(
        ({ text, truncated }) => {
          const parsed = parseRequirements(text, file.rel);
          if (truncated) {
            parsed.problems.push({
              code: 'REQUIREMENT_SKIPPED',
              message: 'file longer than 1 MiB; the rest is ignored',
              subject: file.rel,
            });
          }
          return parsed;
        },
        (error: unknown) => this.unreadable(file.rel, file.open, error),
      );
      this.requirements.set(file.rel, cached);
    }
    return cached;
  }

  /** Opens a file, records its size and (when worth it) what its bytes say. Never throws but for abort. */
  async inspect(walked: WalkedFile, path: string, flags: number, claimPath: string): Promise<FileRecord> {
    const claim: ClaimedFormat | undefined = claimFromName(claimPath);
    const record: FileRecord = {
      walked,
      asset: {
        path,
        format: formatFromClaim(claim),
        properties: walked.symlinkTarget ? [{ name: 'mlbom:symlink-target', value: walked.symlinkTarget }] : [],
        problems: [],
      },
      flags,
      readable: false,
      recognised: false,
    };
    if (walked.problem) {
      record.asset.problems.push(walked.problem);
      this.ctx.logger.warn(`${walked.open}: ${walked.problem.message}; listed without size or hash`);
      return record;
    }
    this.checkAborted();
    let handle: FileHandle | undefined;
    try {
      handle = await open(walked.open, flags);
      const info = await handle.stat();
      if (!info.isFile()) throw new MlbomError('FILE_UNREADABLE', 'not a regular file');
      record.asset.size = info.size;
      if (shouldSniff(claimPath)) {
        const sniffed: SniffResult = await sniff(handle, info.size, claim, walked.rel, {
          ambiguous: isAmbiguousWeightsName(claimPath),
        });
        record.asset.format = sniffed.format;
        record.asset.properties.push(...sniffed.properties);
        record.asset.problems.push(...sniffed.problems);
        // A corrupt file stays in the BOM, and the person running the scan hears about it.
        for (const p of sniffed.problems) this.ctx.logger.warn(`${walked.open}: ${p.message}`);
        record.recognised = sniffed.recognised;
      }
      record.readable = true;
    } catch (error) {
      record.asset.problems.push(this.unreadable(walked.rel, walked.open, error));
    } finally {
      await handle?.close().catch(() => {});
    }
    return record;
  }

  addRelation(relation: Relation): void {
    const id = JSON.stringify(relation);
    if (this.relationKeys.has(id)) return;
    this.relationKeys.add(id);
    this.relations.push(relation);
  }

  /** Adds a model with its card, config and requirements. */
  async addModel(input: {
    key: string;
    name: string;
    files: FileRecord[];
    readme?: WalkedFile | undefined;
    config?: WalkedFile | undefined;
    requirements?: WalkedFile | undefined;
    flags: number;
    identity?: { group?: string; name: string; revision: string } | undefined;
  }): Promise<void> {
    const { key } = input;
    const model: ModelAsset & { properties: Property[]; problems: Problem[]; tags: string[] } = {
      kind: 'model',
      key,
      name: input.identity?.name ?? input.name,
      properties: [],
      problems: [],
      tags: [],
      files: input.files.map((f) => f.asset).sort((a, b) => compare(a.path, b.path)),
    };
    if (input.identity) {
      const { group, name, revision } = input.identity;
      if (group) model.group = group;
      model.version = revision;
      model.purl = `pkg:huggingface/${group ? `${encodeURIComponent(group)}/` : ''}${encodeURIComponent(name)}@${revision}`;
    }
    let card: ModelCardAsset | undefined;

    if (input.readme && !input.readme.problem) {
      const info = await this.card(input.readme, input.flags);
      if ('code' in info) model.problems.push(info);
      else {
        if (info.description) model.description = info.description;
        if (info.licenses.length > 0) model.licenses = info.licenses;
        model.tags.push(...info.tags);
        model.properties.push(...info.properties);
        model.problems.push(...info.problems);
        card = info.card ? { ...info.card } : undefined;
        const { datasets, relations } = cardRelations(key, info);
        for (const d of datasets) if (!this.datasets.has(d.key)) this.datasets.set(d.key, d);
        for (const r of relations) this.addRelation(r);
      }
    }

    if (input.config && !input.config.problem) {
      const config = await this.config(input.config, input.flags);
      if (config.problem) model.problems.push(config.problem);
      if (config.modelType || config.architecture) {
        card ??= {};
        if (config.modelType) card.architectureFamily = config.modelType;
        if (config.architecture) card.modelArchitecture = config.architecture;
      }
    }
    if (card) model.card = card;

    if (input.requirements && !input.requirements.problem) {
      const parsed = await this.requirementsOf(input.requirements, input.flags);
      if ('code' in parsed) model.problems.push(parsed);
      else {
        model.properties.push(...parsed.properties);
        model.problems.push(...parsed.problems);
        for (const pkg of requirementPackages(parsed.requirements)) {
          const existing = this.packages.get(pkg.key);
          if (!existing) this.packages.set(pkg.key, pkg);
          else if (existing.versionSpec !== pkg.versionSpec) {
            this.ctx.logger.debug(
              `${pkg.key}: required as ${existing.versionSpec ?? 'any'} and ${pkg.versionSpec ?? 'any'}; keeping the first`,
            );
          }
          this.addRelation({ type: 'depends-on', from: key, to: pkg.key });
        }
      }
    }
    this.models.push(model);
  }

  /** Hashes every readable file once (links to the same file share the work), `concurrency` at a time. */
  async hashAll(records: FileRecord[]): Promise<void> {
    const unique = new Map<string, FileRecord[]>();
    for (const r of records) {
      if (!r.readable) continue;
      const list = unique.get(r.walked.open);
      if (list) list.push(r);
      else unique.set(r.walked.open, [r]);
    }
    const groups = [...unique.values()];
    const total = groups.reduce((sum, g) => sum + (g[0]?.asset.size ?? 0), 0);
    this.ctx.progress.add(total, 'hashing');
    await mapPool(groups, this.options.concurrency, async (group) => {
      const first = group[0] as FileRecord;
      const path = first.walked.open;
      const expected = first.asset.size ?? 0;
      let advanced = 0;
      this.checkAborted();
      let handle: FileHandle | undefined;
      try {
        await this.hooks.beforeHash?.(path);
        handle = await open(path, first.flags);
        const info = await handle.stat();
        if (!info.isFile()) throw new MlbomError('FILE_UNREADABLE', 'not a regular file');
        const result = await hashHandle(handle, path, {
          signal: this.ctx.signal,
          onProgress: (n) => {
            const step = Math.max(0, Math.min(n, expected - advanced));
            advanced += n;
            if (step > 0) this.ctx.progress.advance(step);
          },
        });
        for (const r of group) {
          r.asset.sha256 = result.sha256;
          r.asset.size = result.size;
        }
      } catch (error) {
        if (error instanceof MlbomError && error.code === 'ABORTED') throw error;
        if (this.ctx.signal.aborted) throw abortedError(path, this.ctx.signal);
        const vanished = (error as NodeJS.ErrnoException)?.code === 'ENOENT';
        for (const r of group) {
          const problem = this.unreadable(r.walked.rel, path, error, 'hash');
          if (vanished) problem.message = 'the file vanished before it could be hashed';
          r.asset.problems.push(problem);
        }
      } finally {
        await handle?.close().catch(() => {});
        if (advanced < expected) this.ctx.progress.advance(expected - advanced);
      }
    });
  }

  inventory(): Inventory {
    return {
      models: [...this.models].sort((a, b) => compare(a.key, b.key)),
      datasets: [...this.datasets.values()].sort((a, b) => compare(a.key, b.key)),
      packages: [...this.packages.values()].sort((a, b) => compare(a.key, b.key)),
      relations: this.relations,
      problems: this.problems,
    };
  }
}

/** Accepts a path or a `file:` URL. */
export function targetPath(target: string): string {
  if (/^file:/i.test(target)) {
    try {
      return fileURLToPath(target);
    } catch (error) {
      throw new MlbomError('INVALID_INPUT', `${target}: not a usable file URL`, { cause: error });
    }
  }
  return resolve(target);
}

/**
 * The target as the user wrote it, normalized: model keys start from it so that two targets never
 * yield the same key and the same command always yields the same keys.
 */
export function keyBase(target: string): string {
  const path = /^file:/i.test(target) ? targetPath(target) : target;
  return posix.normalize(path.replaceAll('\\', '/')).replace(/(.)\/+$/, '$1');
}

/** ONNX external-data files that belong to a lone `.onnx` model. */
function onnxDataNames(name: string): string[] {
  return [`${name}_data`, `${name}.data`];
}

/** Inventories a directory (or a single file). */
export async function collectLocal(
  target: string,
  ctx: SourceContext,
  options: ResolvedLocalOptions,
  hooks: CollectHooks = {},
): Promise<Inventory> {
  const path = targetPath(target);
  if (ctx.signal.aborted) throw abortedError(path, ctx.signal);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw fsError(error, path, 'read');
  }
  const base = keyBase(target);
  if (info.isFile()) return collectSingleFile(path, base, ctx, options, hooks);
  if (!info.isDirectory()) throw new MlbomError('INVALID_INPUT', `${path}: not a file or directory`);
  try {
    await readdir(path);
  } catch (error) {
    throw fsError(error, path, 'list');
  }
  const rootReal = await realpath(path);
  const collector = new Collector(path, ctx, options, hooks);
  const walked = await walk(path, rootReal, {
    include: options.include,
    exclude: options.exclude,
    maxFileCount: options.maxFileCount,
    signal: ctx.signal,
    logger: ctx.logger,
  });
  collector.problems.push(...walked.problems);
  if (walked.files.length === 0) {
    ctx.logger.warn(`${path}: no files to inventory (empty directory, or everything excluded)`);
    return collector.inventory();
  }

  // Directories and what they hold.
  const dirFiles = new Map<string, WalkedFile[]>();
  const subtreeWeights = new Set<string>();
  for (const file of walked.files) {
    const dir = posixDirname(file.rel);
    const list = dirFiles.get(dir);
    if (list) list.push(file);
    else dirFiles.set(dir, [file]);
    if (isWeightsName(file.rel)) {
      for (let d = dir; !subtreeWeights.has(d); d = posixDirname(d)) {
        subtreeWeights.add(d);
        if (d === '.') break;
      }
    }
  }
  const named = (dir: string, name: string): WalkedFile | undefined =>
    dirFiles.get(dir)?.find((f) => posix.basename(f.rel).toLowerCase() === name);

  // Model folders: a Hub-style folder (config.json and/or a README with front matter beside weights),
  // a TF SavedModel, or a sharded-safetensors index.
  const modelDirs = new Set<string>();
  for (const dir of [...dirFiles.keys()].sort(compare)) {
    collector.checkAborted();
    const list = dirFiles.get(dir) ?? [];
    const strong = list.some((f) => {
      const n = posix.basename(f.rel).toLowerCase();
      return (
        n === 'saved_model.pb' ||
        n === 'saved_model.pbtxt' ||
        n.endsWith('.safetensors.index.json') ||
        n.endsWith('.bin.index.json')
      );
    });
    if (strong) {
      modelDirs.add(dir);
      continue;
    }
    if (!subtreeWeights.has(dir)) continue;
    const direct = list.some((f) => isWeightsName(f.rel));
    const config = named(dir, 'config.json');
    if (direct && (config || named(dir, 'adapter_config.json'))) {
      modelDirs.add(dir);
      continue;
    }
    const readme = named(dir, 'readme.md');
    if (readme && !readme.problem) {
      const card = await collector.card(readme, READ_NOFOLLOW_FLAGS);
      if (!('code' in card) && card.hasFrontMatter && (direct || card.hasHubMetadata)) {
        modelDirs.add(dir);
        continue;
      }
    }
    if (config && !config.problem && (await collector.config(config, READ_NOFOLLOW_FLAGS)).modelLike) {
      modelDirs.add(dir);
    }
  }

  const ownerOf = (rel: string): string | undefined => {
    for (let d = posixDirname(rel); ; d = posixDirname(d)) {
      if (modelDirs.has(d)) return d;
      if (d === '.') return undefined;
    }
  };

  const owned = new Map<string, WalkedFile[]>();
  const lone: WalkedFile[] = [];
  const loneSet = new Set<string>();
  for (const file of walked.files) {
    const owner = ownerOf(file.rel);
    if (owner !== undefined) {
      if (!file.included) continue;
      const list = owned.get(owner);
      if (list) list.push(file);
      else owned.set(owner, [file]);
    } else if (file.included && isWeightsName(file.rel)) {
      if (file.problem?.code === 'SYMLINK_OUTSIDE_ROOT') {
        ctx.logger.warn(`${file.open}: symbolic link leads outside ${path}; not followed`);
        collector.problems.push(file.problem);
        continue;
      }
      lone.push(file);
      loneSet.add(file.rel);
    }
  }

  // Look at every listed file once (size, first bytes).
  type Job = { file: WalkedFile; path: string; owner: string | undefined };
  const jobs: Job[] = [];
  for (const [owner, files] of owned) {
    for (const file of files) {
      jobs.push({ file, owner, path: owner === '.' ? file.rel : file.rel.slice(owner.length + 1) });
    }
  }
  const byRel = new Map(walked.files.map((f) => [f.rel, f]));
  const extras = new Map<string, WalkedFile[]>();
  for (const file of lone) {
    jobs.push({ file, owner: undefined, path: posix.basename(file.rel) });
    if (weightsClaim(file.rel) === 'onnx') {
      const siblings = onnxDataNames(file.rel).flatMap((n) => {
        const f = byRel.get(n);
        return f?.included && !f.problem && ownerOf(f.rel) === undefined && !loneSet.has(f.rel) ? [f] : [];
      });
      if (siblings.length > 0) extras.set(file.rel, siblings);
      for (const s of siblings) jobs.push({ file: s, owner: `lone:${file.rel}`, path: posix.basename(s.rel) });
    }
  }
  const records = await mapPool(jobs, SNIFF_CONCURRENCY, (job) =>
    collector.inspect(job.file, job.path, READ_NOFOLLOW_FLAGS, job.path),
  );
  const recordOf = new Map<string, FileRecord>();
  for (const [i, job] of jobs.entries()) recordOf.set(job.file.rel, records[i] as FileRecord);
  collector.checkAborted();

  const kept: FileRecord[] = [];
  for (const dir of [...modelDirs].sort(compare)) {
    const files = (owned.get(dir) ?? []).map((f) => recordOf.get(f.rel) as FileRecord);
    if (files.length === 0) {
      ctx.logger.debug(`${dir}: model folder with no included files; skipped`);
      continue;
    }
    kept.push(...files);
    const at = (name: string) => {
      const f = named(dir, name);
      return f && !f.problem ? f : undefined;
    };
    await collector.addModel({
      key: `local:${posix.join(base, dir)}`,
      name: dir === '.' ? basename(path) || path : posix.basename(dir),
      files,
      readme: at('readme.md'),
      config: at('config.json'),
      requirements: at('requirements.txt'),
      flags: READ_NOFOLLOW_FLAGS,
      identity: hubCacheIdentity(dir),
    });
  }

  for (const file of lone) {
    const record = recordOf.get(file.rel) as FileRecord;
    const unreadable = !record.readable;
    if (!unreadable && !record.recognised && isAmbiguousWeightsName(file.rel)) {
      ctx.logger.debug(`${file.open}: ${posix.extname(file.rel)} file whose content is no model format; skipped`);
      continue;
    }
    const files = [record, ...(extras.get(file.rel) ?? []).map((s) => recordOf.get(s.rel) as FileRecord)];
    kept.push(...files);
    const dir = posixDirname(file.rel);
    const requirements = named(dir, 'requirements.txt');
    await collector.addModel({
      key: `local:${posix.join(base, file.rel)}`,
      name: posix.basename(file.rel),
      files,
      requirements: requirements && !requirements.problem ? requirements : undefined,
      flags: READ_NOFOLLOW_FLAGS,
    });
  }

  if (collector.models.length === 0) ctx.logger.warn(`${path}: no models found`);
  if (options.hash) await collector.hashAll(kept);
  collector.checkAborted();
  return collector.inventory();
}

/** A file named as the target: a lone model if its name or bytes say it holds weights. */
async function collectSingleFile(
  path: string,
  base: string,
  ctx: SourceContext,
  options: ResolvedLocalOptions,
  hooks: CollectHooks,
): Promise<Inventory> {
  const dir = dirname(path);
  const name = basename(path);
  const collector = new Collector(dir, ctx, options, hooks);
  const walked: WalkedFile = { rel: name, open: path, included: true };
  try {
    await (await open(path, READ_FLAGS)).close();
  } catch (error) {
    throw fsError(error, path, 'read');
  }
  const record = await collector.inspect(walked, name, READ_FLAGS, name);
  if (!isWeightsName(name) && !record.recognised) {
    ctx.logger.warn(`${path}: not a model file (neither its name nor its content shows a model format)`);
    return collector.inventory();
  }
  const files = [record];
  if (weightsClaim(name) === 'onnx') {
    for (const sibling of onnxDataNames(name)) {
      const siblingPath = join(dir, sibling);
      const exists = await stat(siblingPath).then(
        (s) => s.isFile(),
        () => false,
      );
      if (exists)
        files.push(
          await collector.inspect({ rel: sibling, open: siblingPath, included: true }, sibling, READ_FLAGS, sibling),
        );
    }
  }
  const requirementsPath = join(dir, 'requirements.txt');
  const hasRequirements = await stat(requirementsPath).then(
    (s) => s.isFile(),
    () => false,
  );
  await collector.addModel({
    key: `local:${base}`,
    name,
    files,
    requirements: hasRequirements ? { rel: 'requirements.txt', open: requirementsPath, included: true } : undefined,
    flags: READ_FLAGS,
  });
  if (options.hash) await collector.hashAll(files);
  collector.checkAborted();
  return collector.inventory();
}
