import { createHash } from 'node:crypto';
import {
  datasetInfo as hubDatasetInfo,
  downloadFile as hubDownloadFile,
  listFiles as hubListFiles,
  modelInfo as hubModelInfo,
  pathsInfo as hubPathsInfo,
  type RepoDesignation,
} from '@huggingface/hub';
import {
  type ByteSource,
  type HttpRequestOptions,
  httpByteSource,
  httpJson,
  httpRequest,
  MlbomError,
  type SourceContext,
} from '@mlbom/core';
import { z } from 'zod';
import type { ResolvedHuggingFaceOptions } from './options.js';
import type { RepoType } from './target.js';

/** Most files one repo listing may return; a guard against a runaway or hostile server. */
export const MAX_REPO_FILES = 100_000;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Fields a model's and a dataset's info share. */
const repoInfoFields = {
  name: z.string().min(1),
  sha: z.string().regex(/^[0-9a-fA-F]{40}$/, 'a 40-hex commit'),
  private: z.boolean().optional().catch(undefined),
  gated: z
    .union([z.literal(false), z.string()])
    .optional()
    .catch(undefined),
  author: z.string().optional().catch(undefined),
  cardData: z.record(z.string(), z.unknown()).optional().catch(undefined),
  tags: z.array(z.string()).optional().catch(undefined),
};

/** What mlbom reads from a model's info (validated: the Hub's answers are input like any other). */
export const modelInfoSchema = z.looseObject({
  ...repoInfoFields,
  task: z.string().optional().catch(undefined),
  config: z
    .looseObject({
      model_type: z.string().optional().catch(undefined),
      architectures: z.array(z.string()).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
  library_name: z.string().optional().catch(undefined),
  safetensors: z
    .looseObject({
      parameters: z.record(z.string(), z.number()).optional().catch(undefined),
      total: z.number().optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type HubModelInfo = z.output<typeof modelInfoSchema>;

export const datasetInfoSchema = z.looseObject({
  ...repoInfoFields,
  description: z.string().nullish().catch(undefined),
  citation: z.string().nullish().catch(undefined),
});
export type HubDatasetInfo = z.output<typeof datasetInfoSchema>;

/** Extras only the raw REST API gives (`expand=gguf`, `expand=baseModels`). */
export const modelExtrasSchema = z.looseObject({
  gguf: z
    .looseObject({
      total: z.number().optional().catch(undefined),
      architecture: z.string().optional().catch(undefined),
      context_length: z.number().optional().catch(undefined),
      chat_template: z.string().optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
  baseModels: z
    .looseObject({
      relation: z.string().optional().catch(undefined),
      models: z
        .array(z.looseObject({ id: z.string() }))
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type HubModelExtras = z.output<typeof modelExtrasSchema>;

export const fileEntrySchema = z.looseObject({
  type: z.string(),
  path: z.string().min(1),
  size: z.number().int().nonnegative().optional().catch(undefined),
  oid: z.string().optional().catch(undefined),
  lfs: z
    .looseObject({ oid: z.string(), size: z.number().int().nonnegative().optional().catch(undefined) })
    .optional()
    .catch(undefined),
  xetHash: z.string().optional().catch(undefined),
  securityFileStatus: z.unknown().optional(),
});
export type HubFileEntry = z.output<typeof fileEntrySchema>;

export const securityStatusSchema = z.looseObject({
  status: scalar.transform(String).optional().catch(undefined),
  avScan: z
    .looseObject({ status: scalar.transform(String).optional().catch(undefined) })
    .optional()
    .catch(undefined),
  pickleImportScan: z
    .looseObject({
      status: scalar.transform(String).optional().catch(undefined),
      imports: z
        .array(
          z.looseObject({
            module: z.string().optional().catch(undefined),
            name: z.string().optional().catch(undefined),
            safety: z.string().optional().catch(undefined),
          }),
        )
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type HubSecurityStatus = z.output<typeof securityStatusSchema>;

function parsed<T>(schema: z.ZodType<T>, value: unknown, subject: string, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MlbomError(
      'SOURCE_FAILED',
      `${subject}: unexpected ${what} from the Hub at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
    );
  }
  return result.data;
}

/** A downloaded small text file. */
export interface DownloadedText {
  text: string;
  size: number;
  /** SHA-256 of the bytes, when the whole file was read. */
  sha256?: string | undefined;
  /** Git blob SHA-1 of the bytes, when the whole file was read (to compare with the listing's oid). */
  gitOid?: string | undefined;
  truncated: boolean;
}

/**
 * The Hub as mlbom uses it: @huggingface/hub for info, listings and downloads, core's httpJson for
 * the REST calls it does not expose. Every request goes through core's httpRequest (bounded retries,
 * Retry-After, timeouts, redacted errors) by way of the `fetch` handed to @huggingface/hub.
 */
export class HubClient {
  /** Requests made, for debug logging. */
  requests = 0;

  constructor(
    readonly options: ResolvedHuggingFaceOptions,
    readonly ctx: SourceContext,
  ) {}

  get hubUrl(): string {
    return this.options.hubUrl;
  }

  /** A fetch for @huggingface/hub that runs each exchange through httpRequest, naming `subject` in errors. */
  fetchFor(subject: string): typeof globalThis.fetch {
    return async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, key) => {
        headers[key] = value;
      });
      const method = (init?.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') {
        throw new MlbomError('SOURCE_FAILED', `${subject}: unexpected ${method} request`);
      }
      this.requests++;
      return httpRequest({
        ...this.requestOptions(url, subject, headers),
        method,
        ...(typeof init?.body === 'string' ? { body: init.body } : {}),
      });
    };
  }

  /** What every Hub request shares: the context's fetch and signal, the options' timeout, retries and auth hint. */
  private requestOptions(url: string, subject: string, headers: Record<string, string>): HttpRequestOptions {
    return {
      fetch: this.ctx.fetch,
      url,
      subject,
      headers,
      signal: this.ctx.signal,
      timeoutMs: this.options.timeoutMs,
      retries: this.options.retries,
      authHint: this.options.authHint,
    };
  }

  private common(subject: string) {
    return {
      hubUrl: this.options.hubUrl,
      fetch: this.fetchFor(subject),
      ...(this.options.accessToken ? { accessToken: this.options.accessToken } : {}),
    };
  }

  private authHeaders(): Record<string, string> {
    return this.options.accessToken ? { authorization: `Bearer ${this.options.accessToken}` } : {};
  }

  /** @throws {MlbomError} NOT_FOUND, AUTH, SOURCE_FAILED (from httpRequest), ABORTED */
  async modelInfo(id: string, revision: string | undefined, subject: string, full: boolean): Promise<HubModelInfo> {
    const info = await hubModelInfo({
      ...this.common(subject),
      name: id,
      ...(revision !== undefined ? { revision } : {}),
      additionalFields: full
        ? ['author', 'cardData', 'config', 'sha', 'tags', 'library_name', 'safetensors']
        : ['author', 'cardData', 'sha', 'tags', 'library_name'],
    });
    return parsed(modelInfoSchema, info, subject, 'model info');
  }

  /** @throws {MlbomError} as modelInfo */
  async datasetInfo(id: string, revision: string | undefined, subject: string): Promise<HubDatasetInfo> {
    const info = await hubDatasetInfo({
      ...this.common(subject),
      name: id,
      ...(revision !== undefined ? { revision } : {}),
      additionalFields: ['author', 'cardData', 'sha', 'tags', 'description', 'citation'],
    });
    return parsed(datasetInfoSchema, info, subject, 'dataset info');
  }

  /** GGUF summary and Hub-computed lineage, which @huggingface/hub does not request. @throws {MlbomError} */
  modelExtras(id: string, commit: string, subject: string): Promise<HubModelExtras> {
    this.requests++;
    const url = `${this.options.hubUrl}/api/models/${id}/revision/${commit}?expand=gguf&expand=baseModels`;
    return httpJson(this.requestOptions(url, subject, this.authHeaders()), modelExtrasSchema);
  }

  /** Every file of a repo at a commit (recursive tree listing, following Link pagination). @throws {MlbomError} */
  async listFiles(type: RepoType, id: string, commit: string, subject: string): Promise<HubFileEntry[]> {
    const files: HubFileEntry[] = [];
    for await (const entry of hubListFiles({
      ...this.common(subject),
      repo: designation(type, id),
      revision: commit,
      recursive: true,
    })) {
      if (this.ctx.signal.aborted) throw new MlbomError('ABORTED', `${subject}: aborted`);
      const file = parsed(fileEntrySchema, entry, subject, 'file listing');
      if (file.type !== 'file') continue;
      if (files.length >= MAX_REPO_FILES) {
        throw new MlbomError('SOURCE_FAILED', `${subject}: more than ${MAX_REPO_FILES} files; refusing to list more`);
      }
      files.push(file);
    }
    return files;
  }

  /** Per-file details with the Hub's security scan status (`expand`). @throws {MlbomError} */
  async pathsInfo(type: RepoType, id: string, commit: string, paths: string[], subject: string) {
    const infos = await hubPathsInfo({
      ...this.common(subject),
      repo: designation(type, id),
      revision: commit,
      paths,
      expand: true,
    });
    return infos.map((info) => parsed(fileEntrySchema, info, subject, 'paths info'));
  }

  /**
   * Downloads a small text file (up to `maxBytes`; longer files are read in part with a range request).
   * @returns undefined when the file does not exist at that commit
   * @throws {MlbomError} AUTH, SOURCE_FAILED, ABORTED
   */
  async readText(
    type: RepoType,
    id: string,
    commit: string,
    path: string,
    maxBytes: number,
    subject: string,
  ): Promise<DownloadedText | undefined> {
    let blob: Blob | null;
    try {
      blob = await hubDownloadFile({
        ...this.common(subject),
        repo: designation(type, id),
        revision: commit,
        path,
        xet: false,
      });
    } catch (error) {
      if (error instanceof MlbomError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
    if (!blob) return undefined;
    const size = blob.size;
    const truncated = size > maxBytes;
    const bytes = new Uint8Array(await (truncated ? blob.slice(0, maxBytes) : blob).arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    if (truncated) return { text, size, truncated };
    return {
      text,
      size,
      truncated,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      gitOid: gitBlobSha1(bytes),
    };
  }

  /** The URL of a file's content at a commit. */
  resolveUrl(type: RepoType, id: string, commit: string, path: string): string {
    const prefix = type === 'dataset' ? 'datasets/' : '';
    const encodedPath = path.split('/').map(encodeURIComponent).join('/');
    return `${this.options.hubUrl}/${prefix}${id}/resolve/${commit}/${encodedPath}`;
  }

  /** Random access to a repo file with HTTP range requests (the token is sent, never reported). */
  byteSource(type: RepoType, id: string, commit: string, path: string, size: number): ByteSource {
    return httpByteSource({
      url: this.resolveUrl(type, id, commit, path),
      size,
      fetch: this.ctx.fetch,
      headers: this.authHeaders(),
      signal: this.ctx.signal,
    });
  }
}

function designation(type: RepoType, id: string): RepoDesignation {
  return { type, name: id };
}

/** Git's object id of a blob: SHA-1 over `blob <size>\0` and the content. */
export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
