import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  fileByteSource,
  type HttpRequestOptions,
  httpJson,
  httpRequest,
  MlbomError,
  type SourceContext,
} from '@mlbom/core';
import { z } from 'zod';
import type { ResolvedMlflowOptions } from './options.js';
import type {
  ArtifactEntry,
  ArtifactTree,
  DatasetInput,
  FetchedArtifact,
  LoggedModel,
  Metric,
  MlflowBackend,
  ModelVersion,
  RegisteredModel,
  Run,
  Tag,
} from './types.js';
import { compare, latestMetrics, safeUri } from './util.js';

// ---- the REST API's JSON (proto3 JSON: unset fields are omitted, int64 may be a string) ----

const int64 = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);
const int64Opt = int64.optional().nullable();
const strOpt = z.string().optional().nullable();
/** Metric values are doubles; NaN and infinities come as strings. */
const double = z.union([z.number(), z.string().transform((s) => Number(s))]);
const tagJson = z.object({ key: z.string(), value: z.string().optional().nullable() });
const tagsJson = z.array(tagJson).optional().nullable();

const registeredModelJson = z.object({
  name: z.string(),
  creation_timestamp: int64Opt,
  last_updated_timestamp: int64Opt,
  description: strOpt,
  tags: tagsJson,
  aliases: z
    .array(z.object({ alias: z.string(), version: z.union([z.string(), z.number()]).transform(String) }))
    .optional()
    .nullable(),
});

const modelVersionJson = z.object({
  name: z.string(),
  version: z.union([z.string(), z.number()]).transform(String),
  creation_timestamp: int64Opt,
  last_updated_timestamp: int64Opt,
  user_id: strOpt,
  current_stage: strOpt,
  description: strOpt,
  source: strOpt,
  run_id: strOpt,
  status: strOpt,
  status_message: strOpt,
  tags: tagsJson,
  aliases: z.array(z.string()).optional().nullable(),
  model_id: strOpt,
  storage_location: strOpt,
});

const metricJson = z.object({
  key: z.string(),
  value: double,
  timestamp: int64Opt,
  step: int64Opt,
  dataset_name: strOpt,
  dataset_digest: strOpt,
});

const datasetJson = z.object({
  name: z.string(),
  digest: z.string(),
  source_type: z.string(),
  source: z.string(),
  schema: strOpt,
  profile: strOpt,
});

const runJson = z.object({
  info: z.object({
    run_id: strOpt,
    run_uuid: strOpt,
    run_name: strOpt,
    experiment_id: z.union([z.string(), z.number()]).transform(String).optional().nullable(),
    user_id: strOpt,
    status: strOpt,
    start_time: int64Opt,
    end_time: int64Opt,
    artifact_uri: strOpt,
    lifecycle_stage: strOpt,
  }),
  data: z
    .object({
      metrics: z.array(metricJson).optional().nullable(),
      params: tagsJson,
      tags: tagsJson,
    })
    .optional()
    .nullable(),
  inputs: z
    .object({
      dataset_inputs: z
        .array(z.object({ tags: tagsJson, dataset: datasetJson }))
        .optional()
        .nullable(),
    })
    .optional()
    .nullable(),
});

const loggedModelJson = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.union([z.string(), z.number()]).transform(String).optional().nullable(),
    name: strOpt,
    creation_timestamp_ms: int64Opt,
    artifact_uri: strOpt,
    status: z.union([z.string(), z.number()]).transform(String).optional().nullable(),
    creator_id: z.union([z.string(), z.number()]).transform(String).optional().nullable(),
    model_type: strOpt,
    source_run_id: strOpt,
    tags: tagsJson,
    registrations: z
      .array(z.object({ name: z.string(), version: z.union([z.string(), z.number()]).transform(String) }))
      .optional()
      .nullable(),
  }),
  data: z
    .object({ params: tagsJson, metrics: z.array(metricJson).optional().nullable() })
    .optional()
    .nullable(),
});

const fileInfoJson = z.object({
  path: z.string(),
  is_dir: z.boolean().optional().nullable(),
  file_size: int64Opt,
});
const fileListJson = z.object({
  root_uri: strOpt,
  files: z.array(fileInfoJson).optional().nullable(),
  next_page_token: strOpt,
});

const opt = <T>(v: T | null | undefined): T | undefined => (v === null || v === undefined || v === '' ? undefined : v);
/** A page of `artifacts/list`-shaped file infos as tree entries. */
const entries = (files: z.infer<typeof fileListJson>['files']) =>
  (files ?? []).map((f) => ({ path: f.path, isDir: f.is_dir ?? false, size: opt(f.file_size) }));
const tags = (list: z.infer<typeof tagsJson>): Tag[] =>
  (list ?? []).map((t) => ({ key: t.key, value: t.value ?? '' })).sort((a, b) => compare(a.key, b.key));

function toRegisteredModel(j: z.infer<typeof registeredModelJson>): RegisteredModel {
  return {
    name: j.name,
    description: opt(j.description),
    createdMs: opt(j.creation_timestamp),
    updatedMs: opt(j.last_updated_timestamp),
    tags: tags(j.tags),
    aliases: (j.aliases ?? []).map((a) => ({ alias: a.alias, version: a.version })),
  };
}

function toModelVersion(j: z.infer<typeof modelVersionJson>): ModelVersion {
  return {
    name: j.name,
    version: j.version,
    description: opt(j.description),
    createdMs: opt(j.creation_timestamp),
    updatedMs: opt(j.last_updated_timestamp),
    userId: opt(j.user_id),
    stage: opt(j.current_stage),
    source: opt(j.source),
    runId: opt(j.run_id),
    status: opt(j.status),
    statusMessage: opt(j.status_message),
    tags: tags(j.tags),
    aliases: [...(j.aliases ?? [])].sort(compare),
    modelId: opt(j.model_id),
    storageLocation: opt(j.storage_location),
  };
}

function toMetric(j: z.infer<typeof metricJson>): Metric {
  return {
    key: j.key,
    value: j.value,
    timestampMs: opt(j.timestamp),
    step: j.step ?? 0,
    datasetName: opt(j.dataset_name),
    datasetDigest: opt(j.dataset_digest),
  };
}

function toRun(j: z.infer<typeof runJson>, requested: string): Run {
  const i = j.info;
  const inputs: DatasetInput[] = (j.inputs?.dataset_inputs ?? []).map((d) => ({
    tags: tags(d.tags),
    dataset: {
      name: d.dataset.name,
      digest: d.dataset.digest,
      sourceType: d.dataset.source_type,
      source: d.dataset.source,
      schema: opt(d.dataset.schema),
      profile: opt(d.dataset.profile),
    },
  }));
  return {
    runId: opt(i.run_id) ?? opt(i.run_uuid) ?? requested,
    runName: opt(i.run_name),
    experimentId: opt(i.experiment_id),
    userId: opt(i.user_id),
    status: opt(i.status),
    startMs: opt(i.start_time),
    endMs: opt(i.end_time),
    artifactUri: opt(i.artifact_uri),
    lifecycleStage: opt(i.lifecycle_stage),
    params: tags(j.data?.params),
    metrics: latestMetrics((j.data?.metrics ?? []).map(toMetric)),
    tags: tags(j.data?.tags),
    datasetInputs: inputs,
  };
}

function toLoggedModel(j: z.infer<typeof loggedModelJson>): LoggedModel {
  const i = j.info;
  return {
    modelId: i.model_id,
    name: opt(i.name),
    experimentId: opt(i.experiment_id),
    artifactUri: opt(i.artifact_uri),
    status: opt(i.status),
    sourceRunId: opt(i.source_run_id),
    createdMs: opt(i.creation_timestamp_ms),
    creatorId: opt(i.creator_id),
    modelType: opt(i.model_type),
    tags: tags(i.tags),
    params: tags(j.data?.params),
    metrics: latestMetrics((j.data?.metrics ?? []).map(toMetric)),
    registrations: (i.registrations ?? []).map((r) => ({ name: r.name, version: r.version })),
  };
}

/** An MLflow search filter string literal. */
export function filterLiteral(value: string): string {
  return value.includes("'") ? `"${value.replaceAll('"', '\\"')}"` : `'${value}'`;
}

/** Most pages followed in one listing: a server that keeps sending tokens must not loop forever. */
const MAX_PAGES = 10_000;

export interface RestBackendOptions {
  /** The tracking URI as given (it may carry `user:password@`, which becomes basic auth). */
  trackingUri: string;
  options: ResolvedMlflowOptions;
  ctx: SourceContext;
  /** Where downloaded artifacts are kept for the scanner (created lazily by the caller). */
  tempDir: () => Promise<string>;
}

/**
 * The REST API 2.0 of an MLflow tracking server (or Databricks workspace), read with core's
 * httpRequest/httpJson: bounded retries, Retry-After, timeouts, errors without credentials.
 * @throws {MlbomError} INVALID_INPUT when the tracking URI is not an http(s) URL
 */
export function restBackend(input: RestBackendOptions): MlflowBackend {
  const { options, ctx } = input;
  let url: URL;
  try {
    url = new URL(input.trackingUri);
  } catch (error) {
    throw new MlbomError('INVALID_INPUT', `${safeUri(input.trackingUri)}: not a usable MLflow tracking URI`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MlbomError(
      'INVALID_INPUT',
      `${safeUri(input.trackingUri)}: unsupported MLflow tracking URI scheme "${url.protocol}" (use http(s):// or a file store)`,
    );
  }
  // Credentials in the URL become basic auth (fetch refuses URLs with credentials); explicit options win.
  let auth = options.auth;
  if (!auth && url.username) {
    auth = {
      kind: 'basic',
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  }
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const base = url.toString().replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (auth?.kind === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  } else if (auth?.kind === 'bearer') {
    headers.authorization = `Bearer ${auth.token}`;
  }

  const request = (subject: string, path: string, timeoutMs = options.timeoutMs): HttpRequestOptions => ({
    fetch: ctx.fetch,
    url: `${base}${path}`,
    subject,
    headers,
    signal: ctx.signal,
    timeoutMs,
    retries: options.retries,
    authHint: options.authHint,
  });
  const api = <T>(
    subject: string,
    endpoint: string,
    query: Record<string, string | undefined>,
    schema: z.ZodType<T>,
  ) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const qs = params.toString();
    return httpJson(request(subject, `/api/2.0/mlflow/${endpoint}${qs ? `?${qs}` : ''}`), schema);
  };

  async function paginate<T>(
    subject: string,
    fetchPage: (token: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
  ): Promise<T[]> {
    const all: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { items, next } = await fetchPage(token);
      all.push(...items);
      if (!next) return all;
      if (seen.has(next)) throw new MlbomError('SOURCE_FAILED', `${subject}: the server repeated page token "${next}"`);
      seen.add(next);
      token = next;
    }
    throw new MlbomError('SOURCE_FAILED', `${subject}: more than ${MAX_PAGES} pages; stopped`);
  }

  const encodePath = (path: string) => path.split('/').filter(Boolean).map(encodeURIComponent).join('/');

  /** A tree listed by `list(dir)` (one level) and read by `url(path)`. */
  function tree(
    location: string,
    listDir: (dir: string) => Promise<Array<{ path: string; isDir: boolean; size: number | undefined }>>,
    fileUrl: (path: string) => string,
  ): ArtifactTree {
    const download = async (path: string, timeoutMs: number) =>
      httpRequest({ ...request(`artifact ${location}/${path}`, ''), url: fileUrl(path), timeoutMs });
    return {
      location,
      local: false,
      async list(limit) {
        const files: ArtifactEntry[] = [];
        const queue = [''];
        const visited = new Set<string>();
        while (queue.length > 0) {
          const dir = queue.shift() as string;
          if (visited.has(dir)) continue;
          visited.add(dir);
          for (const entry of await listDir(dir)) {
            const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
            if (name === '' || name === '.' || name === '..') continue;
            const rel = dir ? `${dir}/${name}` : name;
            if (entry.isDir) queue.push(rel);
            else {
              if (files.length >= limit)
                return { files: files.sort((a, b) => compare(a.path, b.path)), truncated: true };
              files.push({ path: rel, ...(entry.size !== undefined ? { size: entry.size } : {}) });
            }
          }
        }
        return { files: files.sort((a, b) => compare(a.path, b.path)), truncated: false };
      },
      async readText(path, maxBytes) {
        let response: Response;
        try {
          response = await download(path, options.timeoutMs);
        } catch (error) {
          if (error instanceof MlbomError && error.code === 'NOT_FOUND') return undefined;
          throw error;
        }
        const { bytes, size } = await readCapped(response, maxBytes);
        return {
          text: Buffer.from(bytes).toString('utf8'),
          size,
          // A hash of the prefix would pass for the file's: only a file read whole is hashed here.
          ...(size <= maxBytes ? { sha256: createHash('sha256').update(bytes).digest('hex') } : {}),
        };
      },
      async fetch(path, fetchOptions) {
        const response = await download(path, options.downloadTimeoutMs);
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        if (Number.isFinite(declared) && declared > fetchOptions.maxBytes) {
          await response.body?.cancel();
          throw new MlbomError(
            'SOURCE_FAILED',
            `${location}/${path}: larger than ${fetchOptions.maxBytes} bytes; not downloaded`,
          );
        }
        return streamToHash(response, `${location}/${path}`, fetchOptions, input.tempDir, ctx);
      },
    };
  }

  function runTree(runId: string, root: string, location: string): ArtifactTree {
    const join = (dir: string) => [root, dir].filter(Boolean).join('/');
    return tree(
      location,
      async (dir) => {
        const subject = `artifacts of run ${runId}${join(dir) ? ` at ${join(dir)}` : ''}`;
        return entries(
          await paginate(subject, async (token) => {
            const page = await api(
              subject,
              'artifacts/list',
              { run_id: runId, path: join(dir) || undefined, page_token: token },
              fileListJson,
            );
            return { items: page.files ?? [], next: opt(page.next_page_token) };
          }),
        );
      },
      (path) => `${base}/get-artifact?${new URLSearchParams({ path: join(path), run_uuid: runId })}`,
    );
  }

  function proxyTree(artifactPath: string, location: string): ArtifactTree {
    const root = artifactPath.replace(/^\/+|\/+$/g, '');
    const join = (dir: string) => [root, dir].filter(Boolean).join('/');
    return tree(
      location,
      async (dir) => {
        const subject = `artifacts at ${location}${dir ? `/${dir}` : ''}`;
        const qs = new URLSearchParams({ path: join(dir) });
        const page = await httpJson(request(subject, `/api/2.0/mlflow-artifacts/artifacts?${qs}`), fileListJson);
        return entries(page.files);
      },
      (path) => `${base}/api/2.0/mlflow-artifacts/artifacts/${encodePath(join(path))}`,
    );
  }

  function loggedModelTree(model: LoggedModel): ArtifactTree {
    const location = safeUri(model.artifactUri ?? `models:/${model.modelId}`);
    const proxied = model.artifactUri?.startsWith('mlflow-artifacts:') ? proxyPath(model.artifactUri) : undefined;
    if (proxied !== undefined) return proxyTree(proxied, location);
    const id = encodeURIComponent(model.modelId);
    return tree(
      location,
      async (dir) => {
        const subject = `artifacts of logged model ${model.modelId}`;
        return entries(
          await paginate(subject, async (token) => {
            const params = new URLSearchParams();
            if (dir) params.set('artifact_directory_path', dir);
            if (token) params.set('page_token', token);
            const qs = params.toString();
            const page = await httpJson(
              request(subject, `/api/2.0/mlflow/logged-models/${id}/artifacts/directories${qs ? `?${qs}` : ''}`),
              fileListJson,
            );
            return { items: page.files ?? [], next: opt(page.next_page_token) };
          }),
        );
      },
      (path) =>
        `${base}/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?${new URLSearchParams({ artifact_file_path: path })}`,
    );
  }

  const backend: MlflowBackend = {
    kind: 'rest',
    repositoryUrl: base,
    display: base,
    versionUrl: (name, version) =>
      `${base}/#/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`,
    async searchRegisteredModels(filter, subject) {
      const list = await paginate(subject, async (token) => {
        const page = await api(
          subject,
          'registered-models/search',
          { filter, max_results: '1000', page_token: token },
          z.object({ registered_models: z.array(registeredModelJson).optional().nullable(), next_page_token: strOpt }),
        );
        return { items: page.registered_models ?? [], next: opt(page.next_page_token) };
      });
      return list.map(toRegisteredModel).sort((a, b) => compare(a.name, b.name));
    },
    async getRegisteredModel(name, subject) {
      const r = await api(
        subject,
        'registered-models/get',
        { name },
        z.object({ registered_model: registeredModelJson }),
      );
      return toRegisteredModel(r.registered_model);
    },
    async searchModelVersions(name, subject) {
      const list = await paginate(subject, async (token) => {
        const page = await api(
          subject,
          'model-versions/search',
          { filter: `name=${filterLiteral(name)}`, page_token: token },
          z.object({ model_versions: z.array(modelVersionJson).optional().nullable(), next_page_token: strOpt }),
        );
        return { items: page.model_versions ?? [], next: opt(page.next_page_token) };
      });
      // The filter is exact, but a server may match case-insensitively: keep only this model.
      return list.map(toModelVersion).filter((v) => v.name === name);
    },
    async getModelVersion(name, version, subject) {
      const r = await api(
        subject,
        'model-versions/get',
        { name, version },
        z.object({ model_version: modelVersionJson }),
      );
      return toModelVersion(r.model_version);
    },
    async getModelVersionByAlias(name, alias, subject) {
      const r = await api(
        subject,
        'registered-models/alias',
        { name, alias },
        z.object({ model_version: modelVersionJson }),
      );
      return toModelVersion(r.model_version);
    },
    async getRun(runId, subject) {
      const r = await api(subject, 'runs/get', { run_id: runId }, z.object({ run: runJson }));
      return toRun(r.run, runId);
    },
    async getLoggedModel(modelId, subject) {
      const r = await httpJson(
        request(subject, `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`),
        z.object({ model: loggedModelJson }),
      );
      return toLoggedModel(r.model);
    },
    async listExperiments(subject) {
      const list = await paginate(subject, async (token) => {
        const page = await httpJson(
          {
            ...request(subject, '/api/2.0/mlflow/experiments/search'),
            method: 'POST',
            body: JSON.stringify({
              max_results: 1000,
              view_type: 'ACTIVE_ONLY',
              ...(token ? { page_token: token } : {}),
            }),
          },
          z.object({
            experiments: z
              .array(z.object({ experiment_id: z.union([z.string(), z.number()]).transform(String) }))
              .optional()
              .nullable(),
            next_page_token: strOpt,
          }),
        );
        return { items: page.experiments ?? [], next: opt(page.next_page_token) };
      });
      return [...new Set(list.map((e) => e.experiment_id))];
    },
    async searchLoggedModels(experimentIds, subject) {
      const out: LoggedModel[] = [];
      // A search names at most 100 experiments here; larger registries are searched in slices.
      for (let i = 0; i < experimentIds.length; i += 100) {
        const slice = experimentIds.slice(i, i + 100);
        const list = await paginate(subject, async (token) => {
          const page = await httpJson(
            {
              ...request(subject, '/api/2.0/mlflow/logged-models/search'),
              method: 'POST',
              body: JSON.stringify({
                experiment_ids: slice,
                max_results: 100,
                ...(token ? { page_token: token } : {}),
              }),
            },
            z.object({ models: z.array(loggedModelJson).optional().nullable(), next_page_token: strOpt }),
          );
          return { items: page.models ?? [], next: opt(page.next_page_token) };
        });
        out.push(...list.map(toLoggedModel));
      }
      return out;
    },
    async modelVersionArtifacts(version, loggedModel) {
      const subject = `model version ${version.name}/${version.version}`;
      let artifactUri: string | undefined;
      try {
        const r = await api(
          subject,
          'model-versions/get-download-uri',
          { name: version.name, version: version.version },
          z.object({ artifact_uri: z.string() }),
        );
        artifactUri = r.artifact_uri;
      } catch (error) {
        if (error instanceof MlbomError && (error.code === 'AUTH' || error.code === 'ABORTED')) throw error;
        ctx.logger.debug(`${subject}: no download URI (${error instanceof Error ? error.message : String(error)})`);
      }
      const uri = artifactUri ?? version.storageLocation ?? version.source ?? '';
      const location = safeUri(uri || `models:/${version.name}/${version.version}`);
      const proxied = uri.startsWith('mlflow-artifacts:') ? proxyPath(uri) : undefined;
      if (proxied !== undefined) return proxyTree(proxied, location);
      const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(version.source ?? '');
      if (runs) return runTree(runs[1] as string, (runs[2] ?? '').replace(/\/+$/, ''), location);
      if (loggedModel) return loggedModelTree(loggedModel);
      if (version.runId) {
        // A source inside the run's artifact root (s3://bucket/1/<run>/artifacts/model): list it through the run.
        const inRun = new RegExp(`/${version.runId}/artifacts/?(.*)$`).exec(uri);
        if (inRun) return runTree(version.runId, (inRun[1] ?? '').replace(/\/+$/, ''), location);
      }
      // Artifacts the server cannot list for us (s3://, gs://... without the artifact proxy): their
      // files can still be read one by one through model-versions/get-artifact.
      const params = (path: string) =>
        new URLSearchParams({ path, name: version.name, version: version.version }).toString();
      const byFile = tree(
        location,
        async () => {
          throw new MlbomError(
            'SOURCE_FAILED',
            `${subject}: artifacts at ${location} cannot be listed through the tracking server; MLmodel and its environment files are read one by one`,
          );
        },
        (path) => `${base}/model-versions/get-artifact?${params(path)}`,
      );
      return byFile;
    },
    runArtifacts(run, path) {
      const root = path.replace(/^\/+|\/+$/g, '');
      return runTree(run.runId, root, safeUri(`${run.artifactUri ?? `runs:/${run.runId}`}${root ? `/${root}` : ''}`));
    },
    loggedModelArtifacts: loggedModelTree,
    async close() {},
  };
  return backend;
}

/** The path part of an `mlflow-artifacts:` URI (`mlflow-artifacts:/1/<run>/artifacts/model`, or with a host). */
export function proxyPath(uri: string): string | undefined {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?(\/.*)?$/.exec(uri);
  if (!match) return undefined;
  return (match[1] ?? '').replace(/^\/+/, '');
}

async function readCapped(response: Response, maxBytes: number): Promise<{ bytes: Uint8Array; size: number }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let kept = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (kept < maxBytes) {
        const part = chunk.subarray(0, maxBytes - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (size > maxBytes) {
        await response.body.cancel().catch(() => {});
        break;
      }
    }
  }
  return { bytes: Buffer.concat(chunks), size };
}

let tempCounter = 0;

async function streamToHash(
  response: Response,
  label: string,
  options: { keep: boolean; hash: boolean; maxBytes: number },
  tempDir: () => Promise<string>,
  ctx: SourceContext,
): Promise<FetchedArtifact> {
  const hash = options.hash ? createHash('sha256') : undefined;
  const path = options.keep ? join(await tempDir(), `artifact-${process.pid}-${++tempCounter}`) : undefined;
  const handle = path ? await open(path, 'w') : undefined;
  let size = 0;
  let head = new Uint8Array(0);
  try {
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${label}: aborted`);
        if (head.length < 64) head = Buffer.concat([head, chunk.subarray(0, 64 - head.length)]);
        size += chunk.length;
        if (size > options.maxBytes) {
          await response.body.cancel().catch(() => {});
          throw new MlbomError('SOURCE_FAILED', `${label}: larger than ${options.maxBytes} bytes; download stopped`);
        }
        hash?.update(chunk);
        if (handle) await handle.write(chunk);
        ctx.progress.advance(chunk.length);
      }
    }
  } catch (error) {
    await handle?.close().catch(() => {});
    if (path) await rm(path, { force: true });
    if (error instanceof MlbomError) throw error;
    throw new MlbomError(
      'SOURCE_FAILED',
      `${label}: download failed (${error instanceof Error ? error.message : String(error)})`,
      {
        cause: error,
      },
    );
  }
  await handle?.close();
  const bytes = path ? await fileByteSource(path) : undefined;
  return {
    size,
    head,
    ...(hash ? { sha256: hash.digest('hex') } : {}),
    ...(bytes ? { bytes } : {}),
    async release() {
      await bytes?.close().catch(() => {});
      if (path) await rm(path, { force: true });
    },
  };
}
