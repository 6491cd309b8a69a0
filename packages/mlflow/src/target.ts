import { MlbomError } from '@mlbom/core';

/** The registry marker target: `mlflow-registry:` followed by an optional MLflow search filter. */
export const REGISTRY_PREFIX = 'mlflow-registry:';

/** What an MLflow target names. */
export type MlflowTarget =
  | { kind: 'model-version'; name: string; version: string }
  | { kind: 'model-alias'; name: string; alias: string }
  /** `models:/<name>/latest` or `models:/<name>/<stage>` (MLflow 2 stages). */
  | { kind: 'model-latest'; name: string; stage?: string | undefined }
  /** MLflow 3: `models:/m-<id>`. */
  | { kind: 'logged-model'; modelId: string }
  | { kind: 'run-artifact'; runId: string; path: string }
  | { kind: 'registry'; filter?: string | undefined }
  /** A file store given as the target itself (path or `file:` URI). */
  | { kind: 'store'; path: string };

/** The marker target for a registry-wide inventory. */
export function registryTarget(filter?: string): string {
  return `${REGISTRY_PREFIX}${filter?.trim() ?? ''}`;
}

/**
 * Parses `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/latest|<stage>`,
 * `models:/m-<id>`, `runs:/<run_id>/<artifact_path>` and `mlflow-registry:[<filter>]`.
 * Returns undefined for anything else (paths are checked by the caller).
 * @throws {MlbomError} INVALID_INPUT for a malformed MLflow URI, naming it
 */
export function parseMlflowUri(target: string): MlflowTarget | undefined {
  if (target.toLowerCase().startsWith(REGISTRY_PREFIX)) {
    const filter = target.slice(REGISTRY_PREFIX.length).trim();
    return { kind: 'registry', ...(filter ? { filter } : {}) };
  }
  const models = /^models:\/+(.*)$/i.exec(target);
  if (models) {
    const rest = (models[1] ?? '').replace(/\/+$/, '');
    const at = rest.lastIndexOf('@');
    if (at > 0 && !rest.slice(at).includes('/')) {
      const name = rest.slice(0, at);
      const alias = rest.slice(at + 1);
      if (alias) return { kind: 'model-alias', name, alias };
    }
    const slash = rest.lastIndexOf('/');
    if (slash < 0) {
      if (/^m-[A-Za-z0-9_-]+$/.test(rest)) return { kind: 'logged-model', modelId: rest };
      if (rest) return { kind: 'model-latest', name: rest };
    } else {
      const name = rest.slice(0, slash);
      const version = rest.slice(slash + 1);
      if (name && /^\d+$/.test(version)) return { kind: 'model-version', name, version };
      if (name && version.toLowerCase() === 'latest') return { kind: 'model-latest', name };
      if (name && version) return { kind: 'model-latest', name, stage: version };
    }
    throw new MlbomError(
      'INVALID_INPUT',
      `${target}: not an MLflow model URI (models:/<name>/<version>, models:/<name>@<alias>, models:/m-<id>)`,
    );
  }
  const runs = /^runs:\/+([^/]+)\/?(.*)$/i.exec(target);
  if (runs) {
    const runId = runs[1] as string;
    const path = (runs[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (!/^[\w-]+$/.test(runId) || path.split('/').includes('..')) {
      throw new MlbomError('INVALID_INPUT', `${target}: not an MLflow run URI (runs:/<run_id>/<artifact_path>)`);
    }
    return { kind: 'run-artifact', runId, path };
  }
  if (/^runs:/i.test(target)) {
    throw new MlbomError('INVALID_INPUT', `${target}: not an MLflow run URI (runs:/<run_id>/<artifact_path>)`);
  }
  return undefined;
}
