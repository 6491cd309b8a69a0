// A fake MLflow tracking server: a real node:http server on 127.0.0.1 (port 0) speaking the REST API
// 2.0 JSON shapes, MLflow's error bodies, next_page_token pagination, basic/bearer auth, and the
// artifact routes (get-artifact, model-versions/get-artifact, the mlflow-artifacts proxy, MLflow 3
// logged-model files). Its content is the hand-built file store in test/fixtures/mlruns.
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type FakeRegistry, type Json, loadRegistry } from './registry.js';

export const fixtureStore = resolve(import.meta.dirname, '..', '..', 'fixtures', 'mlruns');

export interface Fault {
  /** Matched against the path and query, e.g. `/api/2.0/mlflow/runs/get?run_id=...` (substring). */
  match: string;
  status: number;
  /** How many requests fail (default: all). */
  times?: number;
  retryAfter?: string;
  errorCode?: string;
}

export interface FakeMlflowOptions {
  auth?: { username: string; password: string } | { token: string };
  /** Items per page of every listing (default 2, to exercise pagination). */
  pageSize?: number;
  /** Runs the server has purged: runs/get answers 404. */
  purgedRuns?: string[];
  faults?: Fault[];
  /** Delay of every answer (ms), for timeout tests. */
  delayMs?: number;
  /** Serve HTTPS with this key and certificate; with `clientCa`, require a client certificate it signed. */
  tls?: { key: string; cert: string; clientCa?: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string | undefined;
}

export interface FakeMlflow {
  url: string;
  registry: FakeRegistry;
  requests: RecordedRequest[];
  /** Artifact files whose bytes were sent, as `<route>:<path>`. */
  downloads: string[];
  faults: Fault[];
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', message);
const badParam = (message: string) => new HttpError(400, 'INVALID_PARAMETER_VALUE', message);

function likeMatches(value: string, pattern: string, insensitive: boolean): boolean {
  const body = [...pattern]
    .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, insensitive ? 'i' : '').test(value);
}

/** The part of MLflow's search grammar the fake needs: `name` with =, LIKE, ILIKE. */
function nameFilter(filter: string | undefined): (name: string) => boolean {
  if (!filter) return () => true;
  const m = /^\s*name\s*(=|LIKE|ILIKE)\s*(['"])(.*)\2\s*$/i.exec(filter);
  if (!m) throw badParam(`Invalid filter '${filter}'`);
  const op = (m[1] as string).toUpperCase();
  const value = m[3] as string;
  return op === '=' ? (n) => n === value : (n) => likeMatches(n, value, op === 'ILIKE');
}

function page<T>(items: T[], query: Record<string, string>, size: number): { items: T[]; next?: string } {
  const max = Math.min(size, Number(query.max_results ?? size) || size);
  const offset = query.page_token ? Number(JSON.parse(Buffer.from(query.page_token, 'base64').toString()).offset) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw badParam('Invalid page token');
  const slice = items.slice(offset, offset + max);
  const nextOffset = offset + max;
  return nextOffset < items.length
    ? { items: slice, next: Buffer.from(JSON.stringify({ offset: nextOffset })).toString('base64') }
    : { items: slice };
}

/** A POST body's paging fields as the query `page()` reads. */
function pageQuery(body: Json): Record<string, string> {
  const q: Record<string, string> = {};
  if (body.max_results !== undefined) q.max_results = String(body.max_results);
  if (typeof body.page_token === 'string') q.page_token = body.page_token;
  return q;
}

/** Files and folders directly in `dir`, as MLflow's FileInfo. */
function listDir(dir: string, prefix: string): Json[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((e) => {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory()
        ? { path, is_dir: true }
        : { path, is_dir: false, file_size: statSync(join(dir, e.name)).size };
    });
}

function safeJoin(root: string, path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw badParam(`Invalid path '${path}'`);
  return join(root, ...parts);
}

export async function startFakeMlflow(options: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const registry = loadRegistry(fixtureStore);
  const pageSize = options.pageSize ?? 2;
  const requests: RecordedRequest[] = [];
  const downloads: string[] = [];
  const faults = [...(options.faults ?? [])];
  const purged = new Set(options.purgedRuns ?? []);

  const runDir = (runId: string) => {
    const run = registry.runs.get(runId);
    if (!run || purged.has(runId)) throw notFound(`Run '${runId}' not found`);
    return join(registry.root, String((run.info as Json).experiment_id), runId, 'artifacts');
  };
  const version = (name: string, v: string) => {
    const list = registry.versions.get(name);
    if (!list) throw notFound(`Registered Model with name=${name} not found`);
    const found = list.find((x) => x.version === v);
    if (!found) throw notFound(`Model Version (name=${name}, version=${v}) not found`);
    return found;
  };
  /** Where a model version's files are, on the fake's disk. */
  const versionDir = (mv: Json): string => {
    const source = String(mv.source);
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (runs) return safeJoin(runDir(runs[1] as string), runs[2] ?? '');
    const logged = /^models:\/(m-[\w-]+)$/.exec(source);
    if (logged) return loggedDir(registry.loggedModels.get(logged[1] as string) as Json);
    // Elsewhere (s3://...): the server reads it from its storage location.
    return proxyDir(source.startsWith('mlflow-artifacts:') ? source : String(mv.storage_location));
  };
  const proxyDir = (uri: string) => safeJoin(registry.root, uri.replace(/^mlflow-artifacts:\/*/, ''));
  /** A logged model's files, wherever its artifact_uri says they are stored. */
  const loggedDir = (model: Json) => {
    const info = model.info as Json;
    return join(registry.root, String(info.experiment_id), 'models', String(info.model_id), 'artifacts');
  };
  const sendFile = (res: ServerResponse, path: string, label: string) => {
    if (!existsSync(path) || !statSync(path).isFile()) throw notFound(`File '${label}' not found`);
    downloads.push(label);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  };

  const api: Record<string, (q: Record<string, string>, res: ServerResponse) => Json | undefined> = {
    'registered-models/search': (q) => {
      const matches = nameFilter(q.filter);
      const all = registry.registeredModels.filter((m) => matches(String(m.name)));
      const p = page(all, q, pageSize);
      // int64s as strings in this listing.
      const items = p.items.map((m) => ({
        ...m,
        creation_timestamp: String(m.creation_timestamp),
        last_updated_timestamp: String(m.last_updated_timestamp),
      }));
      return { registered_models: items, ...(p.next ? { next_page_token: p.next } : {}) };
    },
    'registered-models/get': (q) => {
      const found = registry.registeredModels.find((m) => m.name === q.name);
      if (!found) throw notFound(`Registered Model with name=${q.name} not found`);
      return { registered_model: found };
    },
    'registered-models/alias': (q) => {
      const model = registry.registeredModels.find((m) => m.name === q.name);
      if (!model) throw notFound(`Registered Model with name=${q.name} not found`);
      const alias = (model.aliases as Json[]).find((a) => a.alias === q.alias);
      if (!alias) throw notFound(`Registered model alias ${q.alias} not found.`);
      return { model_version: version(String(q.name), String(alias.version)) };
    },
    'model-versions/search': (q) => {
      const m = /^\s*name\s*=\s*(['"])(.*)\1\s*$/.exec(q.filter ?? '');
      const all = m ? (registry.versions.get(m[2] as string) ?? []) : [...registry.versions.values()].flat();
      const p = page(all, q, pageSize);
      return { model_versions: p.items, ...(p.next ? { next_page_token: p.next } : {}) };
    },
    'model-versions/get': (q) => ({ model_version: version(String(q.name), String(q.version)) }),
    'model-versions/get-download-uri': (q) => {
      const mv = version(String(q.name), String(q.version));
      const source = String(mv.source);
      const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
      if (runs) {
        const run = registry.runs.get(runs[1] as string) as Json;
        return { artifact_uri: `${(run.info as Json).artifact_uri}/${runs[2]}` };
      }
      const logged = /^models:\/(m-[\w-]+)$/.exec(source);
      if (logged)
        return { artifact_uri: ((registry.loggedModels.get(logged[1] as string) as Json).info as Json).artifact_uri };
      return { artifact_uri: source };
    },
    'runs/get': (q) => {
      const runId = q.run_id ?? q.run_uuid ?? '';
      const run = registry.runs.get(runId);
      if (!run || purged.has(runId)) throw notFound(`Run '${runId}' not found`);
      return { run };
    },
    'artifacts/list': (q) => {
      const runId = q.run_id ?? q.run_uuid ?? '';
      const dir = safeJoin(runDir(runId), q.path ?? '');
      const p = page(listDir(dir, q.path ?? ''), q, pageSize);
      return {
        root_uri: ((registry.runs.get(runId) as Json).info as Json).artifact_uri,
        files: p.items,
        ...(p.next ? { next_page_token: p.next } : {}),
      };
    },
  };

  /** MLflow 3 POST endpoints, with a JSON body. */
  const post: Record<string, (body: Json) => Json> = {
    'experiments/search': (body) => {
      const all = registry.experiments.filter((e) => e.lifecycle_stage !== 'deleted');
      const p = page(all, pageQuery(body), pageSize);
      return { experiments: p.items, ...(p.next ? { next_page_token: p.next } : {}) };
    },
    'logged-models/search': (body) => {
      const ids = body.experiment_ids;
      if (!Array.isArray(ids) || ids.length === 0) throw badParam('experiment_ids must be a non-empty list');
      const wanted = new Set(ids.map(String));
      const all = [...registry.loggedModels.values()]
        .filter((m) => wanted.has(String((m.info as Json).experiment_id)))
        .sort((a, b) => ((a.info as Json).model_id as string).localeCompare((b.info as Json).model_id as string));
      const p = page(all, pageQuery(body), pageSize);
      return { models: p.items, ...(p.next ? { next_page_token: p.next } : {}) };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query, authorization: req.headers.authorization });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));

    const auth = options.auth;
    if (auth) {
      const header = req.headers.authorization;
      const expected =
        'token' in auth
          ? `Bearer ${auth.token}`
          : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (!header) {
        throw Object.assign(
          new HttpError(
            401,
            'UNAUTHENTICATED',
            'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.',
          ),
          {},
        );
      }
      if (header !== expected) throw new HttpError(403, 'PERMISSION_DENIED', 'Permission denied');
    }
    const target = `${url.pathname}${url.search}`;
    const fault = faults.find((f) => target.includes(f.match) && (f.times === undefined || f.times > 0));
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(
        JSON.stringify({ error_code: fault.errorCode ?? 'INTERNAL_ERROR', message: `injected HTTP ${fault.status}` }),
      );
      return;
    }

    const path = url.pathname;
    if (path === '/get-artifact') {
      sendFile(res, safeJoin(runDir(query.run_uuid ?? query.run_id ?? ''), query.path ?? ''), `run:${query.path}`);
      return;
    }
    if (path === '/model-versions/get-artifact') {
      const mv = version(String(query.name), String(query.version));
      sendFile(res, safeJoin(versionDir(mv), query.path ?? ''), `model-version:${query.path}`);
      return;
    }
    if (path === '/api/2.0/mlflow-artifacts/artifacts') {
      // The proxy lists one level with base names.
      const dir = safeJoin(registry.root, query.path ?? '');
      const files = listDir(dir, '').map((f) => ({ ...f, path: String(f.path) }));
      sendJson(res, 200, { files });
      return;
    }
    if (path.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      const rel = decodeURIComponent(path.slice('/api/2.0/mlflow-artifacts/artifacts/'.length));
      sendFile(res, safeJoin(registry.root, rel), `proxy:${rel}`);
      return;
    }
    const loggedFiles = /^\/ajax-api\/2\.0\/mlflow\/logged-models\/([^/]+)\/artifacts\/files$/.exec(path);
    if (loggedFiles) {
      const model = registry.loggedModels.get(decodeURIComponent(loggedFiles[1] as string));
      if (!model) throw notFound(`Logged model not found`);
      const rel = query.artifact_file_path ?? '';
      sendFile(res, safeJoin(loggedDir(model), rel), `logged-model:${rel}`);
      return;
    }
    const loggedDirs = /^\/api\/2\.0\/mlflow\/logged-models\/([^/]+)\/artifacts\/directories$/.exec(path);
    if (loggedDirs) {
      const model = registry.loggedModels.get(decodeURIComponent(loggedDirs[1] as string));
      if (!model) throw notFound(`Logged model not found`);
      const sub = query.artifact_directory_path ?? '';
      const p = page(listDir(safeJoin(loggedDir(model), sub), sub), query, pageSize);
      sendJson(res, 200, { files: p.items, ...(p.next ? { next_page_token: p.next } : {}) });
      return;
    }
    const logged = /^\/api\/2\.0\/mlflow\/logged-models\/([^/]+)$/.exec(path);
    if (logged && req.method === 'GET') {
      const model = registry.loggedModels.get(decodeURIComponent(logged[1] as string));
      if (!model) throw notFound(`Logged model with ID '${decodeURIComponent(logged[1] as string)}' not found`);
      sendJson(res, 200, { model });
      return;
    }
    const endpoint = /^\/api\/2\.0\/mlflow\/(.+)$/.exec(path)?.[1];
    const poster = endpoint && req.method === 'POST' ? post[endpoint] : undefined;
    if (poster) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        throw badParam('Malformed JSON request body');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw badParam('Request body must be an object');
      sendJson(res, 200, poster(body as Json));
      return;
    }
    const handler = endpoint && req.method === 'GET' ? api[endpoint] : undefined;
    if (!handler) throw new HttpError(404, 'ENDPOINT_NOT_FOUND', `No API endpoint ${req.method} ${path}`);
    sendJson(res, 200, handler(query, res) ?? {});
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_ERROR', String(error));
      const headers: Record<string, string> = {};
      if (e.status === 401) headers['www-authenticate'] = 'Basic realm="mlflow"';
      if (!res.headersSent) sendJson(res, e.status, { error_code: e.code, message: e.message }, headers);
      else res.destroy();
    });
  };
  const tls = options.tls;
  const server = tls
    ? createTlsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        listener,
      )
    : createServer(listener);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    registry,
    requests,
    downloads,
    faults,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((error) => (error ? fail(error) : done()));
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, (_key, value: unknown) => (value === undefined ? undefined : value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
