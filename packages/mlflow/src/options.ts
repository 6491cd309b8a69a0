import { parseOptions } from '@mlbom/core';
import { z } from 'zod';

/** What is downloaded from a model's artifacts: nothing, the model files worth scanning (default), or every file. */
export const artifactModeSchema = z.enum(['none', 'models', 'all']);
export type ArtifactMode = z.infer<typeof artifactModeSchema>;

export const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
export const DEFAULT_MAX_ARTIFACT_FILES = 10_000;
export const DEFAULT_AUTH_HINT =
  'set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN (bearer token)';

/**
 * Options of the MLflow source. The library reads no environment variable: the CLI maps
 * `MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` and `MLFLOW_TRACKING_TOKEN` onto these.
 */
export const mlflowOptionsSchema = z
  .strictObject({
    trackingUri: z
      .string()
      .min(1)
      .optional()
      .describe(
        'MLflow tracking server (http(s)://host[:port][/prefix]) or file store (file: URI or path to an mlruns folder) that models:/, runs:/ and mlflow-registry: targets are read from',
      ),
    username: z.string().optional().describe('Basic-auth user name (used together with password; wins over token)'),
    password: z.string().optional().describe('Basic-auth password'),
    token: z.string().optional().describe('Bearer token, sent when no user name and password are given'),
    artifacts: artifactModeSchema
      .optional()
      .describe(
        'Which artifact files are downloaded and hashed: none, models (default: model weights and pickles, the files worth scanning) or all. Every file is listed with its size either way; MLmodel and environment files are always read.',
      ),
    hash: z.boolean().optional().describe('Hash the artifact files that are read or downloaded (default true)'),
    scan: z
      .boolean()
      .optional()
      .describe('Scan downloaded model files for code hidden in them with @mlbom/scanner (default true)'),
    maxDownloadBytes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        `Largest artifact file downloaded (default ${DEFAULT_MAX_DOWNLOAD_BYTES} bytes); larger ones are listed unhashed`,
      ),
    maxArtifactFiles: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(`Most artifact files listed per model (default ${DEFAULT_MAX_ARTIFACT_FILES})`),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe('Model versions read at once in a registry inventory (default 4)'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe('Retries of a request after 429, 5xx, timeouts and network errors (default 3)'),
    timeoutMs: z.number().int().positive().optional().describe('Timeout of one API request in ms (default 30000)'),
    downloadTimeoutMs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Timeout of one artifact download in ms (default 600000)'),
    authHint: z
      .string()
      .optional()
      .describe('Added to access-denied messages; default names the MLFLOW_TRACKING_* variables. Never a secret.'),
  })
  .describe('Options of the MLflow source');

export type MlflowOptions = z.input<typeof mlflowOptionsSchema>;

export interface ResolvedMlflowOptions {
  trackingUri: string | undefined;
  auth: { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string } | undefined;
  artifacts: ArtifactMode;
  hash: boolean;
  scan: boolean;
  maxDownloadBytes: number;
  maxArtifactFiles: number;
  concurrency: number;
  retries: number;
  timeoutMs: number;
  downloadTimeoutMs: number;
  authHint: string;
}

/** Validates options and fills defaults. @throws {MlbomError} INVALID_INPUT naming the bad option (never its value) */
export function resolveMlflowOptions(options: MlflowOptions = {}): ResolvedMlflowOptions {
  const o = parseOptions(mlflowOptionsSchema, options, 'mlflow source');
  const auth =
    o.username && o.password !== undefined && o.password !== ''
      ? { kind: 'basic' as const, username: o.username, password: o.password }
      : o.token
        ? { kind: 'bearer' as const, token: o.token }
        : undefined;
  return {
    trackingUri: o.trackingUri,
    auth,
    artifacts: o.artifacts ?? 'models',
    hash: o.hash ?? true,
    scan: o.scan ?? true,
    maxDownloadBytes: o.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
    maxArtifactFiles: o.maxArtifactFiles ?? DEFAULT_MAX_ARTIFACT_FILES,
    concurrency: o.concurrency ?? 4,
    retries: o.retries ?? 3,
    timeoutMs: o.timeoutMs ?? 30_000,
    downloadTimeoutMs: o.downloadTimeoutMs ?? 600_000,
    authHint: o.authHint ?? DEFAULT_AUTH_HINT,
  };
}
