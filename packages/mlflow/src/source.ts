import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  defaultContext,
  fsError,
  type Inventory,
  isMlbomError,
  MlbomError,
  mapPool,
  type Source,
  type SourceContext,
} from '@mlbom/core';
import { Assembler, errorText, type MlflowHooks, mlflowPurl } from './collect.js';
import { localTree } from './local-tree.js';
import { type MlflowOptions, type ResolvedMlflowOptions, resolveMlflowOptions } from './options.js';
import { restBackend } from './rest.js';
import { fileStoreBackend, isMlrunsStore, localPathOf } from './store.js';
import { type MlflowTarget, parseMlflowUri } from './target.js';
import type { LoggedModel, MlflowBackend, ModelVersion, RegisteredModel } from './types.js';
import { compare, safeUri } from './util.js';

const SCHEME_RE = /^[a-z][a-z0-9+.-]+:/i;

/** Whether the target is a path (or `file:` URI) to an MLflow file store. Synchronous: for canHandle. */
export function isMlrunsTarget(target: string): boolean {
  if (target.trim() === '') return false;
  if (!/^file:/i.test(target) && SCHEME_RE.test(target)) return false;
  const path = localPathOf(target);
  return path !== undefined && isMlrunsStore(path);
}

/** Whether this source reads the target: MLflow URIs, the registry marker, or an `mlruns` folder. */
export function canHandleMlflow(target: string): boolean {
  try {
    if (parseMlflowUri(target)) return true;
  } catch {
    return true; // a malformed models:/ or runs:/ URI is still ours, to report it
  }
  return isMlrunsTarget(target);
}

function classify(target: string): MlflowTarget {
  const parsed = parseMlflowUri(target);
  if (parsed) return parsed;
  const path = localPathOf(target);
  if (path === undefined) throw new MlbomError('INVALID_INPUT', `${target}: not an MLflow target`);
  return { kind: 'store', path };
}

async function openBackend(
  target: string,
  kind: MlflowTarget,
  options: ResolvedMlflowOptions,
  ctx: SourceContext,
  tempDir: () => Promise<string>,
): Promise<MlflowBackend> {
  /** The file store, its errors naming the target. */
  const store = async (path: string) => {
    try {
      return await fileStoreBackend(path, ctx);
    } catch (error) {
      if (isMlbomError(error)) throw new MlbomError(error.code, `${target}: ${error.message}`, { cause: error });
      throw error;
    }
  };
  if (kind.kind === 'store') return store(kind.path);
  const uri = options.trackingUri;
  if (!uri) {
    throw new MlbomError(
      'INVALID_INPUT',
      `${target}: no MLflow tracking server given (set MLFLOW_TRACKING_URI or pass --tracking-uri)`,
    );
  }
  if (/^https?:/i.test(uri)) return restBackend({ trackingUri: uri, options, ctx, tempDir });
  if (/^(databricks|uc)(:|$)/i.test(uri)) {
    throw new MlbomError(
      'INVALID_INPUT',
      `${target}: tracking URI "${safeUri(uri)}" (a Databricks profile) is not supported; use https://<workspace host> with MLFLOW_TRACKING_TOKEN`,
    );
  }
  const path = localPathOf(uri);
  if (path === undefined) {
    throw new MlbomError('INVALID_INPUT', `${target}: unsupported MLflow tracking URI "${safeUri(uri)}"`);
  }
  return store(path);
}

async function collectRegistry(
  assembler: Assembler,
  backend: MlflowBackend,
  target: string,
  filter: string | undefined,
): Promise<void> {
  const { ctx, options } = assembler;
  const registered = await backend.searchRegisteredModels(filter, target);
  if (registered.length === 0) {
    ctx.logger.warn(`${target}: no registered models in ${backend.display}${filter ? ` match ${filter}` : ''}`);
  }
  const jobs: Array<{ version: ModelVersion; registered: RegisteredModel }> = [];
  /** Logged models (`m-<id>`) a listed version was registered from. */
  const covered = new Set<string>();
  for (const model of registered) {
    assembler.checkAborted(target);
    try {
      const versions = await backend.searchModelVersions(model.name, `versions of registered model ${model.name}`);
      versions.sort((a, b) => Number(a.version) - Number(b.version) || compare(a.version, b.version));
      for (const version of versions) jobs.push({ version, registered: model });
      if (versions.length === 0) ctx.logger.info(`registered model ${model.name}: no versions`);
    } catch (error) {
      if (isMlbomError(error) && error.code === 'ABORTED') throw error;
      const message = error instanceof Error ? error.message : String(error);
      assembler.problems.push({ code: 'MODEL_UNREADABLE', message, subject: model.name });
      ctx.logger.warn(message);
    }
  }
  await mapPool(jobs, options.concurrency, async ({ version, registered: model }) => {
    if (version.modelId) covered.add(version.modelId);
    // A server that leaves model_id out still names the logged model in the source.
    const fromSource = /^models:\/(m-[\w-]+)\/?$/.exec(version.source ?? '')?.[1];
    if (fromSource) covered.add(fromSource);
    try {
      await assembler.addVersion(version, model);
    } catch (error) {
      if (isMlbomError(error) && error.code === 'ABORTED') throw error;
      // One broken version never aborts the inventory: it is listed with what went wrong.
      assembler.addUnreadable(
        mlflowPurl({ name: version.name, version: version.version, repositoryUrl: backend.repositoryUrl }),
        version.name,
        version.version,
        {
          code: 'VERSION_UNREADABLE',
          message: errorText(error),
          subject: `models:/${version.name}/${version.version}`,
        },
      );
    }
  });
  await collectLoggedModels(assembler, backend, target, filter, covered);
}

/**
 * MLflow 3 logged models that no registered version covers: of every active experiment, or with a
 * filter only of the experiments the listed versions come from. A server without the MLflow 3
 * endpoints (MLflow 2) has none; any other failure is a problem of the inventory, never fatal.
 */
async function collectLoggedModels(
  assembler: Assembler,
  backend: MlflowBackend,
  target: string,
  filter: string | undefined,
  covered: Set<string>,
): Promise<void> {
  const { ctx, options } = assembler;
  const subject = `logged models of ${backend.display}`;
  let found: LoggedModel[];
  try {
    let experiments = [...assembler.experimentIds];
    if (filter === undefined) {
      try {
        experiments = await backend.listExperiments(`experiments of ${backend.display}`);
      } catch (error) {
        if (isMlbomError(error) && (error.code === 'ABORTED' || error.code === 'AUTH')) throw error;
        ctx.logger.debug(`${target}: cannot list experiments (${errorText(error)}); searching those of the versions`);
      }
    }
    if (experiments.length === 0) return;
    experiments.sort((a, b) => Number(a) - Number(b) || compare(a, b));
    found = await backend.searchLoggedModels(experiments, subject);
  } catch (error) {
    if (isMlbomError(error) && error.code === 'ABORTED') throw error;
    if (isMlbomError(error) && error.code === 'NOT_FOUND') {
      ctx.logger.debug(`${target}: no MLflow 3 logged models (${errorText(error)})`);
      return;
    }
    assembler.problems.push({ code: 'LOGGED_MODELS_UNREADABLE', message: errorText(error), subject });
    ctx.logger.warn(errorText(error));
    return;
  }
  const seen = new Set<string>();
  const unregistered = found
    .filter((m) => {
      if (covered.has(m.modelId) || m.registrations.length > 0 || seen.has(m.modelId)) return false;
      seen.add(m.modelId);
      return true;
    })
    .sort((a, b) => compare(a.modelId, b.modelId));
  if (unregistered.length > 0) ctx.logger.info(`${target}: ${unregistered.length} unregistered logged model(s)`);
  await mapPool(unregistered, options.concurrency, async (loggedModel) => {
    try {
      await assembler.addLoggedModel(loggedModel);
    } catch (error) {
      if (isMlbomError(error) && error.code === 'ABORTED') throw error;
      const name = loggedModel.name ?? loggedModel.modelId;
      assembler.addUnreadable(
        mlflowPurl({
          name,
          version: loggedModel.modelId,
          repositoryUrl: backend.repositoryUrl,
          runId: loggedModel.sourceRunId,
        }),
        name,
        loggedModel.modelId,
        { code: 'LOGGED_MODEL_UNREADABLE', message: errorText(error), subject: `models:/${loggedModel.modelId}` },
      );
    }
  });
}

async function collectTarget(
  target: string,
  options: ResolvedMlflowOptions,
  hooks: MlflowHooks,
  ctx: SourceContext,
): Promise<Inventory> {
  if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${target}: aborted`);
  const kind = classify(target);
  let temp: Promise<string> | undefined;
  const tempDir = () => {
    temp ??= mkdtemp(join(tmpdir(), 'mlbom-mlflow-'));
    return temp;
  };
  const backend = await openBackend(target, kind, options, ctx, tempDir);
  const assembler = new Assembler(backend, ctx, options, hooks);
  try {
    switch (kind.kind) {
      case 'store':
        await collectRegistry(assembler, backend, target, undefined);
        break;
      case 'registry':
        await collectRegistry(assembler, backend, target, kind.filter);
        break;
      case 'model-version': {
        const version = await backend.getModelVersion(kind.name, kind.version, target);
        await assembler.addVersion(version, await registeredModel(backend, kind.name, ctx));
        break;
      }
      case 'model-alias': {
        const version = await backend.getModelVersionByAlias(kind.name, kind.alias, target);
        await assembler.addVersion(version, await registeredModel(backend, kind.name, ctx));
        break;
      }
      case 'model-latest': {
        const versions = (await backend.searchModelVersions(kind.name, target)).filter(
          (v) => !kind.stage || v.stage?.toLowerCase() === kind.stage.toLowerCase(),
        );
        const latest = versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
        if (!latest) {
          throw new MlbomError(
            'NOT_FOUND',
            `${target}: registered model "${kind.name}" has no version${kind.stage ? ` in stage ${kind.stage}` : ''}`,
          );
        }
        await assembler.addVersion(latest, await registeredModel(backend, kind.name, ctx));
        break;
      }
      case 'logged-model':
        await assembler.addLoggedModel(await backend.getLoggedModel(kind.modelId, target));
        break;
      case 'run-artifact':
        await assembler.addRunModel(await backend.getRun(kind.runId, target), kind.path, target);
        break;
    }
    if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${target}: aborted`);
    return assembler.inventory();
  } finally {
    await backend.close();
    if (temp) await rm(await temp, { recursive: true, force: true }).catch(() => {});
  }
}

async function registeredModel(
  backend: MlflowBackend,
  name: string,
  ctx: SourceContext,
): Promise<RegisteredModel | undefined> {
  try {
    return await backend.getRegisteredModel(name, `registered model ${name}`);
  } catch (error) {
    if (isMlbomError(error) && error.code === 'ABORTED') throw error;
    ctx.logger.debug(`registered model ${name}: ${errorText(error)}`);
    return undefined;
  }
}

/**
 * The MLflow source: registered model versions (with their runs, datasets, logged models and
 * artifacts) from a tracking server's REST API or an `mlruns` file store.
 *
 * Targets: `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/latest`,
 * `models:/m-<id>`, `runs:/<run_id>/<path>`, `mlflow-registry:[<filter>]`, and a path or `file:` URI
 * of an `mlruns` folder. `hooks.scan` scans downloaded model files.
 * @throws {MlbomError} INVALID_INPUT when the options are invalid
 */
export function mlflow(options: MlflowOptions = {}, hooks: MlflowHooks = {}): Source<MlflowOptions> {
  const resolved = resolveMlflowOptions(options);
  return {
    name: 'mlflow',
    options,
    canHandle: canHandleMlflow,
    collect: (target, ctx) => collectTarget(target, resolved, hooks, ctx),
  };
}

export interface ReadMlmodelDirectoryOptions {
  /** The model's key (default `local:<dir>`), e.g. the local source's key for that folder. */
  key?: string;
  /** Component name (default: the folder's name). */
  name?: string;
  hash?: boolean;
  /** Scan model files with @mlbom/scanner (default true). */
  scan?: boolean;
  /** Which files are hashed: `models` (default) or `all`. */
  artifacts?: 'none' | 'models' | 'all';
  scanner?: MlflowHooks['scan'];
  ctx?: Partial<SourceContext>;
}

/**
 * Reads a local MLflow model folder (one holding an `MLmodel` file): the model with its files,
 * flavors → framework components, signature → model card inputs/outputs, the Hugging Face base of a
 * transformers model, and the packages of requirements.txt / conda.yaml / python_env.yaml.
 * For the local source to call on folders it finds with an MLmodel.
 * @throws {MlbomError} NOT_FOUND / PERMISSION_DENIED for the folder, ABORTED
 */
export async function readMlmodelDirectory(dir: string, options: ReadMlmodelDirectoryOptions = {}): Promise<Inventory> {
  const root = resolve(dir);
  try {
    if (!(await stat(root)).isDirectory()) throw new MlbomError('INVALID_INPUT', `${root}: not a directory`);
  } catch (error) {
    if (isMlbomError(error)) throw error;
    throw fsError(error, root);
  }
  const ctx = defaultContext(options.ctx);
  if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${root}: aborted`);
  const resolved = resolveMlflowOptions({
    ...(options.hash !== undefined ? { hash: options.hash } : {}),
    ...(options.scan !== undefined ? { scan: options.scan } : {}),
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
  });
  const assembler = new Assembler(undefined, ctx, resolved, options.scanner ? { scan: options.scanner } : {});
  const model = assembler.newModel(options.key ?? `local:${root}`, options.name ?? (basename(root) || root));
  const card = {};
  await assembler.readArtifacts(model, card, localTree(root, ctx), root);
  assembler.finish(model, card);
  return assembler.inventory();
}
