import type { z } from 'zod';
import { redactUrl } from './bytes.js';
import { MlbomError, type MlbomErrorCode, MlbomHttpError } from './errors.js';

export interface HttpRequestOptions {
  fetch: typeof globalThis.fetch;
  url: string;
  /** What is being fetched, for messages: `model google-bert/bert-base-uncased@main`. */
  subject: string;
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt for 429, 5xx, timeouts and network errors; default 3. */
  retries?: number;
  /** Added to 401/403 messages, e.g. `set HF_TOKEN or accept the model's terms`. Never a secret. */
  authHint?: string;
  /** Injected in tests to skip real waiting. */
  sleep?: (ms: number) => Promise<void>;
}

const MAX_RETRY_WAIT_MS = 30_000;
const MAX_ERROR_BODY = 64 * 1024;

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new MlbomError('ABORTED', 'aborted'));
      },
      { once: true },
    );
  });

/** Retry-After is either seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function retryable(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599);
}

/** The server's own words, from the JSON error shapes the Hub and MLflow use; bounded. */
async function serverMessage(response: Response): Promise<string | undefined> {
  try {
    const text = (await response.text()).slice(0, MAX_ERROR_BODY);
    const json = JSON.parse(text) as Record<string, unknown>;
    const parts = [json.error_code, json.error, json.message, json.error_description].filter(
      (v): v is string => typeof v === 'string' && v.length > 0,
    );
    return parts.length > 0 ? [...new Set(parts)].join(': ').slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}

async function httpError(response: Response, opts: HttpRequestOptions): Promise<MlbomHttpError> {
  const url = redactUrl(opts.url);
  const said = await serverMessage(response);
  const suffix = said ? `: ${said}` : '';
  const details = {
    status: response.status,
    url,
    requestId: response.headers.get('x-request-id') ?? undefined,
  };
  let code: MlbomErrorCode = 'SOURCE_FAILED';
  let message = `${opts.subject}: HTTP ${response.status} from ${url}${suffix}`;
  if (response.status === 404) {
    code = 'NOT_FOUND';
    message = `${opts.subject}: not found (HTTP 404 from ${url})${suffix}`;
  } else if (response.status === 401 || response.status === 403) {
    code = 'AUTH';
    message = `${opts.subject}: access denied (HTTP ${response.status})${suffix}${opts.authHint ? `; ${opts.authHint}` : ''}`;
  }
  return new MlbomHttpError(code, message, details);
}

/** fetch says only "fetch failed"; the reason (refused, DNS, certificate) is in its cause. */
function networkReason(failure: unknown): string {
  if (!(failure instanceof Error)) return String(failure);
  const cause = failure.cause;
  if (!(cause instanceof Error)) return failure.message;
  const code = (cause as NodeJS.ErrnoException).code;
  return `${failure.message}: ${code && !cause.message.includes(code) ? `${code} ` : ''}${cause.message}`;
}

/** A certificate the client will not accept: asking again gives the same answer. */
function isTlsRejection(failure: unknown): boolean {
  const code = failure instanceof Error ? (failure.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
  return (
    typeof code === 'string' &&
    /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED_CERT|HOSTNAME_MISMATCH)/.test(code)
  );
}

/**
 * One HTTP exchange with bounded retries (honouring Retry-After), a per-attempt timeout, and
 * errors that name the subject and a redacted URL (never credentials or tokens).
 * @throws {MlbomHttpError} NOT_FOUND (404), AUTH (401/403), SOURCE_FAILED (other statuses, retries exhausted)
 * @throws {MlbomError} ABORTED when the caller's signal fires; SOURCE_FAILED on network errors and timeouts
 */
export async function httpRequest(opts: HttpRequestOptions): Promise<Response> {
  const retries = opts.retries ?? 3;
  const sleep = opts.sleep ?? ((ms: number) => defaultSleep(ms, opts.signal));
  const url = redactUrl(opts.url);
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new MlbomError('ABORTED', `${opts.subject}: aborted`);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let response: Response | undefined;
    let failure: unknown;
    try {
      response = await opts.fetch(opts.url, {
        method: opts.method ?? 'GET',
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new MlbomError('ABORTED', `${opts.subject}: aborted`, { cause: err });
      failure = err;
    }
    if (response?.ok) return response;
    const canRetry =
      attempt < retries && (response === undefined ? !isTlsRejection(failure) : retryable(response.status));
    if (!canRetry) {
      if (response) throw await httpError(response, opts);
      const reason = timeout.aborted ? 'timed out' : networkReason(failure);
      throw new MlbomError('SOURCE_FAILED', `${opts.subject}: request to ${url} failed (${reason})`, {
        cause: failure,
      });
    }
    const hinted = response ? retryAfterMs(response.headers.get('retry-after')) : undefined;
    await response?.body?.cancel();
    const backoff = 250 * 2 ** attempt * (1 + Math.random() / 2);
    await sleep(Math.min(hinted ?? backoff, MAX_RETRY_WAIT_MS));
  }
}

/**
 * GET/POST JSON, validated with a zod schema before use.
 * @throws {MlbomError} as httpRequest, and SOURCE_FAILED when the body is not the expected JSON
 */
export async function httpJson<T>(opts: HttpRequestOptions, schema: z.ZodType<T>): Promise<T> {
  const response = await httpRequest({
    ...opts,
    headers: {
      accept: 'application/json',
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
  });
  let json: unknown;
  try {
    json = await response.json();
  } catch (err) {
    throw new MlbomError('SOURCE_FAILED', `${opts.subject}: ${redactUrl(opts.url)} did not answer JSON`, {
      cause: err,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MlbomError(
      'SOURCE_FAILED',
      `${opts.subject}: unexpected response from ${redactUrl(opts.url)} at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}
