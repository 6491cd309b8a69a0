import {
  isMlFramework,
  type ModelAsset,
  normalizePythonName,
  type PackageAsset,
  type Problem,
  type Property,
  pypiPackage,
} from '@mlbom/core';
import { PackageURL } from 'packageurl-js';
import { parse as parseToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import { huggingFaceAncestor } from './card.js';
import {
  normalizeVersion,
  parseRequirements,
  type RequirementInclude,
  type RequirementsFile,
  redactUrl,
} from './requirements.js';

/** What a Python dependency file says: packages to list, file-level facts, and what could not be read. */
export interface PythonStack {
  packages: PackageAsset[];
  properties: Property[];
  problems: Problem[];
  /** `-r` / `-c` lines met (pip sections of conda files, python_env.yaml, requirements files). */
  includes: RequirementInclude[];
}

const MAX_PACKAGES = 5000;

function stack(): PythonStack {
  return { packages: [], properties: [], problems: [], includes: [] };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Adds packages, merging duplicates by key (first wins, properties unioned). */
function addPackages(out: PythonStack, packages: PackageAsset[], extra: Property[] = []): void {
  for (const pkg of packages) {
    const withExtra = { ...pkg, properties: [...(pkg.properties ?? []), ...extra] };
    const existing = out.packages.find((p) => p.key === pkg.key);
    if (existing) {
      existing.properties = existing.properties ?? [];
      const props = existing.properties;
      for (const p of withExtra.properties) {
        if (!props.some((q) => q.name === p.name && q.value === p.value)) props.push(p);
      }
    } else if (out.packages.length < MAX_PACKAGES) out.packages.push(withExtra);
  }
}

function absorb(out: PythonStack, parsed: RequirementsFile, extra: Property[] = []): void {
  addPackages(out, parsed.packages, extra);
  out.properties.push(...parsed.properties);
  out.problems.push(...parsed.problems);
  out.includes.push(...parsed.includes);
}

function yamlData(text: string, subject: string, code: string, out: PythonStack): unknown {
  const doc = parseDocument(text, { prettyErrors: false, logLevel: 'silent', uniqueKeys: false });
  if (doc.errors.length > 0) {
    out.problems.push({
      code,
      message: `not valid YAML: ${(doc.errors[0]?.message ?? 'invalid').split('\n')[0]}`,
      subject,
    });
    return undefined;
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    out.problems.push({ code, message: `cannot be read: ${(error as Error).message}`, subject });
    return undefined;
  }
}

// ---- pyproject.toml ----

/** A Poetry constraint: a bare full version or `==x` is a pin; anything else stays as written. */
function poetryPackage(name: string, spec: unknown, extra: Property[]): PackageAsset | undefined {
  const properties = [...extra];
  let constraint: string | undefined;
  if (typeof spec === 'string') constraint = spec.trim();
  else if (isRecord(spec)) {
    if (typeof spec.version === 'string') constraint = spec.version.trim();
    if (Array.isArray(spec.extras)) properties.push({ name: 'mlbom:extras', value: spec.extras.map(String).join(',') });
    if (typeof spec.markers === 'string') properties.push({ name: 'mlbom:marker', value: spec.markers });
    if (spec.optional === true) properties.push({ name: 'mlbom:optional', value: 'true' });
    for (const key of ['git', 'url', 'path'] as const) {
      if (typeof spec[key] === 'string') properties.push({ name: 'mlbom:url', value: redactUrl(spec[key]) });
    }
  } else if (Array.isArray(spec)) {
    const versions = spec.flatMap((s) => (isRecord(s) && typeof s.version === 'string' ? [s.version] : []));
    if (versions.length > 0) constraint = versions.join(' || ');
  } else return undefined;
  const exact =
    constraint && /^(==)?\s*[vV]?\d+(\.\d+)*([a-zA-Z0-9.+!-]*)$/.test(constraint) && !constraint.includes('*')
      ? normalizeVersion(constraint.replace(/^==\s*/, ''))
      : undefined;
  return pypiPackage({
    name,
    exactVersion: exact,
    versionSpec: !exact && constraint && constraint !== '*' ? `${normalizePythonName(name)}${constraint}` : undefined,
    properties,
  });
}

/**
 * Reads a `pyproject.toml`: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
 * `[dependency-groups]`, and Poetry's `[tool.poetry]` dependencies and groups. Never throws.
 */
export function parsePyproject(text: string, subject: string): PythonStack {
  const out = stack();
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? 'invalid TOML';
    out.problems.push({ code: 'PYPROJECT_INVALID', message: `not valid TOML: ${message}`, subject });
    return out;
  }
  const requirementLines = (list: unknown, extra: Property[]) => {
    if (!Array.isArray(list)) return;
    const lines = list.filter((x): x is string => typeof x === 'string');
    absorb(out, parseRequirements(lines.join('\n'), subject), extra);
  };
  const project = data.project;
  if (isRecord(project)) {
    if (typeof project.name === 'string') out.properties.push({ name: 'mlbom:project:name', value: project.name });
    if (typeof project.version === 'string')
      out.properties.push({ name: 'mlbom:project:version', value: project.version });
    if (typeof project['requires-python'] === 'string') {
      out.properties.push({ name: 'mlbom:requiresPython', value: project['requires-python'] });
    }
    requirementLines(project.dependencies, []);
    if (isRecord(project['optional-dependencies'])) {
      for (const [group, list] of Object.entries(project['optional-dependencies'])) {
        requirementLines(list, [{ name: 'mlbom:optionalGroup', value: group }]);
      }
    }
  }
  if (isRecord(data['dependency-groups'])) {
    for (const [group, list] of Object.entries(data['dependency-groups'])) {
      requirementLines(list, [{ name: 'mlbom:dependencyGroup', value: group }]);
    }
  }
  const tool = isRecord(data.tool) ? data.tool : {};
  const poetry = isRecord(tool.poetry) ? tool.poetry : undefined;
  if (poetry) {
    if (!isRecord(project)) {
      if (typeof poetry.name === 'string') out.properties.push({ name: 'mlbom:project:name', value: poetry.name });
      if (typeof poetry.version === 'string')
        out.properties.push({ name: 'mlbom:project:version', value: poetry.version });
    }
    const table = (deps: unknown, extra: Property[]) => {
      if (!isRecord(deps)) return;
      for (const [name, spec] of Object.entries(deps)) {
        if (name.toLowerCase() === 'python') {
          if (typeof spec === 'string') out.properties.push({ name: 'mlbom:requiresPython', value: spec });
          continue;
        }
        const pkg = poetryPackage(name, spec, extra);
        if (pkg) addPackages(out, [pkg]);
        else
          out.problems.push({
            code: 'REQUIREMENT_SKIPPED',
            message: `poetry dependency "${name}" not understood`,
            subject,
          });
      }
    };
    table(poetry.dependencies, []);
    table(poetry['dev-dependencies'], [{ name: 'mlbom:dependencyGroup', value: 'dev' }]);
    if (isRecord(poetry.group)) {
      for (const [group, body] of Object.entries(poetry.group)) {
        if (isRecord(body)) table(body.dependencies, [{ name: 'mlbom:dependencyGroup', value: group }]);
      }
    }
  }
  return out;
}

// ---- conda environment.yml / MLflow conda.yaml ----

/** Conda names that are ML frameworks under another name than on PyPI. */
const CONDA_FRAMEWORKS = new Set([
  'pytorch',
  'pytorch-cuda',
  'pytorch-gpu',
  'pytorch-cpu',
  'tensorflow-base',
  'py-xgboost',
  'libtorch',
]);

/**
 * One conda match spec: `name`, `name=1.2`, `name==1.2`, `name=1.2=build`, `name 1.2 build`,
 * `channel::name>=1.2`. A `=`-pinned version (with or without build) is taken as the version.
 */
export function condaPackage(spec: string, subject: string): PackageAsset | Problem {
  let rest = spec.trim();
  let channel: string | undefined;
  const channelMatch = /^([^:\s]+)::(.+)$/.exec(rest);
  if (channelMatch) {
    channel = channelMatch[1];
    rest = channelMatch[2] as string;
  }
  let name: string;
  let version: string | undefined;
  let build: string | undefined;
  let versionSpec: string | undefined;
  const spaced = /^([A-Za-z0-9_.-]+)\s+([^\s]+)(?:\s+([^\s]+))?$/.exec(rest);
  const pinned = /^([A-Za-z0-9_.-]+)\s*==?\s*([^=\s<>!~,|*]+)(?:=([^=\s]+))?$/.exec(rest);
  if (pinned) {
    name = pinned[1] as string;
    version = pinned[2];
    build = pinned[3];
  } else if (spaced && /^[\d]/.test(spaced[2] as string) && !/[<>!~,|*]/.test(spaced[2] as string)) {
    name = spaced[1] as string;
    version = spaced[2];
    build = spaced[3];
  } else {
    const m = /^([A-Za-z0-9_.-]+)\s*(.*)$/.exec(rest);
    if (!m)
      return {
        code: 'REQUIREMENT_SKIPPED',
        message: `conda dependency "${spec.slice(0, 200)}" not understood`,
        subject,
      };
    name = m[1] as string;
    const constraint = (m[2] as string).trim();
    if (constraint) versionSpec = `${name}${constraint.replace(/\s+/g, '')}`;
  }
  const lower = name.toLowerCase();
  const qualifiers: Record<string, string> = {};
  if (build) qualifiers.build = build;
  if (channel) qualifiers.channel = channel;
  const purl = new PackageURL(
    'conda',
    undefined,
    lower,
    version,
    Object.keys(qualifiers).length > 0 ? qualifiers : undefined,
    undefined,
  ).toString();
  return {
    kind: 'package',
    key: purl,
    name: lower,
    ...(version ? { version } : {}),
    ...(versionSpec ? { versionSpec } : {}),
    purl,
    role: isMlFramework(lower) || CONDA_FRAMEWORKS.has(lower) ? 'framework' : 'library',
    ecosystem: 'conda',
    properties: [],
  };
}

/**
 * Reads a conda `environment.yml` (or MLflow's `conda.yaml`): conda packages as `pkg:conda`, the
 * `pip:` section as `pkg:pypi`, channels as a property. Never throws.
 */
export function parseCondaEnvironment(text: string, subject: string): PythonStack {
  const out = stack();
  const data = yamlData(text, subject, 'CONDA_INVALID', out);
  if (data === undefined || data === null) return out;
  if (!isRecord(data)) {
    out.problems.push({ code: 'CONDA_INVALID', message: 'not a conda environment (not a mapping)', subject });
    return out;
  }
  if (typeof data.name === 'string') out.properties.push({ name: 'mlbom:conda:name', value: data.name });
  if (Array.isArray(data.channels)) {
    out.properties.push({ name: 'mlbom:conda:channels', value: data.channels.map(String).map(redactUrl).join(',') });
  }
  const deps = Array.isArray(data.dependencies) ? data.dependencies : [];
  for (const dep of deps) {
    if (typeof dep === 'string') {
      const pkg = condaPackage(dep, subject);
      if ('code' in pkg) out.problems.push(pkg);
      else addPackages(out, [pkg]);
    } else if (isRecord(dep) && Array.isArray(dep.pip)) {
      absorb(out, parseRequirements(dep.pip.filter((x) => typeof x === 'string').join('\n'), subject));
    } else if (typeof dep === 'number') {
      out.problems.push({ code: 'REQUIREMENT_SKIPPED', message: `conda dependency ${dep} not understood`, subject });
    }
  }
  return out;
}

/**
 * Reads MLflow's `python_env.yaml`: `python` (as a property), `build_dependencies` and
 * `dependencies` (pip requirement lines; `-r` lines are listed in `includes`). Never throws.
 */
export function parsePythonEnv(text: string, subject: string): PythonStack {
  const out = stack();
  const data = yamlData(text, subject, 'PYTHON_ENV_INVALID', out);
  if (data === undefined || data === null) return out;
  if (!isRecord(data)) {
    out.problems.push({ code: 'PYTHON_ENV_INVALID', message: 'not a python_env.yaml (not a mapping)', subject });
    return out;
  }
  if (typeof data.python === 'string' || typeof data.python === 'number') {
    out.properties.push({ name: 'mlbom:python:version', value: String(data.python) });
  }
  const lines = (v: unknown) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string').join('\n') : '');
  absorb(out, parseRequirements(lines(data.build_dependencies), subject), [{ name: 'mlbom:scope', value: 'build' }]);
  absorb(out, parseRequirements(lines(data.dependencies), subject));
  return out;
}

// ---- following -r includes ----

/** How deep `-r` includes are followed, and how many files at most. */
export const REQUIREMENTS_INCLUDE_LIMITS = { maxDepth: 5, maxFiles: 50 };

/**
 * Normalises `relative` against the folder of `from` (both posix, relative to a root); undefined
 * when it leaves the root, is absolute, or is a URL.
 */
export function resolveInside(from: string, relative: string): string | undefined {
  if (/^([a-z][a-z0-9+.-]*:|\/|\\)/i.test(relative) || /^[a-z]:/i.test(relative)) return undefined;
  const parts = from.split('/').slice(0, -1);
  for (const part of relative.replaceAll('\\', '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

/**
 * Reads a requirements file and the files its `-r` lines include (depth ≤ 5, ≤ 50 files, never
 * outside the root, each once); `-c` constraint files are noted, not listed as requirements.
 * `read(path)` returns the text of a path relative to the root, or undefined when it cannot.
 */
export async function readRequirementsTree(
  path: string,
  read: (path: string) => Promise<string | undefined>,
  start?: string,
): Promise<PythonStack & { files: string[] }> {
  const out = { ...stack(), files: [] as string[] };
  const seen = new Set<string>();
  const visit = async (file: string, text: string | undefined, depth: number) => {
    seen.add(file);
    const content = text ?? (await read(file));
    if (content === undefined) return false;
    out.files.push(file);
    const parsed = parseRequirements(content, file);
    addPackages(out, parsed.packages);
    out.properties.push(...parsed.properties);
    out.problems.push(...parsed.problems);
    for (const inc of parsed.includes) {
      const target = resolveInside(file, inc.path);
      const where = `line ${inc.line}: ${inc.kind === 'constraints' ? '-c' : '-r'} ${inc.path}`;
      if (inc.kind === 'constraints') {
        out.problems.push({
          code: 'REQUIREMENT_SKIPPED',
          message: `${where} not followed (constraints file)`,
          subject: file,
        });
      } else if (target === undefined) {
        out.problems.push({
          code: 'REQUIREMENT_SKIPPED',
          message: `${where} not followed (outside the scanned folder)`,
          subject: file,
        });
      } else if (seen.has(target)) {
        // Already read (or an include cycle): nothing more to learn.
      } else if (depth >= REQUIREMENTS_INCLUDE_LIMITS.maxDepth || seen.size >= REQUIREMENTS_INCLUDE_LIMITS.maxFiles) {
        out.problems.push({
          code: 'REQUIREMENT_SKIPPED',
          message: `${where} not followed (includes nested too deep)`,
          subject: file,
        });
      } else if (!(await visit(target, undefined, depth + 1))) {
        out.problems.push({
          code: 'REQUIREMENT_SKIPPED',
          message: `${where} not followed (cannot read it)`,
          subject: file,
        });
      }
    }
    return true;
  };
  await visit(path, start, 0);
  return out;
}

// ---- model references in code ----

export interface ModelReference {
  /** The Hub id as written (`org/name` or a legacy bare name). */
  id: string;
  /** Where: the file path, with `#cell=N` for notebooks. */
  location: string;
  line: number;
  /** What referenced it: `from_pretrained`, `pipeline`, `hf_hub_download`, `snapshot_download`. */
  via: string;
}

const MAX_REFERENCES = 10_000;
const HUB_ID = /^[A-Za-z0-9][\w.-]{0,95}(?:\/[A-Za-z0-9][\w.-]{0,95})?$/;
const CALL_RE = /\b(from_pretrained|pipeline|hf_hub_download|snapshot_download)\s*\(/g;

/** A Hub id, not a path: `org/name`, or a legacy bare id with a digit or dash (`gpt2`, `bert-base-uncased`). */
function plausibleHubId(id: string): boolean {
  if (!HUB_ID.test(id) || id.includes('..')) return false;
  if (/\.(bin|pt|pth|safetensors|onnx|json|h5|gguf|ckpt|pkl|txt)$/i.test(id)) return false;
  return id.includes('/') || /[\d-]/.test(id);
}

/** The argument text of a call starting at `open` (just after `(`), up to its closing parenthesis. */
function callArgs(text: string, open: number): string {
  let depth = 1;
  const limit = Math.min(text.length, open + 2000);
  for (let i = open; i < limit; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return text.slice(open, i);
  }
  return text.slice(open, limit);
}

function referencedId(via: string, args: string): string | undefined {
  const keyword = (name: string) =>
    new RegExp(String.raw`\b${name}\s*=\s*[rRuU]?(['"])([^'"\n\\]{1,200})\1`).exec(args)?.[2];
  const positional = (index: 0 | 1) => {
    const m = /^\s*[rRuU]?(['"])([^'"\n\\]{0,200})\1(?:\s*,\s*[rRuU]?(['"])([^'"\n\\]{1,200})\3)?/.exec(args);
    return index === 0 ? m?.[2] : m?.[4];
  };
  switch (via) {
    case 'from_pretrained':
      return keyword('pretrained_model_name_or_path') ?? positional(0);
    case 'pipeline':
      return keyword('model') ?? positional(1);
    default:
      if (/\brepo_type\s*=\s*['"](dataset|space)s?['"]/.test(args)) return undefined;
      return keyword('repo_id') ?? positional(0);
  }
}

/** Hub model ids referenced in Python source (`from_pretrained("org/name")`, `pipeline(model=...)`, ...). */
export function findModelReferences(source: string, location: string, lineOffset = 0): ModelReference[] {
  const out: ModelReference[] = [];
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineOf = (index: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const match of source.matchAll(CALL_RE)) {
    if (out.length >= MAX_REFERENCES) break;
    const index = match.index ?? 0;
    const line = lineOf(index);
    const lineText = source.slice(lineStarts[line], index);
    if (lineText.includes('#')) continue; // commented out
    const via = match[1] as string;
    const id = referencedId(via, callArgs(source, index + match[0].length));
    if (id && plausibleHubId(id)) out.push({ id, location, line: line + 1 + lineOffset, via });
  }
  return out;
}

/** Hub model ids referenced in a Jupyter notebook's code cells; locations are `path#cell=N`. */
export function findNotebookModelReferences(
  json: string,
  location: string,
): { references: ModelReference[]; problems: Problem[] } {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return {
      references: [],
      problems: [
        { code: 'NOTEBOOK_INVALID', message: `not valid JSON: ${(error as Error).message}`, subject: location },
      ],
    };
  }
  const cells = isRecord(data) && Array.isArray(data.cells) ? data.cells : [];
  const references: ModelReference[] = [];
  cells.forEach((cell, i) => {
    if (!isRecord(cell) || cell.cell_type !== 'code') return;
    const source = Array.isArray(cell.source) ? cell.source.filter((s) => typeof s === 'string').join('') : cell.source;
    if (typeof source === 'string') references.push(...findModelReferences(source, `${location}#cell=${i + 1}`));
  });
  return { references, problems: [] };
}

/** One referenced-model asset per Hub id, with every place it was seen as evidence occurrences. */
export function referencedModels(references: readonly ModelReference[]): ModelAsset[] {
  const byKey = new Map<string, ModelAsset & { occurrences: { location: string; line?: number }[] }>();
  for (const ref of references) {
    const ancestor = huggingFaceAncestor(ref.id);
    if (!ancestor.purl) continue;
    let model = byKey.get(ancestor.key);
    if (!model) {
      model = {
        kind: 'model',
        key: ancestor.key,
        name: ancestor.name,
        ...(ancestor.group ? { group: ancestor.group } : {}),
        purl: ancestor.purl,
        ...(ancestor.url ? { externalReferences: [{ type: 'website' as const, url: ancestor.url }] } : {}),
        properties: [{ name: 'mlbom:referenced', value: 'code' }],
        occurrences: [],
        files: [],
      };
      byKey.set(ancestor.key, model);
    }
    if (
      model.occurrences.length < 100 &&
      !model.occurrences.some((o) => o.location === ref.location && o.line === ref.line)
    ) {
      model.occurrences.push({ location: ref.location, line: ref.line });
    }
  }
  return [...byKey.values()];
}
