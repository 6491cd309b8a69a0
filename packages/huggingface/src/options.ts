import { parseOptions } from '@mlbom/core';
import { z } from 'zod';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const DEFAULT_LINEAGE_DEPTH = 3;

/**
 * Options of the Hugging Face source. The library reads no environment variables: callers (the CLI)
 * pass the endpoint (`HF_ENDPOINT`) and token (`HF_TOKEN`) here.
 */
export const huggingFaceOptionsSchema = z
  .strictObject({
    hubUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(`Base URL of the Hub or a mirror (default ${DEFAULT_HUB_URL}).`),
    accessToken: z
      .string()
      .regex(/^hf_[\x21-\x7e]+$/, 'a Hugging Face access token starts with "hf_"')
      .optional()
      .describe('Access token for gated and private repos. Never written to the BOM, logs or errors.'),
    lineageDepth: z
      .number()
      .int()
      .min(0)
      .max(20)
      .optional()
      .describe(
        `How many generations of base models to look up on the Hub (default ${DEFAULT_LINEAGE_DEPTH}); 0 lists direct bases without looking them up.`,
      ),
    resolveDatasets: z
      .boolean()
      .optional()
      .describe('Look up the datasets a model card names on the Hub (default true).'),
    readHeaders: z
      .boolean()
      .optional()
      .describe('Read weights headers (GGUF, safetensors, pickle) with HTTP range requests (default true).'),
    scan: z
      .boolean()
      .optional()
      .describe(
        'Scan pickle-based and other loadable weights for code they would run (@mlbom/scanner), over HTTP range requests (default true; needs readHeaders).',
      ),
    continueOnError: z
      .boolean()
      .optional()
      .describe(
        'Record a repo named as a target that cannot be read (not found, access denied, server errors) as a problem in the inventory instead of throwing (default false).',
      ),
    concurrency: z.number().int().min(1).max(32).optional().describe('How many Hub requests run at once (default 4).'),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Timeout of one HTTP request attempt in milliseconds (default 30000).'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe('Retries after a 429, 5xx, timeout or network error, honouring Retry-After (default 3).'),
    authHint: z
      .string()
      .optional()
      .describe('Added to access-denied messages, e.g. which variable holds the token. Must not be a secret.'),
  })
  .describe('Options of the Hugging Face source');

export type HuggingFaceOptions = z.input<typeof huggingFaceOptionsSchema>;

export interface ResolvedHuggingFaceOptions {
  hubUrl: string;
  accessToken: string | undefined;
  lineageDepth: number;
  resolveDatasets: boolean;
  readHeaders: boolean;
  scan: boolean;
  continueOnError: boolean;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  authHint: string;
}

const DEFAULT_AUTH_HINT =
  'pass an access token that can read the repo, and accept the terms on its Hub page if it is gated';

/**
 * Validates options and fills defaults. The token's value never appears in the error.
 * @throws {MlbomError} INVALID_INPUT naming the bad option
 */
export function resolveHuggingFaceOptions(options: HuggingFaceOptions = {}): ResolvedHuggingFaceOptions {
  const o = parseOptions(huggingFaceOptionsSchema, options, 'huggingface source');
  return {
    hubUrl: (o.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, ''),
    accessToken: o.accessToken,
    lineageDepth: o.lineageDepth ?? DEFAULT_LINEAGE_DEPTH,
    resolveDatasets: o.resolveDatasets ?? true,
    readHeaders: o.readHeaders ?? true,
    scan: o.scan ?? true,
    continueOnError: o.continueOnError ?? false,
    concurrency: o.concurrency ?? 4,
    timeoutMs: o.timeoutMs ?? 30_000,
    retries: o.retries ?? 3,
    authHint: o.authHint ?? DEFAULT_AUTH_HINT,
  };
}
