import { existsSync, readdirSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsError, MlbomError, type SourceContext } from '@mlbom/core';
import { parse as parseYaml } from 'yaml';
import { localTree } from './local-tree.js';
import type {
  DatasetInput,
  LoggedModel,
  Metric,
  MlflowBackend,
  ModelVersion,
  RegisteredModel,
  Run,
  Tag,
} from './types.js';
import { cached, compare, isRecord, latestMetrics } from './util.js';

/** MLflow's RunStatus enum, as the file store writes it (an int). */
const RUN_STATUS: Record<number, string> = { 1: 'RUNNING', 2: 'SCHEDULED', 3: 'FINISHED', 4: 'FAILED', 5: 'KILLED' };
/** LoggedModelStatus. */
const LOGGED_MODEL_STATUS: Record<number, string> = {
  0: 'LOGGED_MODEL_STATUS_UNSPECIFIED',
  1: 'LOGGED_MODEL_PENDING',
  2: 'LOGGED_MODEL_READY',
  3: 'LOGGED_MODEL_UPLOAD_FAILED',
};
const MAX_META_BYTES = 1024 * 1024;

/** A path or `file:` URI as a local path; undefined for other URIs. */
export function localPathOf(uri: string): string | undefined {
  if (/^file:/i.test(uri)) {
    try {
      return fileURLToPath(uri.replace(/^file:(?!\/)/i, 'file:///'));
    } catch {
      return undefined;
    }
  }
  if (/^[a-z][a-z0-9+.-]+:/i.test(uri)) return undefined;
  return resolve(uri);
}

/**
 * Whether a folder is an MLflow file store (`mlruns/`): it has a `models/` registry with model
 * folders, or experiment folders (`0/`, `123/`) holding a `meta.yaml`. Synchronous: used by canHandle.
 */
export function isMlrunsStore(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
    const entries = readdirSync(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (/^\d+$/.test(entry.name) && existsSync(join(dir, entry.name, 'meta.yaml'))) return true;
      if (entry.name === 'models') {
        const models = readdirSync(join(dir, 'models'), { withFileTypes: true });
        if (models.some((m) => m.isDirectory() && existsSync(join(dir, 'models', m.name, 'meta.yaml')))) return true;
      }
    }
    return false;
  } catch {
    return false;
  }
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  return s === '' ? undefined : s;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

async function readMeta(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_META_BYTES) throw new MlbomError('FILE_UNREADABLE', `${path}: larger than 1 MiB`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof MlbomError) throw error;
    throw fsError(error, path);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new MlbomError(
      'FORMAT_INVALID',
      `${path}: not valid YAML (${error instanceof Error ? error.message : String(error)})`,
      {
        cause: error,
      },
    );
  }
  if (!isRecord(data)) throw new MlbomError('FORMAT_INVALID', `${path}: not a YAML mapping`);
  return data;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort(compare);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(error, dir, 'list');
  }
}

/** Key/value files under a folder (`params/`, `tags/`); keys with `/` are nested folders. */
async function readKeyValues(dir: string, limit = 10_000): Promise<Tag[]> {
  const out: Tag[] = [];
  const walk = async (path: string, prefix: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(error, path, 'list');
    }
    for (const entry of entries) {
      if (out.length >= limit) return;
      const key = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(path, entry.name), key);
      else if (entry.isFile()) {
        const text = await readFile(join(path, entry.name), 'utf8').catch((error: unknown) => {
          throw fsError(error, join(path, entry.name));
        });
        out.push({ key, value: text.slice(0, 64 * 1024) });
      }
    }
  };
  await walk(dir, '');
  return out.sort((a, b) => compare(a.key, b.key));
}

/** Metric files: one line per value, `<timestamp> <value> [<step> [<run_id> <dataset_name> <dataset_digest>]]`. */
async function readMetrics(dir: string): Promise<Metric[]> {
  const files = await readKeyValues(dir);
  const metrics: Metric[] = [];
  for (const { key, value } of files) {
    for (const line of value.split(/\r?\n/)) {
      const parts = line.trim().split(/\s+/);
      if (parts.length < 2 || parts[0] === '') continue;
      const metric: Metric = {
        key,
        timestampMs: Number(parts[0]),
        value: Number(parts[1]),
        step: parts[2] !== undefined && /^-?\d+$/.test(parts[2]) ? Number(parts[2]) : 0,
      };
      if (parts.length >= 6) {
        metric.datasetName = parts[4];
        metric.datasetDigest = parts[5];
      }
      metrics.push(metric);
    }
  }
  return latestMetrics(metrics);
}

function tagsOf(value: unknown): Tag[] {
  if (isRecord(value)) {
    return Object.entries(value)
      .map(([key, v]) => ({ key, value: str(v) ?? '' }))
      .sort((a, b) => compare(a.key, b.key));
  }
  if (Array.isArray(value)) {
    return value
      .filter(isRecord)
      .map((t) => ({ key: str(t.key) ?? '', value: str(t.value) ?? '' }))
      .filter((t) => t.key !== '')
      .sort((a, b) => compare(a.key, b.key));
  }
  return [];
}

/** A SQL LIKE pattern as a regular expression. */
function likeRegex(pattern: string, insensitive: boolean): RegExp {
  const body = [...pattern]
    .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, insensitive ? 'is' : 's');
}

const CLAUSE_RE =
  /^\s*(name|tags\.(?:`([^`]+)`|"([^"]+)"|([\w.-]+)))\s*(=|!=|LIKE|ILIKE)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*$/i;

/**
 * The subset of MLflow's registered-model filter grammar a file store is searched with:
 * `name` and `tags.<key>` compared with `=`, `!=`, `LIKE`, `ILIKE`, joined by `AND`.
 * @throws {MlbomError} INVALID_INPUT for anything else
 */
export function registeredModelFilter(filter: string | undefined): (model: RegisteredModel) => boolean {
  if (!filter || filter.trim() === '') return () => true;
  const clauses = filter.split(/\s+AND\s+/i).map((clause) => {
    const m = CLAUSE_RE.exec(clause);
    if (!m) {
      throw new MlbomError(
        'INVALID_INPUT',
        `unsupported MLflow filter "${filter}" for a file store (use name/tags.<key> with =, !=, LIKE, ILIKE and AND)`,
      );
    }
    const tagKey = m[2] ?? m[3] ?? m[4];
    const op = (m[5] as string).toUpperCase();
    const value = (m[6] ?? m[7] ?? '').replace(/\\(.)/g, '$1');
    const test =
      op === '='
        ? (s: string) => s === value
        : op === '!='
          ? (s: string) => s !== value
          : (s: string) => likeRegex(value, op === 'ILIKE').test(s);
    return (model: RegisteredModel) => {
      const subject = tagKey === undefined ? model.name : model.tags.find((t) => t.key === tagKey)?.value;
      return subject !== undefined && test(subject);
    };
  });
  return (model) => clauses.every((c) => c(model));
}

/**
 * An MLflow file store (`mlruns/`), read without MLflow: registry (`models/`), experiments, runs,
 * dataset inputs and MLflow 3 logged models. Artifact locations recorded on another machine
 * (absolute `file:` paths that do not exist here) are found again inside the store.
 * @throws {MlbomError} NOT_FOUND when the folder does not exist, INVALID_INPUT when it is no file store
 */
export async function fileStoreBackend(rootInput: string, ctx: SourceContext): Promise<MlflowBackend> {
  const root = resolve(rootInput);
  try {
    if (!(await stat(root)).isDirectory()) throw new MlbomError('INVALID_INPUT', `${root}: not a directory`);
  } catch (error) {
    if (error instanceof MlbomError) throw error;
    throw fsError(error, root);
  }
  if (!isMlrunsStore(root)) {
    throw new MlbomError(
      'INVALID_INPUT',
      `${root}: not an MLflow file store (no models/ registry or experiment folders)`,
    );
  }
  const modelsDir = join(root, 'models');
  /** A folder inside the store is shown relative to it (no machine paths in the BOM). */
  const tree = (dir: string) => {
    const rel = relative(root, dir);
    const inside = rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-z]:/i.test(rel);
    return localTree(dir, ctx, inside ? rel.split(sep).join('/') : dir);
  };

  /** Experiment folders, deleted ones (`.trash/`) included. */
  let experiments: Promise<string[]> | undefined;
  const experimentDirs = () => {
    experiments ??= (async () => {
      const top = (await listDirs(root)).filter((d) => d !== 'models' && !d.startsWith('.')).map((d) => join(root, d));
      const trash = (await listDirs(join(root, '.trash'))).map((d) => join(root, '.trash', d));
      return [...top, ...trash];
    })();
    return experiments;
  };
  const find = async (sub: string): Promise<string | undefined> => {
    if (!/^[\w.-]+$/.test(sub)) return undefined;
    for (const dir of await experimentDirs()) {
      if (existsSync(join(dir, sub, 'meta.yaml'))) return join(dir, sub);
    }
    return undefined;
  };

  const versionOf = async (name: string, dir: string): Promise<ModelVersion> => {
    const meta = await readMeta(join(dir, 'meta.yaml'));
    const aliases = (await readKeyValues(join(modelsDir, name, 'aliases')))
      .filter((a) => a.value.trim() === String(meta.version))
      .map((a) => a.key);
    return {
      name: str(meta.name) ?? name,
      version: str(meta.version) ?? dir.replace(/^.*version-/, ''),
      description: str(meta.description),
      createdMs: num(meta.creation_timestamp),
      updatedMs: num(meta.last_updated_timestamp),
      userId: str(meta.user_id),
      stage: str(meta.current_stage),
      source: str(meta.source),
      runId: str(meta.run_id),
      status: str(meta.status),
      statusMessage: str(meta.status_message),
      tags: await readKeyValues(join(dir, 'tags')),
      aliases: aliases.sort(compare),
      modelId: str(meta.model_id),
      storageLocation: str(meta.storage_location),
    };
  };

  const registeredModelOf = async (name: string): Promise<RegisteredModel> => {
    const dir = join(modelsDir, name);
    const meta = await readMeta(join(dir, 'meta.yaml'));
    const aliases = (await readKeyValues(join(dir, 'aliases'))).map((a) => ({ alias: a.key, version: a.value.trim() }));
    return {
      name: str(meta.name) ?? name,
      description: str(meta.description),
      createdMs: num(meta.creation_timestamp),
      updatedMs: num(meta.last_updated_timestamp),
      tags: await readKeyValues(join(dir, 'tags')),
      aliases,
    };
  };

  const modelDir = (name: string, subject: string) => {
    const dir = join(modelsDir, name);
    if (name.includes('/') || name.includes('\\') || name === '..' || !existsSync(join(dir, 'meta.yaml'))) {
      throw new MlbomError('NOT_FOUND', `${subject}: registered model "${name}" not found in ${root}`);
    }
    return dir;
  };

  /**
   * A run's or logged model's artifact folder: where its meta.yaml says, when that is on this machine,
   * else `<dir>/artifacts`.
   */
  const artifactsDir = (artifactUri: string | undefined, dir: string) => {
    const recorded = artifactUri ? localPathOf(artifactUri) : undefined;
    return recorded && existsSync(recorded) ? recorded : join(dir, 'artifacts');
  };

  const runs = new Map<string, Promise<{ dir: string; meta: Record<string, unknown> }>>();
  const runDirOf = (runId: string, subject: string) =>
    cached(runs, runId, async () => {
      const dir = await find(runId);
      if (!dir) throw new MlbomError('NOT_FOUND', `${subject}: run ${runId} not found in ${root}`);
      return { dir, meta: await readMeta(join(dir, 'meta.yaml')) };
    });

  const loggedModelDirOf = async (modelId: string, subject: string) => {
    if (/^[\w.-]+$/.test(modelId)) {
      for (const dir of await experimentDirs()) {
        const candidate = join(dir, 'models', modelId);
        if (existsSync(join(candidate, 'meta.yaml'))) return candidate;
      }
    }
    throw new MlbomError('NOT_FOUND', `${subject}: logged model ${modelId} not found in ${root}`);
  };

  const loggedModelDirs = new Map<string, string>();

  /** Resolves an artifact location recorded in the store to a folder on this machine. */
  const locate = async (uri: string, runId: string | undefined): Promise<string | undefined> => {
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const { dir, meta } = await runDirOf(runs[1] as string, uri);
      return join(artifactsDir(str(meta.artifact_uri), dir), runs[2] ?? '');
    }
    const logged = /^models:\/(m-[\w-]+)\/?(.*)$/.exec(uri);
    if (logged) {
      const dir = await loggedModelDirOf(logged[1] as string, uri);
      const meta = await readMeta(join(dir, 'meta.yaml'));
      return join(artifactsDir(str(meta.artifact_location), dir), logged[2] ?? '');
    }
    const local = localPathOf(uri);
    if (local && existsSync(local)) return local;
    // Recorded on another machine: find the same place inside this store.
    const normalized = uri.replaceAll('\\', '/');
    if (runId) {
      const inRun = new RegExp(`/${runId}/artifacts/?(.*)$`).exec(normalized);
      if (inRun) {
        const { dir, meta } = await runDirOf(runId, uri);
        return join(artifactsDir(str(meta.artifact_uri), dir), inRun[1] ?? '');
      }
    }
    const inModel = /\/(m-[\w-]+)\/artifacts\/?(.*)$/.exec(normalized);
    if (inModel) return join(await loggedModelDirOf(inModel[1] as string, uri), 'artifacts', inModel[2] ?? '');
    const inStore = /\/mlruns\/(.*)$/.exec(normalized);
    if (inStore && existsSync(join(root, inStore[1] as string))) return join(root, inStore[1] as string);
    return undefined;
  };

  const backend: MlflowBackend = {
    kind: 'file',
    repositoryUrl: undefined,
    display: root,
    versionUrl: () => undefined,
    async searchRegisteredModels(filter) {
      const matches = registeredModelFilter(filter);
      const out: RegisteredModel[] = [];
      for (const name of await listDirs(modelsDir)) {
        if (!existsSync(join(modelsDir, name, 'meta.yaml'))) continue;
        const model = await registeredModelOf(name);
        if (matches(model)) out.push(model);
      }
      return out.sort((a, b) => compare(a.name, b.name));
    },
    async getRegisteredModel(name, subject) {
      modelDir(name, subject);
      return registeredModelOf(name);
    },
    async searchModelVersions(name, subject) {
      const dir = modelDir(name, subject);
      const versions: ModelVersion[] = [];
      for (const sub of await listDirs(dir)) {
        if (/^version-\d+$/.test(sub) && existsSync(join(dir, sub, 'meta.yaml'))) {
          try {
            versions.push(await versionOf(name, join(dir, sub)));
          } catch (error) {
            // One unreadable version record must not hide the model's other versions.
            const message = error instanceof Error ? error.message : String(error);
            versions.push({ name, version: sub.slice('version-'.length), tags: [], aliases: [], problem: message });
          }
        }
      }
      return versions;
    },
    async getModelVersion(name, version, subject) {
      const dir = join(modelDir(name, subject), `version-${version}`);
      if (!/^\d+$/.test(version) || !existsSync(join(dir, 'meta.yaml'))) {
        throw new MlbomError(
          'NOT_FOUND',
          `${subject}: version ${version} of registered model "${name}" not found in ${root}`,
        );
      }
      return versionOf(name, dir);
    },
    async getModelVersionByAlias(name, alias, subject) {
      modelDir(name, subject);
      const found = (await readKeyValues(join(modelsDir, name, 'aliases'))).find((a) => a.key === alias);
      if (!found)
        throw new MlbomError(
          'NOT_FOUND',
          `${subject}: alias "${alias}" of registered model "${name}" not found in ${root}`,
        );
      return backend.getModelVersion(name, found.value.trim(), subject);
    },
    async getRun(runId, subject) {
      const { dir, meta } = await runDirOf(runId, subject);
      const status = num(meta.status);
      const inputs: DatasetInput[] = [];
      const experimentDir = join(dir, '..');
      for (const input of await listDirs(join(dir, 'inputs'))) {
        const inputMeta = await readMeta(join(dir, 'inputs', input, 'meta.yaml'));
        if (str(inputMeta.source_type) !== 'DATASET' || !str(inputMeta.source_id)) continue;
        const datasetId = str(inputMeta.source_id) as string;
        if (!/^[\w.-]+$/.test(datasetId)) continue;
        const d = await readMeta(join(experimentDir, 'datasets', datasetId, 'meta.yaml'));
        inputs.push({
          tags: tagsOf(inputMeta.tags),
          dataset: {
            name: str(d.name) ?? datasetId,
            digest: str(d.digest) ?? '',
            sourceType: str(d.source_type) ?? 'unknown',
            source: str(d.source) ?? '{}',
            schema: str(d.schema),
            profile: str(d.profile),
          },
        });
      }
      inputs.sort((a, b) => compare(`${a.dataset.name}@${a.dataset.digest}`, `${b.dataset.name}@${b.dataset.digest}`));
      const artifactUri = str(meta.artifact_uri);
      return {
        runId: str(meta.run_id) ?? str(meta.run_uuid) ?? runId,
        runName: str(meta.run_name),
        experimentId: str(meta.experiment_id),
        userId: str(meta.user_id),
        status: status !== undefined ? (RUN_STATUS[status] ?? String(status)) : str(meta.status),
        startMs: num(meta.start_time),
        endMs: num(meta.end_time),
        artifactUri,
        lifecycleStage: str(meta.lifecycle_stage),
        params: await readKeyValues(join(dir, 'params')),
        metrics: await readMetrics(join(dir, 'metrics')),
        tags: await readKeyValues(join(dir, 'tags')),
        datasetInputs: inputs,
      } satisfies Run;
    },
    async getLoggedModel(modelId, subject) {
      const dir = await loggedModelDirOf(modelId, subject);
      const meta = await readMeta(join(dir, 'meta.yaml'));
      const status = num(meta.status);
      const model: LoggedModel = {
        modelId: str(meta.model_id) ?? modelId,
        name: str(meta.name),
        experimentId: str(meta.experiment_id),
        artifactUri: str(meta.artifact_location) ?? str(meta.artifact_uri),
        status: status !== undefined ? (LOGGED_MODEL_STATUS[status] ?? String(status)) : str(meta.status),
        sourceRunId: str(meta.source_run_id),
        createdMs: num(meta.creation_timestamp) ?? num(meta.creation_timestamp_ms),
        creatorId: str(meta.creator_id),
        modelType: str(meta.model_type),
        tags: [...tagsOf(meta.tags), ...(await readKeyValues(join(dir, 'tags')))].sort((a, b) => compare(a.key, b.key)),
        params: await readKeyValues(join(dir, 'params')),
        metrics: await readMetrics(join(dir, 'metrics')),
        registrations: [],
      };
      // MLflow 3 records a logged model's registrations in its `mlflow.modelVersions` tag.
      try {
        const tag = model.tags.find((t) => t.key === 'mlflow.modelVersions')?.value;
        const list = tag ? (JSON.parse(tag) as unknown) : [];
        if (Array.isArray(list)) {
          model.registrations = list
            .filter(isRecord)
            .flatMap((r) =>
              str(r.name) && str(r.version) ? [{ name: str(r.name) as string, version: str(r.version) as string }] : [],
            );
        }
      } catch {
        // A malformed tag only loses the registrations.
      }
      loggedModelDirs.set(model.modelId, dir);
      return model;
    },
    async listExperiments() {
      // Deleted experiments are in `.trash/`: like experiments/search, only the active ones.
      const ids: string[] = [];
      for (const dir of await listDirs(root)) {
        if (dir === 'models' || dir.startsWith('.') || !existsSync(join(root, dir, 'meta.yaml'))) continue;
        const meta = await readMeta(join(root, dir, 'meta.yaml')).catch(() => undefined);
        if (meta && str(meta.lifecycle_stage) === 'deleted') continue;
        ids.push(str(meta?.experiment_id) ?? dir);
      }
      return ids;
    },
    async searchLoggedModels(experimentIds, subject) {
      const wanted = new Set(experimentIds);
      const out: LoggedModel[] = [];
      for (const dir of await experimentDirs()) {
        if (!wanted.has(dir.slice(dir.lastIndexOf(sep) + 1))) continue;
        for (const id of await listDirs(join(dir, 'models'))) {
          if (!existsSync(join(dir, 'models', id, 'meta.yaml'))) continue;
          out.push(await backend.getLoggedModel(id, subject));
        }
      }
      return out;
    },
    async modelVersionArtifacts(version, loggedModel) {
      const subject = `model version ${version.name}/${version.version}`;
      for (const uri of [version.storageLocation, version.source]) {
        if (!uri) continue;
        const dir = await locate(uri, version.runId).catch(() => undefined);
        if (dir && existsSync(dir)) return tree(dir);
      }
      if (loggedModel) return backend.loggedModelArtifacts(loggedModel);
      throw new MlbomError(
        'SOURCE_FAILED',
        `${subject}: artifacts at ${version.source ?? version.storageLocation ?? '(no source)'} are not in ${root}`,
      );
    },
    runArtifacts(run, path) {
      const recorded = run.artifactUri ? localPathOf(run.artifactUri) : undefined;
      let base = recorded && existsSync(recorded) ? recorded : undefined;
      if (!base) {
        for (const candidate of [
          join(root, run.experimentId ?? '', run.runId, 'artifacts'),
          join(root, '.trash', run.experimentId ?? '', run.runId, 'artifacts'),
        ]) {
          if (existsSync(candidate)) base = candidate;
        }
      }
      return tree(join(base ?? join(root, run.experimentId ?? '0', run.runId, 'artifacts'), path));
    },
    loggedModelArtifacts(model) {
      const dir = loggedModelDirs.get(model.modelId) ?? join(root, model.experimentId ?? '0', 'models', model.modelId);
      return tree(artifactsDir(model.artifactUri, dir));
    },
    async close() {},
  };
  return backend;
}
