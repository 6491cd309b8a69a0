import { existsSync } from 'node:fs';
import { type FileHandle, open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  abortedError,
  type ByteSource,
  type DatasetAsset,
  type FileAsset,
  fileByteSource,
  fsError,
  handleByteSource,
  hashHandle,
  type Inventory,
  MlbomError,
  type ModelAsset,
  type ModelCardAsset,
  mapPool,
  type PackageAsset,
  type Problem,
  type Property,
  READ_FLAGS,
  READ_NOFOLLOW_FLAGS,
  type Relation,
  readTextPrefix,
  type SourceContext,
} from '@mlbom/core';
import {
  type ClaimedFormat,
  cardRelations,
  claimFromName,
  describeModelFile,
  type FileDescription,
  findModelReferences,
  findNotebookModelReferences,
  formatFromClaim,
  frameworkPackage,
  isAmbiguousWeightsName,
  isWeightsName,
  type ModelCardInfo,
  type ModelConfigInfo,
  type ModelReference,
  modelParameterProperties,
  type PythonStack,
  parseCondaEnvironment,
  parseModelCard,
  parseModelConfig,
  parsePyproject,
  parsePythonEnv,
  readRequirementsTree,
  referencedModels,
  resolveInside,
  weightsClaim,
} from '@mlbom/formats';
import {
  collectCacheFolder,
  type LocalDirDownload,
  localDirIdentity,
  readLocalDirDownload,
  snapshotOf,
} from '@mlbom/huggingface';
import { readMlmodelDirectory } from '@mlbom/mlflow';
import { SEVERITY_RANK, scanIfRelevant } from '@mlbom/scanner';
import type { ResolvedLocalOptions } from './options.js';
import { type WalkedFile, walk } from './walk.js';

/** Longest model card read. */
export const MAX_CARD_BYTES = 1024 * 1024;
/** Longest config.json read. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Longest requirements.txt read. */
export const MAX_REQUIREMENTS_BYTES = 1024 * 1024;
/** Longest pyproject.toml / environment.yml / python_env.yaml read. */
const MAX_STACK_FILE_BYTES = 1024 * 1024;
/** Longest .py / .ipynb read for model references, and how many are read. */
const MAX_CODE_BYTES = 2 * 1024 * 1024;
const MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024;
const MAX_CODE_FILES = 20_000;
/** Files opened at once to read what they say about themselves. */
const SNIFF_CONCURRENCY = 16;

/** Python dependency files read next to a model and at the scanned root. */
function pythonStackKind(name: string): 'requirements' | 'pyproject' | 'conda' | 'python-env' | undefined {
  const lower = name.toLowerCase();
  if (/^requirements[\w.-]*\.txt$/.test(lower)) return 'requirements';
  if (lower === 'pyproject.toml') return 'pyproject';
  if (/^(environment|conda)\.ya?ml$/.test(lower)) return 'conda';
  if (/^python_env\.ya?ml$/.test(lower)) return 'python-env';
  return undefined;
}

/** Test seams; not part of the public API. */
export interface CollectHooks {
  /** Called just before a file is opened for hashing, with the path that will be opened. */
  beforeHash?: (path: string) => void | Promise<void>;
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
  /** What the file says about itself (format readers). */
  description?: FileDescription | undefined;
}

/**
 * A lone file with a generic extension (.bin, .pth) whose bytes show no model format is no model
 * (a Python path file, a firmware blob), unless the scan found HIGH+ evidence of what a loader would
 * run: that must reach the BOM (and --fail-on), whatever the format.
 */
function isNoModel(record: FileRecord): boolean {
  return (
    record.readable &&
    !record.recognised &&
    isAmbiguousWeightsName(record.walked.rel) &&
    !(record.asset.findings ?? []).some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.high)
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errorCode(error: unknown): string {
  if (error instanceof MlbomError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** A `models--org--name/snapshots/<rev>` folder of the Hugging Face cache inside the scanned folder. */
function hubCacheIdentity(dir: string): { group?: string; name: string; revision: string } | undefined {
  const snapshot = snapshotOf(dir);
  if (snapshot?.type !== 'model') return undefined;
  const slash = snapshot.id.indexOf('/');
  const name = snapshot.id.slice(slash + 1);
  return { ...(slash > 0 ? { group: snapshot.id.slice(0, slash) } : {}), name, revision: snapshot.commit };
}

class Collector {
  readonly models: ModelAsset[] = [];
  readonly datasets = new Map<string, DatasetAsset>();
  readonly packages = new Map<string, PackageAsset>();
  readonly relations: Relation[] = [];
  readonly problems: Problem[] = [];
  private readonly relationKeys = new Set<string>();
  private readonly cards = new Map<string, Promise<ModelCardInfo | Problem>>();
  private readonly configs = new Map<string, Promise<ModelConfigInfo>>();
  private readonly stacks = new Map<string, Promise<PythonStack>>();

  constructor(
    readonly root: string,
    readonly ctx: SourceContext,
    readonly options: ResolvedLocalOptions,
    readonly hooks: CollectHooks,
    /** A file under the root by its relative path (posix), when it exists. */
    readonly lookup: (rel: string) => WalkedFile | undefined,
  ) {}

  /** Checks that the files a file references (ONNX external data, index shards) are there. */
  checkReferences(record: FileRecord): void {
    const dir = posix.dirname(record.walked.rel);
    for (const ref of record.description?.references ?? []) {
      const target = resolveInside(dir === '.' ? 'x' : `${dir}/x`, ref);
      if (target !== undefined && this.lookup(target)) continue;
      const message =
        target === undefined
          ? `references "${ref.slice(0, 200)}", outside the scanned folder; not read`
          : `references "${ref.slice(0, 200)}", which is missing`;
      record.asset.problems.push({ code: 'REFERENCE_MISSING', message, subject: record.walked.rel });
      this.ctx.logger.warn(`${record.walked.open}: ${message}`);
    }
  }

  /** Models referenced from Python code and notebooks under the root (`from_pretrained("org/name")`, ...). */
  async codeReferences(files: WalkedFile[]): Promise<void> {
    const code = files.filter((f) => f.included && !f.problem && /\.(py|ipynb)$/i.test(f.rel)).slice(0, MAX_CODE_FILES);
    const found = await mapPool(code, SNIFF_CONCURRENCY, async (file): Promise<ModelReference[]> => {
      this.checkAborted();
      const notebook = /\.ipynb$/i.test(file.rel);
      try {
        const { text, truncated } = await readTextPrefix(
          file.open,
          notebook ? MAX_NOTEBOOK_BYTES : MAX_CODE_BYTES,
          READ_NOFOLLOW_FLAGS,
        );
        if (truncated) {
          this.ctx.logger.debug(`${file.open}: too large to look for model references; skipped`);
          return [];
        }
        if (!notebook) return findModelReferences(text, file.rel);
        const { references, problems } = findNotebookModelReferences(text, file.rel);
        for (const p of problems) this.ctx.logger.debug(`${file.open}: ${p.message}`);
        return references;
      } catch (error) {
        this.ctx.logger.debug(`${file.open}: cannot read (${errorCode(error)}); model references not looked for`);
        return [];
      }
    });
    for (const model of referencedModels(found.flat())) {
      if (!this.models.some((m) => m.key === model.key)) this.models.push(model);
    }
  }

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
      cached = readTextPrefix(file.open, MAX_CARD_BYTES, flags).then(
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

  config(file: WalkedFile, flags: number): Promise<ModelConfigInfo> {
    let cached = this.configs.get(file.rel);
    if (!cached) {
      cached = (async (): Promise<ModelConfigInfo> => {
        let text: string;
        try {
          const read = await readTextPrefix(file.open, MAX_CONFIG_BYTES, flags);
          if (read.truncated) {
            return {
              modelLike: false,
              properties: [],
              problem: {
                code: 'CONFIG_TOO_LARGE',
                message: 'config.json larger than 4 MiB; not read',
                subject: file.rel,
              },
            };
          }
          text = read.text;
        } catch (error) {
          return { modelLike: false, properties: [], problem: this.unreadable(file.rel, file.open, error) };
        }
        return parseModelConfig(text, file.rel);
      })();
      this.configs.set(file.rel, cached);
    }
    return cached;
  }

  /** A Python dependency file (requirements with its `-r` includes, pyproject, conda, python_env), parsed once. */
  stackOf(file: WalkedFile, flags: number): Promise<PythonStack> {
    let cached = this.stacks.get(file.rel);
    if (!cached) {
      cached = (async (): Promise<PythonStack> => {
        const kind = pythonStackKind(posix.basename(file.rel));
        const cap = kind === 'requirements' ? MAX_REQUIREMENTS_BYTES : MAX_STACK_FILE_BYTES;
        const readRel = async (rel: string, walked = this.lookup(rel)): Promise<string | undefined> => {
          if (!walked || walked.problem) return undefined;
          const { text, truncated } = await readTextPrefix(walked.open, cap, flags);
          if (truncated) this.ctx.logger.warn(`${walked.open}: longer than ${cap} bytes; the rest is ignored`);
          return text;
        };
        let text: string | undefined;
        try {
          text = await readRel(file.rel, file);
        } catch (error) {
          return {
            packages: [],
            properties: [],
            includes: [],
            problems: [this.unreadable(file.rel, file.open, error)],
          };
        }
        const content = text ?? '';
        switch (kind) {
          case 'pyproject':
            return parsePyproject(content, file.rel);
          case 'conda':
            return parseCondaEnvironment(content, file.rel);
          case 'python-env':
            return parsePythonEnv(content, file.rel);
          default:
            return readRequirementsTree(file.rel, (rel) => readRel(rel).catch(() => undefined), content);
        }
      })();
      this.stacks.set(file.rel, cached);
    }
    return cached;
  }

  /** Opens a file, records its size and (when worth it) what its bytes say. Never throws but for abort. */
  async inspect(walked: WalkedFile, path: string, flags: number, claimPath: string): Promise<FileRecord> {
    // claimPath is the name as the model sees it; siblings are looked up by the walked path.
    const dir = posix.dirname(walked.rel);
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
      const source = handleByteSource(handle, info.size, walked.open);
      const description = await describeModelFile(source, claimPath, {
        openSibling: async (relative): Promise<ByteSource | undefined> => {
          const target = resolveInside(dir === '.' ? 'x' : `${dir}/x`, relative);
          const sibling = target === undefined ? undefined : this.lookup(target.replace(/^\.\//, ''));
          return sibling && !sibling.problem ? fileByteSource(sibling.open).catch(() => undefined) : undefined;
        },
      });
      record.asset.format = description.format;
      record.asset.properties.push(...description.properties);
      for (const p of description.problems) {
        p.subject = walked.rel;
        record.asset.problems.push(p);
        // A corrupt file stays in the BOM, and the person running the scan hears about it.
        this.ctx.logger.warn(`${walked.open}: ${p.message}`);
      }
      record.recognised = description.recognised;
      record.description = description;
      record.readable = true;
      if (this.options.scan) await this.scanFile(record, source, claimPath);
    } catch (error) {
      record.asset.problems.push(this.unreadable(walked.rel, walked.open, error));
    } finally {
      await handle?.close().catch(() => {});
    }
    return record;
  }

  /** Static security scan (never loads the model); findings go into the BOM as vulnerabilities. */
  private async scanFile(record: FileRecord, source: ByteSource, claimPath: string): Promise<void> {
    const result = await scanIfRelevant(source, { path: claimPath, signal: this.ctx.signal });
    if (!result) return;
    record.asset.scanStatus = result.status;
    record.asset.findings = result.findings;
    for (const p of result.problems) record.asset.problems.push({ ...p, subject: record.walked.rel });
    if (result.status === 'unsafe') {
      const worst = result.findings.map((f) => f.severity).sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0];
      this.ctx.logger.warn(
        `${record.walked.open}: ${result.findings.length} security finding(s), worst ${worst}: ${result.findings[0]?.title ?? ''}`,
      );
    } else if (result.status === 'error') {
      // A file that is no model is expected not to parse, and is dropped unless a model claims it.
      const log = isNoModel(record) ? 'debug' : 'warn';
      this.ctx.logger[log](`${record.walked.open}: could not be fully scanned; treat it as unverified`);
    }
  }

  addRelation(relation: Relation): void {
    const id = JSON.stringify(relation);
    if (this.relationKeys.has(id)) return;
    this.relationKeys.add(id);
    this.relations.push(relation);
  }

  /** Adds a package (first sighting wins) and links the model to it. */
  private linkPackage(from: string, pkg: PackageAsset): void {
    const existing = this.packages.get(pkg.key);
    if (!existing) this.packages.set(pkg.key, pkg);
    else if (existing.versionSpec !== pkg.versionSpec) {
      this.ctx.logger.debug(
        `${pkg.key}: required as ${existing.versionSpec ?? 'any'} and ${pkg.versionSpec ?? 'any'}; keeping the first`,
      );
    }
    this.addRelation({ type: 'depends-on', from, to: pkg.key });
  }

  /** Frameworks the model's files record: linked to a listed package of that name, or added. */
  private linkFrameworks(key: string, files: FileRecord[], stackPackages: PackageAsset[]): void {
    for (const record of files) {
      for (const hint of record.description?.frameworks ?? []) {
        const pkg = frameworkPackage(hint, record.asset.path);
        // A file that names no version (safetensors `format: pt`) points at the requirement for it.
        const listed =
          pkg.ecosystem === 'pypi' && pkg.version === undefined
            ? stackPackages.find((p) => p.name === pkg.name)
            : undefined;
        if (listed) this.addRelation({ type: 'depends-on', from: key, to: listed.key });
        else this.linkPackage(key, pkg);
      }
    }
  }

  /** Adds a model with its card, config, Python stack and what its files say. */
  async addModel(input: {
    key: string;
    name: string;
    files: FileRecord[];
    readme?: WalkedFile | undefined;
    config?: WalkedFile | undefined;
    /** Python dependency files next to the model, then at the scanned root. */
    stack: WalkedFile[];
    flags: number;
    identity?: { group?: string; name: string; revision: string } | undefined;
    /** The metadata of a `hf download --local-dir` folder the model is in. */
    download?: LocalDirDownload | undefined;
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

    if (input.identity) {
      const { group, name, revision } = input.identity;
      if (group) model.group = group;
      model.version = revision;
      model.purl = `pkg:huggingface/${group ? `${encodeURIComponent(group)}/` : ''}${encodeURIComponent(name)}@${revision}`;
    } else if (input.download) {
      // The download metadata has the commit, not the repo: the card's name gives it when it reads org/name.
      const cardName = model.properties.find((p) => p.name === 'mlbom:card:name')?.value;
      const hub = localDirIdentity(input.download, cardName);
      if (hub) {
        model.name = hub.name;
        model.group = hub.group;
        model.version = hub.revision;
        model.purl = hub.purl;
      } else model.properties.push({ name: 'mlbom:hf:revision', value: input.download.commit });
      if (input.download.otherCommits.length > 0) {
        model.properties.push({ name: 'mlbom:hf:other-revisions', value: input.download.otherCommits.join(',') });
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
      model.properties.push(...config.properties);
    }

    // What the files record fills what the card and config leave open (weights files first).
    const described = [...input.files].sort(
      (a, b) =>
        Number(isWeightsName(b.asset.path)) - Number(isWeightsName(a.asset.path)) ||
        compare(a.asset.path, b.asset.path),
    );
    for (const record of described) {
      const hints = record.description?.card;
      if (!hints) continue;
      const target: ModelCardAsset = card ?? {};
      if (hints.architectureFamily && !target.architectureFamily) target.architectureFamily = hints.architectureFamily;
      if (hints.modelArchitecture && !target.modelArchitecture) target.modelArchitecture = hints.modelArchitecture;
      if (hints.inputs?.length && !target.inputs?.length) target.inputs = hints.inputs;
      if (hints.outputs?.length && !target.outputs?.length) target.outputs = hints.outputs;
      if (Object.keys(target).length > 0) card = target;
    }
    if (card) model.card = card;
    model.properties.push(...modelParameters(input.files));

    const stackPackages: PackageAsset[] = [];
    for (const file of input.stack) {
      if (file.problem) continue;
      const parsed = await this.stackOf(file, input.flags);
      model.properties.push(...parsed.properties);
      model.problems.push(...parsed.problems);
      for (const pkg of parsed.packages) {
        stackPackages.push(pkg);
        this.linkPackage(key, pkg);
      }
    }
    this.linkFrameworks(key, input.files, stackPackages);
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

/** The model's parameter count and dtypes, from what its files' readers found. */
function modelParameters(files: FileRecord[]): Property[] {
  return modelParameterProperties(
    files.flatMap((f) => (f.description ? [{ format: f.asset.format, properties: f.description.properties }] : [])),
  );
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
  // A Hugging Face cache folder (a snapshot, a repo folder, the whole cache) is read by the Hugging Face
  // package's cache reader, as `--hf-cache` reads it: its files are links into the repo's `blobs/`.
  const cached = await collectCacheFolder(path, ctx, { hash: options.hash, scan: options.scan });
  if (cached) return cached;
  const rootReal = await realpath(path);
  const walked = await walk(path, rootReal, {
    include: options.include,
    exclude: options.exclude,
    maxFileCount: options.maxFileCount,
    signal: ctx.signal,
    logger: ctx.logger,
  });
  const byRel = new Map(walked.files.map((f) => [f.rel, f]));
  const collector = new Collector(path, ctx, options, hooks, (rel) => byRel.get(rel));
  collector.problems.push(...walked.problems);
  if (walked.files.length === 0) {
    ctx.logger.warn(`${path}: no files to inventory (empty directory, or everything excluded)`);
    return collector.inventory();
  }

  // Directories and what they hold.
  const dirFiles = new Map<string, WalkedFile[]>();
  const subtreeWeights = new Set<string>();
  for (const file of walked.files) {
    const dir = posix.dirname(file.rel);
    const list = dirFiles.get(dir);
    if (list) list.push(file);
    else dirFiles.set(dir, [file]);
    if (isWeightsName(file.rel)) {
      for (let d = dir; !subtreeWeights.has(d); d = posix.dirname(d)) {
        subtreeWeights.add(d);
        if (d === '.') break;
      }
    }
  }
  const named = (dir: string, name: string): WalkedFile | undefined =>
    dirFiles.get(dir)?.find((f) => posix.basename(f.rel).toLowerCase() === name);

  // An MLflow model folder (it holds an `MLmodel` file) is read by the MLflow package's reader:
  // flavors, signature and environment files mean more there than as loose files.
  const mlmodelDirs = [...dirFiles.keys()]
    .filter((dir) => dirFiles.get(dir)?.some((f) => posix.basename(f.rel) === 'MLmodel' && !f.problem))
    .sort(compare);
  const underMlmodel = (rel: string): boolean =>
    mlmodelDirs.some((dir) => dir === '.' || rel === dir || rel.startsWith(`${dir}/`));

  // Model folders: a Hub-style folder (config.json and/or a README with front matter beside weights),
  // a TF SavedModel, or a sharded-safetensors index.
  const modelDirs = new Set<string>();
  for (const dir of [...dirFiles.keys()].sort(compare)) {
    collector.checkAborted();
    if (underMlmodel(dir)) continue;
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
    for (let d = posix.dirname(rel); ; d = posix.dirname(d)) {
      if (modelDirs.has(d)) return d;
      if (d === '.') return undefined;
    }
  };

  const owned = new Map<string, WalkedFile[]>();
  const lone: WalkedFile[] = [];
  const loneSet = new Set<string>();
  for (const file of walked.files) {
    if (underMlmodel(file.rel)) continue;
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

  // External data a lone ONNX model names (beyond the usual <name>_data / <name>.data) belongs to it.
  const attached = new Set<string>();
  for (const file of lone) {
    const record = recordOf.get(file.rel) as FileRecord;
    if (record.asset.format !== 'onnx') continue;
    const dir = posix.dirname(file.rel);
    for (const ref of record.description?.references ?? []) {
      const target = resolveInside(dir === '.' ? 'x' : `${dir}/x`, ref);
      const f = target === undefined ? undefined : byRel.get(target);
      if (!f?.included || f.problem || ownerOf(f.rel) !== undefined || f.rel === file.rel) continue;
      const existing = recordOf.get(f.rel);
      // A `.bin` that shows no format of its own is this model's data, not a model.
      const claimable = existing && loneSet.has(f.rel) && !existing.recognised && isAmbiguousWeightsName(f.rel);
      if (existing && !claimable) continue;
      if (existing && [...extras.values()].some((list) => list.includes(f))) continue;
      const list = extras.get(file.rel) ?? [];
      list.push(f);
      extras.set(file.rel, list);
      attached.add(f.rel);
      if (!existing) {
        recordOf.set(f.rel, await collector.inspect(f, posix.relative(dir, f.rel), READ_NOFOLLOW_FLAGS, f.rel));
      }
    }
  }
  for (const record of recordOf.values()) collector.checkReferences(record);
  const stackFiles = (dir: string): WalkedFile[] => {
    const here = (dirFiles.get(dir) ?? []).filter((f) => pythonStackKind(posix.basename(f.rel)) && !f.problem);
    const root = dir === '.' ? [] : (dirFiles.get('.') ?? []).filter((f) => pythonStackKind(f.rel) && !f.problem);
    return [...here, ...root];
  };

  // `hf download --local-dir` folders: the metadata beside the files names the commit (and the ETags).
  const downloads = new Map<string, Promise<LocalDirDownload | undefined>>();
  const downloadAt = (dir: string): Promise<LocalDirDownload | undefined> => {
    let found = downloads.get(dir);
    if (!found) {
      found = readLocalDirDownload(join(path, dir));
      downloads.set(dir, found);
    }
    return found;
  };
  const nearestDownload = async (dir: string): Promise<{ at: string; download: LocalDirDownload } | undefined> => {
    for (let d = dir; ; d = posix.dirname(d)) {
      const download = await downloadAt(d);
      if (download) return { at: d, download };
      if (d === '.') return undefined;
    }
  };
  const downloaded: { files: FileRecord[]; prefix: string; download: LocalDirDownload }[] = [];

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
    const local = await nearestDownload(dir);
    if (local) {
      const prefix = local.at === dir ? '' : `${local.at === '.' ? dir : dir.slice(local.at.length + 1)}/`;
      downloaded.push({ files, prefix, download: local.download });
    }
    await collector.addModel({
      key: `local:${posix.join(base, dir)}`,
      name: dir === '.' ? basename(path) || path : posix.basename(dir),
      files,
      readme: at('readme.md'),
      config: at('config.json'),
      stack: stackFiles(dir),
      flags: READ_NOFOLLOW_FLAGS,
      identity: hubCacheIdentity(dir),
      download: local?.download,
    });
  }

  for (const file of lone) {
    if (attached.has(file.rel)) continue;
    const record = recordOf.get(file.rel) as FileRecord;
    if (isNoModel(record)) {
      ctx.logger.debug(`${file.open}: ${posix.extname(file.rel)} file whose content is no model format; skipped`);
      continue;
    }
    const files = [record, ...(extras.get(file.rel) ?? []).map((s) => recordOf.get(s.rel) as FileRecord)];
    kept.push(...files);
    await collector.addModel({
      key: `local:${posix.join(base, file.rel)}`,
      name: posix.basename(file.rel),
      files,
      stack: stackFiles(posix.dirname(file.rel)),
      flags: READ_NOFOLLOW_FLAGS,
    });
  }

  await collector.codeReferences(walked.files.filter((f) => !underMlmodel(f.rel)));
  const mlflowInventories: Inventory[] = [];
  for (const dir of mlmodelDirs) {
    if (mlmodelDirs.some((outer) => outer !== dir && (outer === '.' || dir.startsWith(`${outer}/`)))) continue;
    mlflowInventories.push(
      await readMlmodelDirectory(join(path, dir), {
        key: `local:${posix.join(base, dir)}`,
        name: dir === '.' ? basename(path) || path : posix.basename(dir),
        hash: options.hash,
        scan: options.scan,
        ctx,
      }),
    );
  }
  if (collector.models.length === 0 && mlflowInventories.length === 0) ctx.logger.warn(`${path}: no models found`);
  if (options.hash) {
    await collector.hashAll(kept);
    for (const { files, prefix, download } of downloaded) checkDownloaded(files, prefix, download, ctx);
  }
  collector.checkAborted();
  return concatInventories([collector.inventory(), ...mlflowInventories]);
}

/** A file of a `--local-dir` folder whose content is not what was downloaded (the LFS ETag is its SHA-256). */
function checkDownloaded(files: FileRecord[], prefix: string, download: LocalDirDownload, ctx: SourceContext): void {
  for (const record of files) {
    const meta = download.files.get(`${prefix}${record.asset.path}`);
    const sha256 = record.asset.sha256;
    if (!meta || !sha256 || !/^[0-9a-f]{64}$/.test(meta.etag) || meta.etag === sha256) continue;
    const message = `content changed since it was downloaded at ${meta.commit} (SHA-256 was ${meta.etag})`;
    record.asset.problems.push({ code: 'DOWNLOAD_MODIFIED', message, subject: record.walked.rel });
    ctx.logger.warn(`${record.walked.open}: ${message}`);
  }
}

function concatInventories(inventories: Inventory[]): Inventory {
  return {
    models: inventories.flatMap((i) => i.models ?? []),
    datasets: inventories.flatMap((i) => i.datasets ?? []),
    packages: inventories.flatMap((i) => i.packages ?? []),
    relations: inventories.flatMap((i) => i.relations ?? []),
    problems: inventories.flatMap((i) => i.problems ?? []),
  };
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
  // Only files directly beside the named file are looked up (requirements includes, SavedModel variables).
  const collector = new Collector(dir, ctx, options, hooks, (rel) => {
    const full = join(dir, rel);
    return existsSync(full) ? { rel, open: full, included: true } : undefined;
  });
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
  const stack: WalkedFile[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (!pythonStackKind(entry)) continue;
    const isFile = await stat(join(dir, entry)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (isFile) stack.push({ rel: entry, open: join(dir, entry), included: true });
  }
  stack.sort((a, b) => compare(a.rel, b.rel));
  for (const r of files) collector.checkReferences(r);
  await collector.addModel({
    key: `local:${base}`,
    name,
    files,
    stack,
    flags: READ_FLAGS,
  });
  if (options.hash) await collector.hashAll(files);
  collector.checkAborted();
  return collector.inventory();
}
