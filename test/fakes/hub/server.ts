import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Content, gitBlobSha1, sha256Hex } from './content.js';

/** One file of a fake repo. LFS files are listed with their sha256 and size, as the Hub does. */
export interface FakeFile {
  path: string;
  content: Content;
  lfs?: boolean;
  /** For generated (padded) LFS files: the declared sha256 (the Hub's metadata is trusted, not recomputed). */
  sha256?: string;
  securityFileStatus?: unknown;
}

/** A fault served instead of the real answer, consumed one per request to the repo. */
export interface Fault {
  status: number;
  retryAfter?: string;
}

export interface FakeRepo {
  type: 'model' | 'dataset';
  id: string;
  /** Branches and tags → commit; `main` is the default branch. */
  refs: Record<string, string>;
  /** Extra fields of the info JSON (cardData, tags, config, pipeline_tag, safetensors, gguf, baseModels...). */
  info: Record<string, unknown>;
  files: FakeFile[];
  gated?: 'auto' | 'manual';
  private?: boolean;
  faults?: Fault[];
  /** Every request answers this status (a broken repo). */
  alwaysStatus?: number;
  /** Every answer waits this long (a hanging server, for timeouts). */
  delayMs?: number;
}

export interface RequestRecord {
  method: string;
  /** Path and query as received. */
  url: string;
  status: number;
  range?: string | undefined;
  /** Body bytes sent. */
  bytes: number;
  /** Whether an Authorization header came with the request. */
  authorized: boolean;
  /** For file downloads: `<repo id>/<path>`. */
  file?: string | undefined;
}

export interface FakeHubOptions {
  repos: FakeRepo[];
  /** Tokens that may read gated and private repos. */
  grantedTokens?: string[];
  /** Entries per page of the tree listing (default 50), to exercise Link pagination. */
  pageSize?: number;
}

export interface FakeHub {
  url: string;
  requests: RequestRecord[];
  /** Body bytes served for file downloads whose path matches. */
  bytesServed(match?: (file: string) => boolean): number;
  reset(): void;
  close(): Promise<void>;
}

interface Resolved {
  repo: FakeRepo;
  commit: string;
}

const hashes = new WeakMap<FakeFile, { sha256: string; oid: string }>();

function fileHashes(file: FakeFile): { sha256: string; oid: string } {
  let known = hashes.get(file);
  if (!known) {
    const bytes = file.sha256 === undefined || !file.lfs ? file.content.read(0, file.content.size) : undefined;
    const sha256 = file.sha256 ?? sha256Hex(bytes as Uint8Array);
    // The git object of an LFS file is its pointer; its id only needs to be stable here.
    const oid = file.lfs
      ? gitBlobSha1(new TextEncoder().encode(`lfs pointer ${sha256} ${file.content.size}`))
      : gitBlobSha1(bytes as Uint8Array);
    known = { sha256, oid };
    hashes.set(file, known);
  }
  return known;
}

const fileSha256 = (file: FakeFile): string => fileHashes(file).sha256;
const fileOid = (file: FakeFile): string => fileHashes(file).oid;

function treeEntry(file: FakeFile, expand: boolean): Record<string, unknown> {
  return {
    type: 'file',
    oid: fileOid(file),
    size: file.lfs ? 134 : file.content.size,
    path: file.path,
    ...(file.lfs ? { lfs: { oid: fileSha256(file), size: file.content.size, pointerSize: 134 } } : {}),
    ...(expand
      ? {
          lastCommit: { id: '0'.repeat(40), title: 'Upload', date: '2024-01-01T00:00:00.000Z' },
          securityFileStatus: file.securityFileStatus ?? { status: 'safe' },
        }
      : {}),
  };
}

/**
 * A fake Hugging Face Hub on 127.0.0.1: the REST shapes and headers @huggingface/hub and mlbom use
 * (info with expand/blobs, tree with Link pagination, paths-info, resolve with Range → 206), quoted
 * ETags, X-Error-Code and X-Request-Id, gated (401/403) and private repos, and scripted faults.
 */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const pageSize = options.pageSize ?? 50;
  const granted = new Set(options.grantedTokens ?? []);
  const requests: RequestRecord[] = [];
  let requestCounter = 0;
  let base = '';

  const key = (type: string, id: string) => `${type}:${id.toLowerCase()}`;
  const repos = new Map(options.repos.map((r) => [key(r.type, r.id), r]));

  const handle = async (req: IncomingMessage, res: ServerResponse, record: RequestRecord): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        ...headers,
      });
      record.status = status;
      record.bytes = req.method === 'HEAD' ? 0 : Buffer.byteLength(text);
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      send(status, { error: message }, { 'x-error-code': code, 'x-error-message': message, ...headers });

    const canRead = (repo: FakeRepo, forContent: boolean): boolean => {
      if (repo.private && !(token && granted.has(token))) {
        if (token) error(404, 'RepoNotFound', 'Repository not found');
        else error(401, 'RepoNotFound', 'Invalid username or password.');
        return false;
      }
      if (forContent && repo.gated && !(token && granted.has(token))) {
        const kind = repo.type === 'dataset' ? 'dataset' : 'model';
        if (token) {
          error(
            403,
            'GatedRepo',
            `Access to ${kind} ${repo.id} is restricted and you are not in the authorized list. Visit ${base}/${repo.id} to ask for access.`,
          );
        } else {
          error(
            401,
            'GatedRepo',
            `Access to ${kind} ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
          );
        }
        return false;
      }
      return true;
    };

    /** Finds the repo and revision, answering the error itself when there is none. */
    const resolve = async (
      type: string,
      id: string,
      revision: string | undefined,
      forContent: boolean,
    ): Promise<Resolved | undefined> => {
      const repo = repos.get(key(type, id));
      if (repo?.delayMs) await new Promise((r) => setTimeout(r, repo.delayMs));
      if (!repo) {
        error(404, 'RepoNotFound', 'Repository not found');
        return undefined;
      }
      const fault = repo.faults?.shift();
      if (fault) {
        error(
          fault.status,
          'Fault',
          `scripted fault ${fault.status}`,
          fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
        );
        return undefined;
      }
      if (repo.alwaysStatus) {
        error(repo.alwaysStatus, 'Internal', 'Internal Error - We are working on it');
        return undefined;
      }
      if (!canRead(repo, forContent)) return undefined;
      const rev = revision === undefined || revision === 'HEAD' ? 'main' : revision;
      const commits = new Set(Object.values(repo.refs));
      const commit = repo.refs[rev] ?? (commits.has(rev.toLowerCase()) ? rev.toLowerCase() : undefined);
      if (!commit) {
        error(404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
        return undefined;
      }
      return { repo, commit };
    };

    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/(models|datasets)\/(.+)$/.exec(path);
    if (api) {
      const type = api[1] === 'models' ? 'model' : 'dataset';
      const rest = api[2] as string;
      const tree = /^(.+?)\/tree\/([^/]+)(?:\/(.*))?$/.exec(rest);
      const pathsInfo = /^(.+?)\/paths-info\/([^/]+)$/.exec(rest);
      const revisionInfo = /^(.+?)\/revision\/([^/]+)$/.exec(rest);
      if (tree) {
        const found = await resolve(type, tree[1] as string, tree[2], false);
        if (!found) return;
        const prefix = tree[3] ? `${tree[3]}/` : '';
        const recursive = url.searchParams.get('recursive') === 'true';
        const expand = url.searchParams.get('expand') === 'true';
        const files = found.repo.files
          .filter((f) => f.path.startsWith(prefix))
          .sort((a, b) => (a.path < b.path ? -1 : 1));
        let entries: Record<string, unknown>[];
        if (recursive) entries = files.map((f) => treeEntry(f, expand));
        else {
          const dirs = new Set<string>();
          entries = [];
          for (const f of files) {
            const below = f.path.slice(prefix.length);
            const slash = below.indexOf('/');
            if (slash < 0) entries.push(treeEntry(f, expand));
            else dirs.add(prefix + below.slice(0, slash));
          }
          for (const d of dirs)
            entries.push({ type: 'directory', oid: gitBlobSha1(new TextEncoder().encode(d)), size: 0, path: d });
        }
        const cursor = Number(url.searchParams.get('cursor') ?? '0');
        const page = entries.slice(cursor, cursor + pageSize);
        const headers: Record<string, string> = {};
        if (cursor + pageSize < entries.length) {
          const next = new URL(url.href);
          next.searchParams.set('cursor', String(cursor + pageSize));
          headers.link = `<${next.href}>; rel="next"`;
        }
        send(200, page, headers);
        return;
      }
      if (pathsInfo && req.method === 'POST') {
        const found = await resolve(type, pathsInfo[1] as string, pathsInfo[2], false);
        if (!found) return;
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
          paths?: string[];
          expand?: boolean;
        };
        const wanted = new Set(body.paths ?? []);
        send(
          200,
          found.repo.files.filter((f) => wanted.has(f.path)).map((f) => treeEntry(f, body.expand === true)),
        );
        return;
      }
      const id = revisionInfo ? (revisionInfo[1] as string) : rest;
      const found = await resolve(type, id, revisionInfo?.[2], false);
      if (!found) return;
      const { repo, commit } = found;
      const full: Record<string, unknown> = {
        _id: sha256Hex(repo.id).slice(0, 24),
        id: repo.id,
        ...(repo.type === 'model' ? { modelId: repo.id } : {}),
        author: repo.id.includes('/') ? repo.id.split('/')[0] : undefined,
        sha: commit,
        lastModified: '2024-05-01T12:00:00.000Z',
        createdAt: '2023-01-01T00:00:00.000Z',
        private: repo.private === true,
        gated: repo.gated ?? false,
        disabled: false,
        downloads: 1234,
        likes: 56,
        tags: [],
        ...repo.info,
      };
      const expand = url.searchParams.getAll('expand');
      if (url.searchParams.get('blobs') === 'true' || expand.includes('siblings')) {
        full.siblings = repo.files.map((f) => ({
          rfilename: f.path,
          size: f.content.size,
          blobId: fileOid(f),
          ...(f.lfs ? { lfs: { sha256: fileSha256(f), size: f.content.size, pointerSize: 134 } } : {}),
        }));
      }
      if (expand.length === 0) {
        send(200, full);
        return;
      }
      // With expand, the Hub answers only _id, id and the keys asked for.
      const out: Record<string, unknown> = { _id: full._id, id: full.id };
      for (const k of expand) if (full[k] !== undefined) out[k] = full[k];
      send(200, out);
      return;
    }

    const download = /^\/(datasets\/)?(.+?)\/(resolve|raw)\/([^/]+)\/(.+)$/.exec(path);
    if (download && (req.method === 'GET' || req.method === 'HEAD')) {
      const type = download[1] ? 'dataset' : 'model';
      const found = await resolve(type, download[2] as string, download[4], true);
      if (!found) return;
      const filePath = download[5] as string;
      const file = found.repo.files.find((f) => f.path === filePath);
      if (!file) {
        error(404, 'EntryNotFound', `${filePath} does not exist on "${download[4]}"`);
        return;
      }
      record.file = `${found.repo.id}/${filePath}`;
      const size = file.content.size;
      const etag = file.lfs ? fileSha256(file) : fileOid(file);
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        etag: `"${etag}"`,
        'x-repo-commit': found.commit,
        ...(file.lfs ? { 'x-linked-etag': `"${etag}"`, 'x-linked-size': String(size) } : {}),
      };
      const range = req.headers.range;
      record.range = range;
      let start = 0;
      let end = size - 1;
      let status = 200;
      if (range) {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range);
        if (!m || (m[1] === '' && m[2] === '')) {
          error(416, 'RangeNotSatisfiable', 'bad range', { 'content-range': `bytes */${size}` });
          return;
        }
        if (m[1] === '') {
          start = Math.max(0, size - Number(m[2]));
        } else {
          start = Number(m[1]);
          end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
        }
        if (start >= size || start > end) {
          error(416, 'RangeNotSatisfiable', 'range not satisfiable', { 'content-range': `bytes */${size}` });
          return;
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${size}`;
      }
      const length = Math.max(0, end - start + 1);
      headers['content-length'] = String(length);
      res.writeHead(status, headers);
      record.status = status;
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      // Stream in chunks so a client that reads only part of a huge file can stop early.
      let sent = 0;
      const CHUNK = 64 * 1024;
      const writeMore = (): void => {
        while (sent < length) {
          const n = Math.min(CHUNK, length - sent);
          const chunk = file.content.read(start + sent, n);
          sent += chunk.length;
          record.bytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', writeMore);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => {
        res.removeAllListeners('drain');
      });
      writeMore();
      return;
    }
    error(404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
  };

  const server: Server = createServer((req, res) => {
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      status: 0,
      bytes: 0,
      authorized: req.headers.authorization !== undefined,
    };
    requests.push(record);
    res.setHeader('x-request-id', `Root=1-fake-${++requestCounter}`);
    handle(req, res, record).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    bytesServed: (match) =>
      requests.filter((r) => r.file !== undefined && (match ? match(r.file) : true)).reduce((n, r) => n + r.bytes, 0),
    reset() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
