import { type PackageAsset, type Problem, type Property, pypiPackage } from '@mlbom/core';
import { clean, validRange } from '@renovatebot/pep440';

/** One requirement line, parsed (PEP 508). */
export interface Requirement {
  name: string;
  extras: string[];
  /** Set for `==` / `===` pins without wildcards. */
  exactVersion?: string | undefined;
  /** The requirement as written (name, extras, specifiers), when it pins no exact version. */
  versionSpec?: string | undefined;
  /** The environment marker after `;`, e.g. `python_version < "3.10"`. */
  marker?: string | undefined;
  /** A direct reference (`name @ https://...`), with any credentials removed. */
  url?: string | undefined;
  /** `--hash=sha256:...` options (hash-checking mode), as `alg:hex`. */
  hashes?: string[] | undefined;
  line: number;
}

/** A `-r` / `-c` line: another file the caller may read (relative to this file's folder). */
export interface RequirementInclude {
  kind: 'requirements' | 'constraints';
  path: string;
  line: number;
}

export interface RequirementsFile {
  requirements: Requirement[];
  /** The requirements as PyPI packages (duplicates merged): what a BOM lists. */
  packages: PackageAsset[];
  /** Global options worth recording (index URLs, credentials removed), as `mlbom:requirements:*` properties. */
  properties: Property[];
  /** `-r` / `-c` lines, for the caller to follow (see readRequirementsTree). */
  includes: RequirementInclude[];
  problems: Problem[];
}

const MAX_REQUIREMENTS = 2000;
const NAME_RE = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$/s;
/** A version clause; PEP 440 versions start with a digit (or `v`), only `===` takes arbitrary strings. */
const CLAUSE_RE = /^(?:(===)\s*([^\s,;]+)|(~=|==|!=|<=|>=|<|>)\s*([vV]?\d[A-Za-z0-9_.*+!-]*))$/;
const INDEX_OPTIONS = new Set(['-i', '--index-url', '--extra-index-url', '-f', '--find-links']);
const INCLUDE_OPTIONS = new Map<string, RequirementInclude['kind']>([
  ['-r', 'requirements'],
  ['--requirement', 'requirements'],
  ['-c', 'constraints'],
  ['--constraint', 'constraints'],
]);
const SKIPPED_WITH_VALUE = new Map([
  ['-e', 'editable requirement'],
  ['--editable', 'editable requirement'],
]);
const HASH_RE = /(?:^|\s)--hash[=\s]+([a-z0-9]+:[0-9a-f]+)/gi;

/** A PEP 440 version in normal form (`1.0RC1` → `1.0rc1`), or as written when it is not one. */
export function normalizeVersion(version: string): string {
  return clean(version) ?? version;
}

/** Removes `user:password@` from URLs so credentials never reach a BOM. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
}

/** Logical lines: comments removed, `\` continuations joined; each keeps its first physical line number. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let pending = '';
  let start = 0;
  const physical = text.split(/\r\n|\r|\n/);
  physical.forEach((raw, i) => {
    // pip: a comment starts at `#` at the start of a line or after whitespace.
    const uncommented = raw.replace(/(^|\s)#.*$/, '');
    if (pending === '') start = i + 1;
    if (/\\\s*$/.test(uncommented) && !/(^|\s)#/.test(raw)) {
      pending += `${uncommented.replace(/\\\s*$/, '')} `;
      return;
    }
    const joined = (pending + uncommented).trim();
    pending = '';
    if (joined !== '') out.push({ text: joined, line: start });
  });
  if (pending.trim() !== '') out.push({ text: pending.trim(), line: start });
  return out;
}

/** Splits `spec ; marker`, and drops per-requirement options (`--hash=...`). */
function splitMarker(rest: string, isUrl: boolean): { body: string; marker?: string } {
  const withoutOptions = ` ${rest}`.replace(/\s--[a-z][\w-]*(?:=\S*|\s+(?!--)\S+)?/gi, '').trim();
  // For a URL the `;` must follow whitespace (PEP 508), since URLs may contain `;`.
  const index = isUrl ? withoutOptions.search(/\s;/) : withoutOptions.indexOf(';');
  if (index < 0) return { body: withoutOptions.trim() };
  const marker = withoutOptions.slice(index).replace(/^\s*;/, '').trim();
  return { body: withoutOptions.slice(0, index).trim(), ...(marker ? { marker } : {}) };
}

/** Parses a requirements.txt. `subject` names the file in problems. Never throws. */
export function parseRequirements(text: string, subject: string): RequirementsFile {
  const requirements: Requirement[] = [];
  const properties: Property[] = [];
  const includes: RequirementInclude[] = [];
  const problems: Problem[] = [];
  const problem = (line: number, message: string) =>
    problems.push({ code: 'REQUIREMENT_SKIPPED', message: `line ${line}: ${message}`, subject });

  for (const { text: entry, line } of logicalLines(text)) {
    if (requirements.length >= MAX_REQUIREMENTS) {
      problem(line, `more than ${MAX_REQUIREMENTS} requirements; the rest are ignored`);
      break;
    }
    if (entry.startsWith('-')) {
      const option = /^(--?[A-Za-z][\w-]*)(?:[=\s]+(.*))?$/.exec(entry);
      const name = option?.[1] ?? entry;
      const value = option?.[2]?.trim();
      const include = INCLUDE_OPTIONS.get(name);
      if (include && value) {
        includes.push({ kind: include, path: value.replace(/\s+#.*$/, ''), line });
      } else if (INDEX_OPTIONS.has(name) && value) {
        const key = name === '-i' ? 'index-url' : name === '-f' ? 'find-links' : name.slice(2);
        properties.push({ name: `mlbom:requirements:${key}`, value: redactUrl(value) });
      } else if (SKIPPED_WITH_VALUE.has(name)) {
        const what = SKIPPED_WITH_VALUE.get(name);
        problem(line, `${name} ${value ? redactUrl(value) : ''} not followed (${what})`.replace(/\s+/g, ' '));
      }
      // Other global options (--pre, --no-binary, --trusted-host, ...) do not change what is required.
      continue;
    }
    const nameMatch = NAME_RE.exec(entry);
    if (!nameMatch || /^(\.{0,2}\/|[a-z][a-z0-9+.-]*:\/\/|[a-z]:\\)/i.test(entry)) {
      problem(line, `"${redactUrl(entry).slice(0, 200)}" is not a named requirement (a path or URL)`);
      continue;
    }
    const name = nameMatch[1] as string;
    const extras = (nameMatch[2] ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const rest = nameMatch[3] ?? '';
    const isUrl = rest.startsWith('@');
    const hashes = [...rest.matchAll(HASH_RE)].map((m) => (m[1] as string).toLowerCase());
    const { body, marker } = splitMarker(rest, isUrl);
    const requirement: Requirement = {
      name,
      extras,
      line,
      ...(marker ? { marker } : {}),
      ...(hashes.length > 0 ? { hashes } : {}),
    };
    if (isUrl) {
      const url = body.slice(1).trim();
      if (!url) {
        problem(line, `"${name} @" has no URL`);
        continue;
      }
      requirement.url = redactUrl(url);
      requirements.push(requirement);
      continue;
    }
    const spec = body.replace(/^\((.*)\)$/s, '$1').trim();
    if (spec !== '') {
      const clauses = spec.split(',').map((c) => c.trim());
      const parsed = clauses.map((c) => {
        const m = CLAUSE_RE.exec(c);
        return m ? { op: (m[1] ?? m[3]) as string, version: (m[2] ?? m[4]) as string } : null;
      });
      if (
        parsed.some((p) => p === null) ||
        (!parsed.some((p) => p?.op === '===') && !validRange(spec.replace(/\s+/g, '')))
      ) {
        problem(line, `cannot parse version specifier "${spec.slice(0, 200)}" of ${name}`);
        continue;
      }
      const only = parsed.length === 1 ? parsed[0] : undefined;
      if (only && (only.op === '==' || only.op === '===') && !only.version.includes('*')) {
        requirement.exactVersion = only.op === '==' ? normalizeVersion(only.version) : only.version;
      } else {
        const extrasPart = extras.length > 0 ? `[${extras.join(',')}]` : '';
        requirement.versionSpec = `${name}${extrasPart}${clauses.map((c) => c.replace(/\s+/g, '')).join(',')}`;
      }
    }
    requirements.push(requirement);
  }
  return { requirements, packages: requirementPackages(requirements), properties, includes, problems };
}

/** PackageAssets for parsed requirements (duplicates by key merged, first one wins). */
export function requirementPackages(requirements: readonly Requirement[]): PackageAsset[] {
  const byKey = new Map<string, PackageAsset>();
  for (const r of requirements) {
    const properties: Property[] = [];
    if (r.extras.length > 0) properties.push({ name: 'mlbom:extras', value: r.extras.join(',') });
    if (r.marker) properties.push({ name: 'mlbom:marker', value: r.marker });
    if (r.url) properties.push({ name: 'mlbom:url', value: r.url });
    if (r.hashes) properties.push({ name: 'mlbom:hashes', value: r.hashes.join(',') });
    const pkg = pypiPackage({
      name: r.name,
      exactVersion: r.exactVersion,
      versionSpec: r.versionSpec,
      properties,
    });
    if (!byKey.has(pkg.key)) byKey.set(pkg.key, pkg);
  }
  return [...byKey.values()];
}
