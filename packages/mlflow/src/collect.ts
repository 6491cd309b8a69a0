import {
  type ByteSource,
  type DatasetAsset,
  type FileAsset,
  type Finding,
  type Inventory,
  isMlbomError,
  MlbomError,
  type ModelAsset,
  type ModelCardAsset,
  type PackageAsset,
  type Problem,
  type Property,
  type Relation,
  type SourceContext,
} from '@mlbom/core';
import { describeModelFile, type FileDescription, frameworkPackage, modelParameterProperties } from '@mlbom/formats';
import { scanIfRelevant } from '@mlbom/scanner';
import { PackageURL } from 'packageurl-js';
import { artifactFormat, isModelFile } from './artifact-format.js';
import { type EnvironmentFacts, readCondaYaml, readPythonEnvYaml, readRequirements } from './env.js';
import { type MlmodelInfo, mlmodelFacts, parseMlmodel } from './mlmodel.js';
import type { ResolvedMlflowOptions } from './options.js';
import type {
  ArtifactTree,
  DatasetInput,
  LoggedModel,
  Metric,
  MlflowBackend,
  ModelVersion,
  RegisteredModel,
  Run,
} from './types.js';
import { cached, compare, isoTime, isRecord, keySegment, metricValue, parseJson, prop, safeUri } from './util.js';

/** What a scanner says about one file (the @mlbom/scanner `scan(byteSource, {path})` shape). */
export interface ScanResult {
  status: 'clean' | 'unsafe' | 'error';
  findings: Finding[];
  problems?: Problem[] | undefined;
}
/**
 * Scans downloaded artifact bytes for code hidden in model files; undefined when the file is not
 * worth scanning. The default is @mlbom/scanner's; tests and embedders may inject another.
 */
export type ArtifactScanner = (
  bytes: ByteSource,
  info: { path: string; signal?: AbortSignal | undefined },
) => Promise<ScanResult | undefined>;

export interface MlflowHooks {
  /** Security scanner run over every downloaded model file (default: @mlbom/scanner, unless `scan: false`). */
  scan?: ArtifactScanner | undefined;
}

/** @mlbom/scanner over a downloaded artifact: only files whose name or first bytes make them worth it. */
export const defaultScanner: ArtifactScanner = (bytes, info) =>
  scanIfRelevant(bytes, { path: info.path, ...(info.signal ? { signal: info.signal } : {}) });

/** Longest MLmodel / environment file read. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** Longest property value taken from a tag or parameter. */
const MAX_VALUE = 4000;

const RUN_TAGS: Record<string, string> = {
  'mlflow.source.git.commit': 'mlbom:mlflow:run:git-commit',
  'mlflow.source.git.branch': 'mlbom:mlflow:run:git-branch',
  'mlflow.source.git.repoURL': 'mlbom:mlflow:run:git-repo',
  'mlflow.source.name': 'mlbom:mlflow:run:source-name',
  'mlflow.source.type': 'mlbom:mlflow:run:source-type',
  'mlflow.parentRunId': 'mlbom:mlflow:run:parent-run-id',
};

type MutableModel = ModelAsset & {
  properties: Property[];
  problems: Problem[];
  files: FileAsset[];
  authors: string[];
  externalReferences: NonNullable<ModelAsset['externalReferences']>;
};

function clip(value: string): string {
  return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE - 1)}…` : value;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function rethrowFatal(error: unknown): void {
  if (isMlbomError(error) && error.code === 'ABORTED') throw error;
}

/** Strings in a JSON value that are URIs, with credentials and query strings removed. */
function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return safeUri(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactJson(v)]));
  return value;
}

/** `pkg:mlflow/<name>@<version>?repository_url=...&model_uuid=...&run_id=...` (no credentials). */
export function mlflowPurl(input: {
  name: string;
  version: string;
  repositoryUrl?: string | undefined;
  modelUuid?: string | undefined;
  runId?: string | undefined;
}): string {
  const qualifiers: Record<string, string> = {};
  if (input.repositoryUrl) qualifiers.repository_url = safeUri(input.repositoryUrl);
  if (input.modelUuid) qualifiers.model_uuid = input.modelUuid;
  if (input.runId) qualifiers.run_id = input.runId;
  return new PackageURL(
    'mlflow',
    undefined,
    input.name,
    input.version,
    Object.keys(qualifiers).length > 0 ? qualifiers : undefined,
    undefined,
  ).toString();
}

/** Gathers the assets of one collect() call. */
export class Assembler {
  readonly models: MutableModel[] = [];
  readonly datasets = new Map<string, DatasetAsset & { properties: Property[] }>();
  readonly packages = new Map<string, PackageAsset>();
  readonly relations = new Map<string, Relation>();
  readonly problems: Problem[] = [];
  private readonly runs = new Map<string, Promise<Run>>();
  private readonly loggedModels = new Map<string, Promise<LoggedModel>>();
  /** Experiments the models read so far come from (their runs and logged models). */
  readonly experimentIds = new Set<string>();

  constructor(
    readonly backend: MlflowBackend | undefined,
    readonly ctx: SourceContext,
    readonly options: ResolvedMlflowOptions,
    readonly hooks: MlflowHooks,
  ) {}

  checkAborted(what: string): void {
    if (this.ctx.signal.aborted) throw new MlbomError('ABORTED', `${what}: aborted`);
  }

  relate(relation: Relation): void {
    this.relations.set(JSON.stringify(relation), relation);
  }

  addPackage(from: string, pkg: PackageAsset): void {
    const existing = this.packages.get(pkg.key);
    if (!existing) this.packages.set(pkg.key, pkg);
    else if (pkg.properties?.length) {
      const props = [...(existing.properties ?? [])];
      for (const p of pkg.properties) if (!props.some((q) => q.name === p.name && q.value === p.value)) props.push(p);
      existing.properties = props;
    }
    this.relate({ type: 'depends-on', from, to: pkg.key });
  }

  problem(model: MutableModel, code: string, message: string, subject: string, warn = true): void {
    model.problems.push({ code, message, subject });
    if (warn) this.ctx.logger.warn(`${subject}: ${message}`);
  }

  private cachedRun(runId: string): Promise<Run> {
    return cached(this.runs, runId, () => (this.backend as MlflowBackend).getRun(runId, `run ${runId}`));
  }

  private cachedLoggedModel(modelId: string): Promise<LoggedModel> {
    return cached(this.loggedModels, modelId, () =>
      (this.backend as MlflowBackend).getLoggedModel(modelId, `logged model ${modelId}`),
    );
  }

  newModel(key: string, name: string): MutableModel {
    return {
      kind: 'model',
      key,
      name,
      properties: [],
      problems: [],
      files: [],
      authors: [],
      externalReferences: [],
    };
  }

  /** A model that could not be read: listed under its purl with what went wrong. */
  addUnreadable(purl: string, name: string, version: string, problem: Problem): void {
    const model = this.newModel(purl, name);
    model.purl = purl;
    model.version = version;
    model.problems.push(problem);
    this.ctx.logger.warn(`${problem.subject}: ${problem.message}`);
    this.finish(model, {});
  }

  /** A registered model version with its run, logged model, artifacts and datasets. */
  async addVersion(version: ModelVersion, registered: RegisteredModel | undefined): Promise<void> {
    const backend = this.backend as MlflowBackend;
    const subject = `models:/${version.name}/${version.version}`;
    this.checkAborted(subject);
    const model = this.newModel(
      mlflowPurl({ name: version.name, version: version.version, repositoryUrl: backend.repositoryUrl }),
      version.name,
    );
    model.version = version.version;
    if (version.problem) {
      this.problem(model, 'VERSION_UNREADABLE', version.problem, subject);
      this.finish(model, {});
      return;
    }
    const description = version.description ?? registered?.description;
    if (description) model.description = description;
    const aliases = new Set(version.aliases);
    for (const a of registered?.aliases ?? []) if (a.version === version.version) aliases.add(a.alias);
    model.properties.push(
      ...prop('mlbom:mlflow:status', version.status),
      ...prop('mlbom:mlflow:status-message', version.statusMessage),
      ...(version.stage && version.stage !== 'None' ? prop('mlbom:mlflow:stage', version.stage) : []),
      ...prop('mlbom:mlflow:created', isoTime(version.createdMs)),
      ...prop('mlbom:mlflow:updated', isoTime(version.updatedMs)),
      ...prop('mlbom:mlflow:source', version.source ? safeUri(version.source) : undefined),
      ...prop('mlbom:mlflow:run-id', version.runId),
      ...prop('mlbom:mlflow:model-id', version.modelId),
      ...prop('mlbom:mlflow:version-user', version.userId),
      ...[...aliases].sort(compare).map((alias) => ({ name: 'mlbom:mlflow:alias', value: alias })),
      ...version.tags.map((t) => ({ name: `mlbom:mlflow:tag:${keySegment(t.key)}`, value: clip(t.value) })),
      ...(registered?.tags ?? []).map((t) => ({
        name: `mlbom:mlflow:model-tag:${keySegment(t.key)}`,
        value: clip(t.value),
      })),
    );
    const link = backend.versionUrl(version.name, version.version);
    if (link) model.externalReferences.push({ type: 'website', url: link, comment: 'MLflow model version' });

    let loggedModel: LoggedModel | undefined;
    if (version.modelId) {
      try {
        loggedModel = await this.cachedLoggedModel(version.modelId);
      } catch (error) {
        rethrowFatal(error);
        this.problem(model, 'LOGGED_MODEL_UNREADABLE', `logged model ${version.modelId}: ${errorText(error)}`, subject);
      }
    }
    const card: ModelCardAsset = {};
    const runId = version.runId ?? loggedModel?.sourceRunId;
    if (loggedModel) this.applyLoggedModel(model, card, loggedModel);
    if (runId) await this.applyRunById(model, card, runId, subject);

    let tree: ArtifactTree | undefined;
    try {
      tree = await backend.modelVersionArtifacts(version, loggedModel);
      model.properties.push({ name: 'mlbom:mlflow:artifact-uri', value: safeUri(tree.location) });
    } catch (error) {
      rethrowFatal(error);
      this.problem(model, 'ARTIFACTS_UNREADABLE', errorText(error), subject);
    }
    const info = tree ? await this.readArtifacts(model, card, tree, subject) : undefined;
    model.purl = mlflowPurl({
      name: version.name,
      version: version.version,
      repositoryUrl: backend.repositoryUrl,
      modelUuid: info?.modelUuid,
      runId: runId ?? info?.runId,
    });
    this.rekey(model.key, model.purl);
    model.key = model.purl;
    this.finish(model, card);
  }

  /**
   * An MLflow 3 logged model (`models:/m-<id>`, or one the registry inventory finds unregistered).
   *
   * Its purl is `pkg:mlflow/<logged model name>@<model_id>?repository_url=...&model_uuid=...&run_id=...`.
   * The mlflow purl type defines `version` as the model's version; an unregistered logged model has no
   * registry version, and `model_id` is what MLflow itself puts in that place (`models:/m-<id>` stands
   * where `models:/<name>/<version>` does) and is unique on its server, whereas the name (often just
   * `model`) is not. `repository_url`, `model_uuid` and `run_id` are the type's own qualifiers.
   */
  async addLoggedModel(loggedModel: LoggedModel): Promise<void> {
    const backend = this.backend as MlflowBackend;
    const subject = `models:/${loggedModel.modelId}`;
    this.checkAborted(subject);
    const purl = (modelUuid?: string | undefined) =>
      mlflowPurl({
        name: loggedModel.name ?? loggedModel.modelId,
        version: loggedModel.modelId,
        repositoryUrl: backend.repositoryUrl,
        modelUuid,
        runId: loggedModel.sourceRunId,
      });
    const model = this.newModel(purl(), loggedModel.name ?? loggedModel.modelId);
    model.version = loggedModel.modelId;
    const card: ModelCardAsset = {};
    model.properties.push(
      ...prop('mlbom:mlflow:model-id', loggedModel.modelId),
      ...prop('mlbom:mlflow:run-id', loggedModel.sourceRunId),
    );
    this.applyLoggedModel(model, card, loggedModel);
    if (loggedModel.sourceRunId) await this.applyRunById(model, card, loggedModel.sourceRunId, subject);
    const tree = backend.loggedModelArtifacts(loggedModel);
    model.properties.push({ name: 'mlbom:mlflow:artifact-uri', value: safeUri(tree.location) });
    const info = await this.readArtifacts(model, card, tree, subject);
    model.purl = purl(info?.modelUuid);
    this.rekey(model.key, model.purl);
    model.key = model.purl;
    this.finish(model, card);
  }

  /** A model logged in a run (`runs:/<run_id>/<path>`), registered or not. */
  async addRunModel(run: Run, path: string, target: string): Promise<void> {
    const backend = this.backend as MlflowBackend;
    const model = this.newModel(
      `mlflow-run:${run.runId}/${path}`,
      path ? `${run.runName ?? run.runId}/${path}` : (run.runName ?? run.runId),
    );
    const card: ModelCardAsset = {};
    model.properties.push(...prop('mlbom:mlflow:run-id', run.runId));
    this.applyRun(model, card, run, target);
    const tree = backend.runArtifacts(run, path);
    model.properties.push({ name: 'mlbom:mlflow:artifact-uri', value: safeUri(tree.location) });
    const info = await this.readArtifacts(model, card, tree, target);
    if (!info && model.files.length === 0) {
      throw new MlbomError('NOT_FOUND', `${target}: no MLflow model (MLmodel) at ${safeUri(tree.location)}`);
    }
    this.finish(model, card);
  }

  private applyLoggedModel(model: MutableModel, card: ModelCardAsset, lm: LoggedModel): void {
    model.properties.push(
      ...prop('mlbom:mlflow:logged-model:name', lm.name),
      ...prop('mlbom:mlflow:logged-model:status', lm.status),
      ...prop('mlbom:mlflow:logged-model:type', lm.modelType),
      ...prop('mlbom:mlflow:logged-model:created', isoTime(lm.createdMs)),
      ...prop('mlbom:mlflow:experiment-id', lm.experimentId),
      ...lm.registrations.map((r) => ({ name: 'mlbom:mlflow:registered-as', value: `${r.name}/${r.version}` })),
      ...lm.tags
        .filter((t) => !t.key.startsWith('mlflow.'))
        .map((t) => ({ name: `mlbom:mlflow:logged-model-tag:${keySegment(t.key)}`, value: clip(t.value) })),
      ...lm.params.map((p) => ({ name: `mlbom:mlflow:param:${keySegment(p.key)}`, value: clip(p.value) })),
    );
    if (lm.experimentId) this.experimentIds.add(lm.experimentId);
    if (lm.creatorId && !model.authors.includes(lm.creatorId)) model.authors.push(lm.creatorId);
    this.addMetrics(card, lm.metrics);
  }

  private addMetrics(card: ModelCardAsset, metrics: Metric[]): void {
    card.performanceMetrics ??= [];
    const list = card.performanceMetrics;
    for (const m of metrics) {
      const slice = [`step ${m.step}`, ...(m.datasetName ? [`dataset ${m.datasetName}`] : [])].join(', ');
      const value = metricValue(m.value);
      if (!list.some((x) => x.type === m.key && x.value === value && x.slice === slice)) {
        list.push({ type: m.key, value, slice });
      }
    }
  }

  private async applyRunById(model: MutableModel, card: ModelCardAsset, runId: string, subject: string): Promise<void> {
    try {
      this.applyRun(model, card, await this.cachedRun(runId), subject);
    } catch (error) {
      rethrowFatal(error);
      if (isMlbomError(error) && error.code === 'NOT_FOUND') {
        model.properties.push({ name: 'mlbom:mlflow:run:deleted', value: 'true' });
        this.problem(model, 'RUN_NOT_FOUND', `run ${runId} no longer exists (deleted and purged)`, subject);
      } else {
        this.problem(model, 'RUN_UNREADABLE', `run ${runId}: ${errorText(error)}`, subject);
      }
    }
  }

  applyRun(model: MutableModel, card: ModelCardAsset, run: Run, subject: string): void {
    const tag = (key: string) => run.tags.find((t) => t.key === key)?.value;
    if (run.experimentId) this.experimentIds.add(run.experimentId);
    const user = run.userId ?? tag('mlflow.user');
    if (user && !model.authors.includes(user)) model.authors.push(user);
    model.properties.push(
      ...prop('mlbom:mlflow:run:name', run.runName ?? tag('mlflow.runName')),
      ...prop('mlbom:mlflow:run:status', run.status),
      ...prop('mlbom:mlflow:run:start', isoTime(run.startMs)),
      ...prop('mlbom:mlflow:run:end', isoTime(run.endMs)),
      ...prop('mlbom:mlflow:experiment-id', run.experimentId),
      ...Object.entries(RUN_TAGS).flatMap(([key, name]) => {
        const value = tag(key);
        return value ? [{ name, value: key === 'mlflow.source.git.repoURL' ? safeUri(value) : clip(value) }] : [];
      }),
      ...run.tags
        .filter((t) => !t.key.startsWith('mlflow.'))
        .map((t) => ({ name: `mlbom:mlflow:run-tag:${keySegment(t.key)}`, value: clip(t.value) })),
      ...run.params.map((p) => ({ name: `mlbom:mlflow:param:${keySegment(p.key)}`, value: clip(p.value) })),
    );
    if (run.lifecycleStage === 'deleted') {
      model.properties.push({ name: 'mlbom:mlflow:run:deleted', value: 'true' });
      this.ctx.logger.warn(`${subject}: run ${run.runId} was deleted; listed from what the server still keeps`);
    }
    this.addMetrics(card, run.metrics);
    for (const input of run.datasetInputs) this.addDataset(model.key, input);
  }

  private addDataset(modelKey: string, input: DatasetInput): void {
    const d = input.dataset;
    const source = parseJson(d.source);
    const properties: Property[] = [
      { name: 'mlbom:mlflow:dataset:name', value: d.name },
      ...prop('mlbom:mlflow:dataset:digest', d.digest),
      ...prop('mlbom:mlflow:dataset:source-type', d.sourceType),
      ...prop('mlbom:mlflow:dataset:source', source === undefined ? d.source : JSON.stringify(redactJson(source))),
    ];
    const problems: Problem[] = [];
    const context = input.tags.find((t) => t.key === 'mlflow.data.context')?.value;
    if (context) properties.push({ name: 'mlbom:mlflow:dataset:context', value: context });
    const schema = parseJson(d.schema);
    if (d.schema && schema === undefined) {
      problems.push({ code: 'DATASET_FIELD_INVALID', message: 'schema is not valid JSON', subject: d.name });
    } else if (schema !== undefined) {
      properties.push({ name: 'mlbom:mlflow:dataset:schema', value: clip(JSON.stringify(schema)) });
      const columns = isRecord(schema) && Array.isArray(schema.mlflow_colspec) ? schema.mlflow_colspec : undefined;
      const names = (columns ?? []).flatMap((c) => (isRecord(c) && typeof c.name === 'string' ? [c.name] : []));
      if (names.length > 0) properties.push({ name: 'mlbom:mlflow:dataset:columns', value: clip(names.join(',')) });
    }
    const profile = parseJson(d.profile);
    if (d.profile && profile === undefined) {
      problems.push({ code: 'DATASET_FIELD_INVALID', message: 'profile is not valid JSON', subject: d.name });
    } else if (isRecord(profile)) {
      for (const [k, v] of Object.entries(profile).sort(([a], [b]) => compare(a, b))) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
          properties.push({ name: `mlbom:mlflow:dataset:profile:${keySegment(k)}`, value: clip(String(v)) });
        }
      }
    }

    let asset: DatasetAsset & { properties: Property[] };
    if (d.sourceType === 'hugging_face' && isRecord(source) && typeof source.path === 'string' && source.path) {
      // Same identity as @mlbom/local and @mlbom/huggingface give a Hub dataset, so the components merge.
      const id = source.path.trim();
      const revision = typeof source.revision === 'string' && source.revision ? source.revision : undefined;
      properties.push(
        ...prop('mlbom:mlflow:dataset:split', typeof source.split === 'string' ? source.split : undefined),
        ...prop('mlbom:mlflow:dataset:config', typeof source.config_name === 'string' ? source.config_name : undefined),
      );
      asset = {
        kind: 'dataset',
        key: `hf-dataset:${id}`,
        name: id,
        ...(revision ? { version: revision } : {}),
        url: `https://huggingface.co/datasets/${id}`,
        externalReferences: [{ type: 'website', url: `https://huggingface.co/datasets/${id}` }],
        properties,
        problems,
      };
    } else {
      const uri = isRecord(source)
        ? [source.uri, source.url, source.path, source.location, source.table_name].find(
            (v): v is string => typeof v === 'string' && v !== '',
          )
        : undefined;
      asset = {
        kind: 'dataset',
        key: `mlflow-dataset:${d.name}@${d.digest}`,
        name: d.name,
        ...(uri ? { url: safeUri(uri) } : {}),
        properties,
        problems,
      };
    }
    const existing = this.datasets.get(asset.key);
    if (existing) {
      for (const p of asset.properties) {
        if (!existing.properties.some((q) => q.name === p.name && q.value === p.value)) existing.properties.push(p);
      }
    } else {
      this.datasets.set(asset.key, asset);
    }
    this.relate({ type: 'trained-on', from: modelKey, to: asset.key });
  }

  /**
   * Lists a model's artifact folder, reads MLmodel and the environment files, and downloads (hashing
   * and scanning) the model files. Returns what MLmodel said, if it could be read.
   */
  async readArtifacts(
    model: MutableModel,
    card: ModelCardAsset,
    tree: ArtifactTree,
    subject: string,
  ): Promise<MlmodelInfo | undefined> {
    const { options } = this;
    let listed: { files: { path: string; size?: number | undefined }[]; truncated: boolean } | undefined;
    try {
      listed = await tree.list(options.maxArtifactFiles);
      if (listed.truncated) {
        this.problem(
          model,
          'ARTIFACTS_TRUNCATED',
          `more than ${options.maxArtifactFiles} artifact files; the rest are not listed`,
          subject,
        );
      }
    } catch (error) {
      rethrowFatal(error);
      this.problem(model, 'ARTIFACTS_UNREADABLE', `cannot list artifacts: ${errorText(error)}`, subject);
    }
    const files = new Map<string, FileAsset & { properties: Property[]; problems: Problem[]; findings: Finding[] }>();
    for (const f of listed?.files ?? []) {
      files.set(f.path, {
        path: f.path,
        format: artifactFormat(f.path),
        ...(f.size !== undefined ? { size: f.size } : {}),
        properties: [],
        problems: [],
        findings: [],
      });
    }
    /** Files read whole as text here: not downloaded again. */
    const textRead = new Set<string>();
    const readText = async (path: string) => {
      if (listed && !files.has(path)) return undefined;
      try {
        const read = await tree.readText(path, MAX_TEXT_BYTES);
        if (!read) return undefined;
        const file = files.get(path) ?? {
          path,
          format: artifactFormat(path),
          properties: [],
          problems: [],
          findings: [],
        };
        file.size = read.size;
        textRead.add(path);
        if (options.hash && read.sha256) file.sha256 = read.sha256;
        if (read.size > MAX_TEXT_BYTES) {
          file.problems.push({
            code: 'FILE_TOO_LARGE',
            message: `larger than ${MAX_TEXT_BYTES} bytes; only the start is read`,
            subject: path,
          });
        }
        files.set(path, file);
        return read.text;
      } catch (error) {
        rethrowFatal(error);
        const file = files.get(path);
        const message = `cannot read ${path}: ${errorText(error)}`;
        if (file) file.problems.push({ code: 'FILE_UNREADABLE', message, subject: path });
        else this.problem(model, 'FILE_UNREADABLE', message, subject);
        return undefined;
      }
    };

    let info: MlmodelInfo | undefined;
    const mlmodelText = await readText('MLmodel');
    if (mlmodelText !== undefined) {
      info = parseMlmodel(mlmodelText, `${subject}/MLmodel`);
      const facts = mlmodelFacts(info, `${subject}/MLmodel`);
      model.problems.push(...info.problems, ...facts.problems);
      model.properties.push(...facts.properties);
      if (facts.card.task) card.task ??= facts.card.task;
      if (facts.card.modelArchitecture) card.modelArchitecture ??= facts.card.modelArchitecture;
      if (facts.card.inputs) card.inputs = facts.card.inputs;
      if (facts.card.outputs) card.outputs = facts.card.outputs;
      for (const pkg of facts.packages) this.addPackage(model.key, pkg);
      if (facts.ancestor) this.relate({ type: 'derived-from', from: model.key, ancestor: facts.ancestor });
    } else if (listed && listed.files.length > 0) {
      this.problem(model, 'MLMODEL_MISSING', 'no MLmodel file among the artifacts', subject, false);
    }

    const environments: Array<[string, (text: string, subject: string) => EnvironmentFacts]> = [
      ['requirements.txt', readRequirements],
      [info?.envFiles.conda ?? 'conda.yaml', readCondaYaml],
      [info?.envFiles.virtualenv ?? 'python_env.yaml', readPythonEnvYaml],
    ];
    for (const [path, reader] of environments) {
      const text = await readText(path);
      if (text === undefined) continue;
      const facts = reader(text, `${subject}/${path}`);
      model.properties.push(
        ...facts.properties.filter((p) => !model.properties.some((q) => q.name === p.name && q.value === p.value)),
      );
      model.problems.push(...facts.problems);
      for (const pkg of facts.packages) this.addPackage(model.key, pkg);
    }

    const scanner = options.scan ? (this.hooks.scan ?? defaultScanner) : undefined;
    // Download (hash, scan) the model files; everything else keeps the size the listing gave.
    const wanted = [...files.values()].filter(
      (f) =>
        // Nothing to hash or scan: nothing is downloaded.
        (options.hash || scanner !== undefined) &&
        !textRead.has(f.path) &&
        f.problems.length === 0 &&
        (options.artifacts === 'all' || (options.artifacts === 'models' && (tree.local || isModelFile(f.path)))),
    );
    if (wanted.length > 0) {
      this.ctx.progress.add(
        wanted.reduce((sum, f) => sum + (f.size ?? 0), 0),
        'downloading artifacts',
      );
    }
    const described: Array<{ path: string; description: FileDescription; unsafe: boolean }> = [];
    for (const file of wanted) {
      this.checkAborted(subject);
      if (file.size !== undefined && file.size > options.maxDownloadBytes) {
        file.problems.push({
          code: 'FILE_TOO_LARGE',
          message: `${file.size} bytes, above the ${options.maxDownloadBytes}-byte download limit; not downloaded`,
          subject: file.path,
        });
        continue;
      }
      try {
        const fetched = await tree.fetch(file.path, {
          // Kept (in a temporary file, not in memory) for the format readers and the scanner.
          keep: true,
          hash: options.hash,
          maxBytes: options.maxDownloadBytes,
        });
        try {
          file.size = fetched.size;
          if (fetched.sha256) file.sha256 = fetched.sha256;
          file.format = artifactFormat(file.path, fetched.head);
          // What the file says about itself, read from the bytes just downloaded (never fetched again).
          const description = fetched.bytes ? await this.describe(fetched.bytes, file, subject) : undefined;
          let unsafe = false;
          if (scanner && fetched.bytes) {
            try {
              const result = await scanner(fetched.bytes, { path: file.path, signal: this.ctx.signal });
              if (result) {
                unsafe = result.status === 'unsafe';
                file.scanStatus = result.status;
                file.findings = result.findings;
                file.problems.push(...(result.problems ?? []));
              }
              if (result?.status === 'unsafe') {
                this.ctx.logger.warn(
                  `${subject}/${file.path}: ${result.findings.length} finding(s): ${result.findings
                    .map((f) => f.title)
                    .slice(0, 3)
                    .join('; ')}`,
                );
              }
            } catch (error) {
              rethrowFatal(error);
              file.scanStatus = 'error';
              file.problems.push({ code: 'SCAN_FAILED', message: errorText(error), subject: file.path });
            }
          }
          if (description) described.push({ path: file.path, description, unsafe });
        } finally {
          await fetched.release();
        }
      } catch (error) {
        rethrowFatal(error);
        file.problems.push({
          code: 'FILE_UNREADABLE',
          message: `cannot download: ${errorText(error)}`,
          subject: file.path,
        });
        this.ctx.logger.warn(`${subject}/${file.path}: cannot download (${errorText(error)})`);
      }
    }
    this.applyDescriptions(model, card, described);
    model.files.push(...[...files.values()].sort((a, b) => compare(a.path, b.path)));
    return info;
  }

  /** @mlbom/formats over a downloaded file; its properties and problems go on the file. */
  private async describe(
    bytes: ByteSource,
    file: FileAsset & { properties: Property[]; problems: Problem[] },
    subject: string,
  ): Promise<FileDescription | undefined> {
    try {
      const description = await describeModelFile(bytes, file.path);
      if (description.recognised) file.format = description.format;
      file.properties.push(...description.properties);
      for (const p of description.problems) {
        file.problems.push({ ...p, subject: file.path });
        this.ctx.logger.warn(`${subject}/${file.path}: ${p.message}`);
      }
      return description;
    } catch (error) {
      rethrowFatal(error);
      file.problems.push({ code: 'FILE_UNREADABLE', message: errorText(error), subject: file.path });
      return undefined;
    }
  }

  /**
   * What the model files record, as the local source uses it: the frameworks (with the versions the
   * files name) linked from the model, the parameter count of its weights, and model card hints the
   * MLmodel signature left open. A file the scanner found unsafe gives no card hints (its "class" may be
   * `posix.system`).
   */
  private applyDescriptions(
    model: MutableModel,
    card: ModelCardAsset,
    described: Array<{ path: string; description: FileDescription; unsafe: boolean }>,
  ): void {
    described.sort((a, b) => compare(a.path, b.path));
    for (const { path, description } of described) {
      for (const hint of description.frameworks) {
        const pkg = frameworkPackage(hint, path);
        if (pkg.ecosystem === 'generic') {
          this.addPackage(model.key, pkg);
          continue;
        }
        const version = pkg.version;
        // A file that names no version points at the package MLmodel or the environment files pinned.
        const listed =
          version === undefined
            ? [...this.relations.values()]
                .filter((r) => r.type === 'depends-on' && r.from === model.key)
                .map((r) => this.packages.get((r as { to: string }).to))
                .find((p) => p?.name === pkg.name && p.ecosystem === 'pypi')
            : undefined;
        if (listed) this.relate({ type: 'depends-on', from: model.key, to: listed.key });
        else this.addPackage(model.key, pkg);
      }
    }
    for (const { description, unsafe } of described) {
      if (unsafe) continue;
      const hints = description.card;
      if (hints.architectureFamily && !card.architectureFamily) card.architectureFamily = hints.architectureFamily;
      if (hints.modelArchitecture && !card.modelArchitecture) card.modelArchitecture = hints.modelArchitecture;
      if (hints.inputs?.length && !card.inputs?.length) card.inputs = hints.inputs;
      if (hints.outputs?.length && !card.outputs?.length) card.outputs = hints.outputs;
    }
    model.properties.push(
      ...modelParameterProperties(
        described.flatMap(({ description }) =>
          description.recognised ? [{ format: description.format, properties: description.properties }] : [],
        ),
      ),
    );
  }

  finish(model: MutableModel, card: ModelCardAsset): void {
    const hasCard =
      (card.performanceMetrics?.length ?? 0) > 0 ||
      (card.inputs?.length ?? 0) > 0 ||
      (card.outputs?.length ?? 0) > 0 ||
      card.task !== undefined ||
      card.modelArchitecture !== undefined ||
      card.architectureFamily !== undefined;
    if (hasCard) model.card = card;
    // Properties may repeat (the same param on the logged model and its run): keep each pair once.
    const seen = new Set<string>();
    model.properties = model.properties.filter((p) => {
      const id = `${p.name}\u0000${p.value}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    this.models.push(model);
  }

  /** Moves relations recorded under `from` to `to` (a version's key gains qualifiers once MLmodel is read). */
  rekey(from: string, to: string): void {
    if (from === to) return;
    for (const [id, relation] of [...this.relations]) {
      if (relation.from !== from) continue;
      this.relations.delete(id);
      this.relate({ ...relation, from: to });
    }
  }

  inventory(): Inventory {
    return {
      models: [...this.models].sort((a, b) => compare(a.key, b.key)),
      datasets: [...this.datasets.values()].sort((a, b) => compare(a.key, b.key)),
      packages: [...this.packages.values()].sort((a, b) => compare(a.key, b.key)),
      relations: [...this.relations.entries()].sort(([a], [b]) => compare(a, b)).map(([, r]) => r),
      problems: this.problems,
    };
  }
}
