// Loads the hand-built file store under test/fixtures/mlruns into the JSON the MLflow REST API
// serves, as a tracking server started with `--serve-artifacts` would present it: artifact
// locations become `mlflow-artifacts:/...` URIs. Test code only: independent of @mlbom/mlflow's reader.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

export type Json = Record<string, unknown>;

export interface FakeRegistry {
  /** Where artifact bytes live: `mlflow-artifacts:/<path>` is `<root>/<path>`. */
  root: string;
  registeredModels: Json[];
  /** name → versions (REST shape). */
  versions: Map<string, Json[]>;
  runs: Map<string, Json>;
  loggedModels: Map<string, Json>;
  /** experiments/search shape, active experiments only. */
  experiments: Json[];
}

const RUN_STATUS = ['', 'RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const LOGGED_STATUS = [
  'LOGGED_MODEL_STATUS_UNSPECIFIED',
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
];

const yamlFile = (path: string) => parse(readFileSync(path, 'utf8')) as Json;
const dirs = (path: string) =>
  existsSync(path)
    ? readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];

/** `params/`, `tags/`: one file per key, nested folders for keys with `/`. */
function keyValues(dir: string): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push({ key: relative(dir, full).split('\\').join('/'), value: readFileSync(full, 'utf8') });
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** Every metric point (the REST API of runs/get returns the latest per key; we do that in the server). */
function metricPoints(dir: string): Json[] {
  return keyValues(dir).flatMap(({ key, value }) =>
    value
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .map((p) => ({
        key,
        timestamp: Number(p[0]),
        value: Number(p[1]),
        step: Number(p[2] ?? 0),
        ...(p.length >= 6 ? { dataset_name: p[4], dataset_digest: p[5] } : {}),
      })),
  );
}

function latest(points: Json[]): Json[] {
  const best = new Map<string, Json>();
  for (const p of points) {
    const seen = best.get(p.key as string);
    const newer =
      !seen ||
      (p.step as number) > (seen.step as number) ||
      ((p.step as number) === (seen.step as number) && (p.timestamp as number) > (seen.timestamp as number));
    if (newer) best.set(p.key as string, p);
  }
  return [...best.values()];
}

/** `file:///anywhere/mlruns/<rest>` as the artifact proxy names it. */
function proxied(uri: string): string {
  const match = /\/mlruns\/(.*)$/.exec(uri);
  return match ? `mlflow-artifacts:/${match[1]}` : uri;
}

export function loadRegistry(root: string): FakeRegistry {
  const runs = new Map<string, Json>();
  const loggedModels = new Map<string, Json>();
  const experiments: Json[] = [];
  for (const exp of dirs(root).filter((d) => /^\d+$/.test(d))) {
    const expDir = join(root, exp);
    const expMeta = yamlFile(join(expDir, 'meta.yaml'));
    experiments.push({
      experiment_id: exp,
      name: expMeta.name,
      artifact_location: proxied(String(expMeta.artifact_location)),
      lifecycle_stage: expMeta.lifecycle_stage,
      // int64s as strings, as some servers send them.
      creation_time: String(expMeta.creation_time),
      last_update_time: String(expMeta.last_update_time),
    });
    for (const runId of dirs(expDir).filter((d) => existsSync(join(expDir, d, 'meta.yaml')))) {
      const dir = join(expDir, runId);
      const meta = yamlFile(join(dir, 'meta.yaml'));
      const inputs = dirs(join(dir, 'inputs')).map((id) => {
        const input = yamlFile(join(dir, 'inputs', id, 'meta.yaml'));
        const dataset = yamlFile(join(expDir, 'datasets', String(input.source_id), 'meta.yaml'));
        return {
          tags: Object.entries((input.tags as Json) ?? {}).map(([key, value]) => ({ key, value })),
          dataset,
        };
      });
      runs.set(runId, {
        info: {
          run_id: runId,
          run_uuid: runId,
          run_name: meta.run_name,
          experiment_id: String(meta.experiment_id),
          user_id: meta.user_id,
          status: RUN_STATUS[meta.status as number],
          start_time: meta.start_time,
          end_time: meta.end_time,
          artifact_uri: `mlflow-artifacts:/${exp}/${runId}/artifacts`,
          lifecycle_stage: meta.lifecycle_stage,
        },
        data: {
          // int64s as strings here, as some servers (and proxies) send them.
          // runs/get returns the latest value of each metric.
          metrics: latest(metricPoints(join(dir, 'metrics'))).map((m) => ({
            ...m,
            timestamp: String(m.timestamp),
            step: String(m.step),
          })),
          params: keyValues(join(dir, 'params')),
          tags: keyValues(join(dir, 'tags')),
        },
        inputs: { dataset_inputs: inputs, model_inputs: [] },
      });
    }
    for (const id of dirs(join(expDir, 'models'))) {
      const dir = join(expDir, 'models', id);
      const meta = yamlFile(join(dir, 'meta.yaml'));
      const tags = keyValues(join(dir, 'tags'));
      const registrations = JSON.parse(tags.find((t) => t.key === 'mlflow.modelVersions')?.value ?? '[]') as Json[];
      loggedModels.set(id, {
        info: {
          model_id: id,
          experiment_id: String(meta.experiment_id),
          name: meta.name,
          // int64s as strings, as proto3 JSON allows.
          creation_timestamp_ms: String(meta.creation_timestamp),
          last_updated_timestamp_ms: String(meta.last_updated_timestamp),
          artifact_uri: proxied(String(meta.artifact_location)),
          status: LOGGED_STATUS[meta.status as number],
          model_type: meta.model_type || undefined,
          source_run_id: meta.source_run_id,
          tags,
          registrations: registrations.map((r) => ({ name: r.name, version: String(r.version) })),
        },
        data: { params: keyValues(join(dir, 'params')), metrics: latest(metricPoints(join(dir, 'metrics'))) },
      });
    }
  }

  const registeredModels: Json[] = [];
  const versions = new Map<string, Json[]>();
  for (const name of dirs(join(root, 'models'))) {
    const dir = join(root, 'models', name);
    const meta = yamlFile(join(dir, 'meta.yaml'));
    const aliases = keyValues(join(dir, 'aliases')).map((a) => ({ alias: a.key, version: a.value.trim() }));
    const list = dirs(dir)
      .filter((d) => d.startsWith('version-'))
      .map((d) => {
        const v = yamlFile(join(dir, d, 'meta.yaml'));
        const version = String(v.version);
        const source = String(v.source);
        return {
          name,
          version,
          creation_timestamp: v.creation_timestamp,
          last_updated_timestamp: v.last_updated_timestamp,
          user_id: v.user_id ?? undefined,
          current_stage: v.current_stage,
          description: v.description,
          source: source.startsWith('file:') ? proxied(source) : source,
          run_id: v.run_id || undefined,
          status: v.status,
          tags: keyValues(join(dir, d, 'tags')),
          run_link: '',
          aliases: aliases.filter((a) => a.version === version).map((a) => a.alias),
          ...(v.model_id ? { model_id: v.model_id } : {}),
          storage_location: proxied(String(v.storage_location ?? source)),
        } as Json;
      })
      .sort((a, b) => Number(a.version) - Number(b.version));
    versions.set(name, list);
    registeredModels.push({
      name,
      creation_timestamp: meta.creation_timestamp,
      last_updated_timestamp: meta.last_updated_timestamp,
      description: meta.description,
      tags: keyValues(join(dir, 'tags')),
      aliases,
      latest_versions: list
        .slice(-1)
        .map((v) => ({ name, version: v.version, current_stage: v.current_stage, status: v.status })),
    });
  }
  return { root, registeredModels, versions, runs, loggedModels, experiments };
}

export function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
