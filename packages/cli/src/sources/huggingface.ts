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

/**
 * The Hub cache directory, in the Python client's order: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE,
 * $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  const set = (value: string | undefined) => (value && value.trim() !== '' ? expandHome(value.trim(), env) : undefined);
  const hfHome = set(env.HF_HOME);
  const xdgCache = set(env.XDG_CACHE_HOME);
  return (
    set(env.HF_HUB_CACHE) ??
    set(env.HUGGINGFACE_HUB_CACHE) ??
    (hfHome ? join(hfHome, 'hub') : undefined) ??
    (xdgCache ? join(xdgCache, 'huggingface', 'hub') : undefined) ??
    join(env.HOME || homedir(), '.cache', 'huggingface', 'hub')
  );
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
    const fromFlag = typeof flags.hfToken === 'string' ? flags.hfToken.trim() : undefined;
    const token = fromFlag || env.HF_TOKEN?.trim() || undefined;
    if (token && !/^hf_[\x21-\x7e]+$/.test(token)) {
      return failingSource(
        new MlbomError(
          'INVALID_INPUT',
          `the Hugging Face token from ${fromFlag ? '--hf-token' : 'HF_TOKEN'} is not a token (tokens start with "hf_")`,
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
    return huggingface({
      ...(endpoint ? { hubUrl: endpoint } : {}),
      ...(token ? { accessToken: token } : {}),
      lineageDepth: typeof flags.hfDepth === 'number' ? flags.hfDepth : DEFAULT_LINEAGE_DEPTH,
      // `--no-scan` (registered by the scanner's flags) turns remote scanning off too.
      scan: flags.scan !== false,
      continueOnError: targets.length > 1,
      authHint: AUTH_HINT,
    });
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
