import { closeSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MlbomError, redactUrl, type Source } from '@mlbom/core';
import { canHandleTarget, DEFAULT_LINEAGE_DEPTH, HF_CACHE_SCHEME, HF_SCHEME, huggingface } from '@mlbom/huggingface';
import { type Command, InvalidArgumentError } from 'commander';
import type { SourcePlugin } from './types.js';

const AUTH_HINT =
  'set HF_TOKEN (or --hf-token) to a token that can read the repo, and accept its terms on the Hub if it is gated';

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

const nonEmpty = (value: string | undefined, env: NodeJS.ProcessEnv) =>
  value && value.trim() !== '' ? expandHome(value.trim(), env) : undefined;

/** The Python client's HF_HOME: $HF_HOME, $XDG_CACHE_HOME/huggingface, ~/.cache/huggingface. */
function hfHome(env: NodeJS.ProcessEnv): string {
  const xdgCache = nonEmpty(env.XDG_CACHE_HOME, env);
  return (
    nonEmpty(env.HF_HOME, env) ??
    (xdgCache ? join(xdgCache, 'huggingface') : join(env.HOME || homedir(), '.cache', 'huggingface'))
  );
}

/**
 * The Hub cache directory, in the Python client's order: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE,
 * $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env.HF_HUB_CACHE, env) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE, env) ?? join(hfHome(env), 'hub');
}

/** Where `hf auth login` stores the token: $HF_TOKEN_PATH, else $HF_HOME/token. */
export function tokenFilePath(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env.HF_TOKEN_PATH, env) ?? join(hfHome(env), 'token');
}

/** The stored token, or undefined when there is none. Reads at most 4 KiB: a token is ~40 bytes. */
function readTokenFile(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(4096);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, length).toString('utf8').trim() || undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** HF_HUB_OFFLINE as the Python client reads it. */
function isOffline(env: NodeJS.ProcessEnv): boolean {
  return ['1', 'on', 'yes', 'true'].includes((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

function parseDepth(value: string): number {
  const depth = Number(value);
  if (!/^\d+$/.test(value) || depth > 20) throw new InvalidArgumentError('expected a whole number from 0 to 20');
  return depth;
}

/** A source that claims Hugging Face targets and fails on them: for settings that only matter when one is given. */
function failingSource(error: MlbomError): Source {
  return {
    name: 'huggingface',
    options: {},
    canHandle: canHandleTarget,
    collect: async () => {
      throw error;
    },
  };
}

let generateCommand: Command | undefined;

export const huggingFacePlugin: SourcePlugin = {
  name: 'huggingface',
  register(command) {
    generateCommand = command;
    command
      .option('--hf-token <token>', 'Hugging Face access token for gated and private repos (default: $HF_TOKEN)')
      .option(
        '--hf-cache [dir]',
        'also inventory every repo and snapshot in the Hugging Face cache (default dir: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)',
      )
      .option('--hf-depth <n>', 'generations of base models to look up on the Hub', parseDepth, DEFAULT_LINEAGE_DEPTH);
  },
  make(flags, env) {
    const fromFlag = typeof flags.hfToken === 'string' ? flags.hfToken.trim() || undefined : undefined;
    const fromEnv = env.HF_TOKEN?.trim() || undefined;
    const tokenFile = fromFlag || fromEnv ? undefined : tokenFilePath(env);
    const token = fromFlag ?? fromEnv ?? (tokenFile ? readTokenFile(tokenFile) : undefined);
    if (token && !/^hf_[\x21-\x7e]+$/.test(token)) {
      const origin = fromFlag ? '--hf-token' : fromEnv ? 'HF_TOKEN' : `the token file ${tokenFile}`;
      return failingSource(
        new MlbomError(
          'INVALID_INPUT',
          `the Hugging Face token from ${origin} is not a token (tokens start with "hf_")`,
        ),
      );
    }
    const endpoint = env.HF_ENDPOINT?.trim() || undefined;
    if (endpoint) {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
      } catch {
        ok = false;
      }
      if (!ok) {
        return failingSource(
          new MlbomError('INVALID_INPUT', `HF_ENDPOINT is not an http(s) URL: ${redactUrl(endpoint)}`),
        );
      }
    }
    // One target that cannot be read is an error; among several, it is recorded and the rest goes on.
    const targets = [...(generateCommand?.args ?? []), ...(huggingFacePlugin.impliedTargets?.(flags, env) ?? [])];
    const source = huggingface({
      ...(endpoint ? { hubUrl: endpoint } : {}),
      ...(token ? { accessToken: token } : {}),
      lineageDepth: typeof flags.hfDepth === 'number' ? flags.hfDepth : DEFAULT_LINEAGE_DEPTH,
      // `--no-scan` (registered by the scanner's flags) turns remote scanning off too.
      scan: flags.scan !== false,
      continueOnError: targets.length > 1,
      authHint: AUTH_HINT,
    });
    if (!isOffline(env)) return source;
    // As with the Python client, offline means no Hub requests; the cache needs none.
    return {
      ...source,
      collect: (target, ctx) =>
        target.startsWith(HF_SCHEME)
          ? Promise.reject(
              new MlbomError(
                'INVALID_INPUT',
                `${target}: HF_HUB_OFFLINE is set, so the Hub is not contacted; inventory the local cache with --hf-cache instead`,
              ),
            )
          : source.collect(target, ctx),
    };
  },
  impliedTargets(flags, env) {
    const value = flags.hfCache;
    if (value === undefined || value === false) return [];
    if (typeof value === 'string' && value.startsWith(HF_SCHEME)) {
      // `--hf-cache hf://org/name`: commander took the target as the cache dir; give it back.
      return [`${HF_CACHE_SCHEME}${hubCacheDir(env)}`, value];
    }
    return [`${HF_CACHE_SCHEME}${typeof value === 'string' ? expandHome(value, env) : hubCacheDir(env)}`];
  },
};
