import type { Property } from '@mlbom/core';

/** A property name segment from an MLflow key: `/` becomes `:`, anything outside `[A-Za-z0-9._-]` becomes `_`. */
export function keySegment(key: string): string {
  const segment = key
    .replaceAll('/', ':')
    .replace(/[^A-Za-z0-9:._-]/g, '_')
    .replace(/^:+|:+$/g, '');
  return segment === '' ? '_' : segment;
}

export function prop(name: string, value: string | number | boolean | undefined | null): Property[] {
  if (value === undefined || value === null || value === '') return [];
  return [{ name, value: String(value) }];
}

/** Epoch milliseconds as ISO 8601, or undefined for nothing / nonsense. */
export function isoTime(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * A URI fit for a BOM or a message: user info and query string (signed tokens, SAS keys) removed.
 * Strings that are not URLs (plain paths) are kept as they are.
 */
export function safeUri(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  try {
    const url = new URL(value);
    if (url.username || url.password || url.search) {
      url.username = '';
      url.password = '';
      url.search = '';
      return url.toString();
    }
    return value;
  } catch {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1').replace(/\?.*$/s, '');
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** MLflow's "latest" value of a metric: the highest step, then the latest timestamp, then the largest value. */
export function latestMetrics<T extends { key: string; value: number; step: number; timestampMs?: number | undefined }>(
  metrics: readonly T[],
): T[] {
  const latest = new Map<string, T>();
  for (const m of metrics) {
    const seen = latest.get(m.key);
    if (!seen) {
      latest.set(m.key, m);
      continue;
    }
    const a = [m.step, m.timestampMs ?? 0, Number.isNaN(m.value) ? -Infinity : m.value];
    const b = [seen.step, seen.timestampMs ?? 0, Number.isNaN(seen.value) ? -Infinity : seen.value];
    const newer = a[0]! !== b[0]! ? a[0]! > b[0]! : a[1]! !== b[1]! ? a[1]! > b[1]! : a[2]! > b[2]!;
    if (newer) latest.set(m.key, m);
  }
  return [...latest.values()].sort((x, y) => compare(x.key, y.key));
}

/** A metric value as CycloneDX wants it: a string. */
export function metricValue(value: number): string {
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** JSON that a field holds as a string; undefined when it is not valid JSON. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The promise cached under `key`, loading it the first time (concurrent callers share one load). */
export function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let promise = cache.get(key);
  if (!promise) {
    promise = load();
    cache.set(key, promise);
  }
  return promise;
}
