import {
  ALLOWED_DUNDERS,
  ALLOWED_GLOBALS,
  ALLOWED_PATTERNS,
  DENY_RULES,
  type DenyRule,
  PY2_MODULE_ALIASES,
  PY2_NAME_ALIASES,
} from './rules.js';

export type GlobalSeverity = 'critical' | 'high' | 'medium';

export interface Verdict {
  /** undefined: allowlisted (silent). */
  severity: GlobalSeverity | undefined;
  /** Why, for the finding's detail. */
  why: string;
  /** The name the verdict is about when it differs from the raw one (a Python-2 alias, a dotted suffix). */
  as?: string;
}

const denyByPattern = new Map<string, DenyRule>(DENY_RULES.map((r) => [r.pattern, r]));
const rank = { critical: 3, high: 2, medium: 1 } as const;

function matchesPath(path: string, pattern: string): boolean {
  return path === pattern || path.startsWith(`${pattern}.`);
}

/** The most specific deny rule covering a dotted path, if any. */
function denyFor(path: string): DenyRule | undefined {
  const parts = path.split('.');
  for (let k = parts.length; k >= 1; k--) {
    const rule = denyByPattern.get(parts.slice(0, k).join('.'));
    if (rule) {
      if (rule.except?.some((e) => matchesPath(path, e))) return undefined;
      return rule;
    }
  }
  return undefined;
}

function isAllowed(path: string): boolean {
  if (ALLOWED_GLOBALS.has(path)) return true;
  return ALLOWED_PATTERNS.some((p) => p.pattern.test(path));
}

const DUNDER = /^__\w+__$/;

/** Judges one full `module.name` path without aliases. */
function judgePath(module: string, name: string): Verdict | 'allowed' | undefined {
  const full = `${module}.${name}`;
  const exact = denyFor(full);
  if (exact?.pattern === full) return { severity: exact.tier, why: exact.why };
  const components = [...module.split('.'), ...name.split('.')];
  const dunder = components.find((c) => DUNDER.test(c) && !ALLOWED_DUNDERS.has(c));
  if (dunder) {
    return {
      severity: 'critical',
      why: `walks into Python internals through ${dunder} (any function becomes reachable)`,
    };
  }
  let worst: Verdict | undefined;
  const consider = (path: string) => {
    const rule = denyFor(path);
    if (!rule) return;
    if (!worst || rank[rule.tier] > rank[worst.severity ?? 'medium']) {
      worst = { severity: rule.tier, why: rule.why, ...(path !== full ? { as: path } : {}) };
    }
  };
  consider(full);
  // Protocol 4+ resolves a dotted name attribute by attribute: `numpy` + `core._internal.sys.modules`
  // reaches `sys.modules`. Judge every suffix of the attribute path as a path of its own.
  const nameParts = name.split('.');
  for (let i = 0; i < nameParts.length && nameParts.length > 1; i++) consider(nameParts.slice(i).join('.'));
  if (worst) return worst;
  return isAllowed(full) ? 'allowed' : undefined;
}

const cache = new Map<string, Verdict>();
const CACHE_LIMIT = 50_000;

/**
 * The verdict on a pickle global. Deny verdicts from the raw name or its Python-2 mapping win; an
 * allowlisted raw or mapped name is silent; anything else is MEDIUM.
 */
export function classifyGlobal(module: string, name: string): Verdict {
  const key = `${module}\n${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const candidates: Array<[string, string]> = [[module, name]];
  const mappedName = PY2_NAME_ALIASES[`${module}.${name}`];
  if (mappedName) {
    const dot = mappedName.lastIndexOf('.');
    candidates.push([mappedName.slice(0, dot), mappedName.slice(dot + 1)]);
  }
  const mappedModule = PY2_MODULE_ALIASES[module];
  if (mappedModule) candidates.push([mappedModule, name]);

  let worst: Verdict | undefined;
  let allowed = false;
  for (const [m, n] of candidates) {
    const v = judgePath(m, n);
    if (v === 'allowed') {
      allowed = true;
      continue;
    }
    if (!v) continue;
    const as = m === module && n === name ? v.as : (v.as ?? `${m}.${n}`);
    const verdict: Verdict = { severity: v.severity, why: v.why, ...(as ? { as } : {}) };
    if (!worst || rank[verdict.severity ?? 'medium'] > rank[worst.severity ?? 'medium']) worst = verdict;
  }
  const result: Verdict = worst ?? (allowed ? { severity: undefined, why: 'allowlisted' } : unknown(module, name));
  if (cache.size < CACHE_LIMIT) cache.set(key, result);
  return result;
}

function unknown(module: string, name: string): Verdict {
  if (module === '__main__') {
    return { severity: 'medium', why: 'a class or function of the script that saved the file ("__main__")' };
  }
  if (!/^[A-Za-z_][\w.]*$/.test(module) || !/^[A-Za-z_][\w.]*$/.test(name)) {
    return { severity: 'medium', why: 'not a valid Python identifier path' };
  }
  return { severity: 'medium', why: 'outside the allowlist of framework globals; loading imports and may call it' };
}
