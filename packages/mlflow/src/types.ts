import type { ByteSource } from '@mlbom/core';

/**
 * What the MLflow source reads, the same whether it comes from the REST API or an `mlruns` file store.
 * Timestamps are epoch milliseconds.
 */
export interface Tag {
  key: string;
  value: string;
}

export interface RegisteredModel {
  name: string;
  description?: string | undefined;
  createdMs?: number | undefined;
  updatedMs?: number | undefined;
  tags: Tag[];
  aliases: Array<{ alias: string; version: string }>;
}

export interface ModelVersion {
  name: string;
  version: string;
  description?: string | undefined;
  createdMs?: number | undefined;
  updatedMs?: number | undefined;
  userId?: string | undefined;
  stage?: string | undefined;
  /** Where the model was registered from: `runs:/<run>/model`, `models:/m-<id>`, `s3://...`, `mlflow-artifacts:/...`. */
  source?: string | undefined;
  runId?: string | undefined;
  status?: string | undefined;
  statusMessage?: string | undefined;
  tags: Tag[];
  aliases: string[];
  /** MLflow 3: the logged model this version was registered from. */
  modelId?: string | undefined;
  storageLocation?: string | undefined;
  /** Set when the version's own record could not be read (a file store's broken meta.yaml). */
  problem?: string | undefined;
}

export interface Metric {
  key: string;
  value: number;
  timestampMs?: number | undefined;
  step: number;
  datasetName?: string | undefined;
  datasetDigest?: string | undefined;
}

export interface Dataset {
  name: string;
  digest: string;
  sourceType: string;
  /** A JSON string. */
  source: string;
  /** A JSON string. */
  schema?: string | undefined;
  /** A JSON string. */
  profile?: string | undefined;
}

export interface DatasetInput {
  dataset: Dataset;
  tags: Tag[];
}

export interface Run {
  runId: string;
  runName?: string | undefined;
  experimentId?: string | undefined;
  userId?: string | undefined;
  status?: string | undefined;
  startMs?: number | undefined;
  endMs?: number | undefined;
  artifactUri?: string | undefined;
  /** `active` or `deleted`. */
  lifecycleStage?: string | undefined;
  params: Tag[];
  /** The latest value of each metric. */
  metrics: Metric[];
  tags: Tag[];
  datasetInputs: DatasetInput[];
}

/** An MLflow 3 logged model (`m-<id>`). */
export interface LoggedModel {
  modelId: string;
  name?: string | undefined;
  experimentId?: string | undefined;
  artifactUri?: string | undefined;
  status?: string | undefined;
  sourceRunId?: string | undefined;
  createdMs?: number | undefined;
  creatorId?: string | undefined;
  modelType?: string | undefined;
  tags: Tag[];
  params: Tag[];
  metrics: Metric[];
  registrations: Array<{ name: string; version: string }>;
}

/** One file of a model's artifacts, relative to the model's root. */
export interface ArtifactEntry {
  path: string;
  size?: number | undefined;
}

export interface FetchedArtifact {
  size: number;
  /** Lowercase hex SHA-256 of the content (absent when hashing is off). */
  sha256?: string | undefined;
  /** The first bytes (up to 64), to tell formats apart. */
  head: Uint8Array;
  /** The content, for the scanner; present only when asked for. */
  bytes?: ByteSource | undefined;
  /** Releases the bytes (temporary file). */
  release(): Promise<void>;
}

/** A folder of artifacts (a model's root), local or behind the tracking server. */
export interface ArtifactTree {
  /** For messages and properties: a URI or path, never with credentials. */
  readonly location: string;
  /** Local files: hashing costs no download, so every file is hashed. */
  readonly local: boolean;
  /** Every file below the root, recursively, at most `limit` (then `truncated`). */
  list(limit: number): Promise<{ files: ArtifactEntry[]; truncated: boolean }>;
  /**
   * A small text file (its first `maxBytes`); undefined when it does not exist. `sha256` is of the
   * whole file, absent when only a prefix was read and the whole was not hashed.
   * @throws {MlbomError} when it cannot be read
   */
  readText(
    path: string,
    maxBytes: number,
  ): Promise<{ text: string; size: number; sha256?: string | undefined } | undefined>;
  /**
   * Streams one file through SHA-256, keeping the bytes (for the scanner) only when `keep` is set.
   * @throws {MlbomError} NOT_FOUND, SOURCE_FAILED, FILE_UNREADABLE, ABORTED
   */
  fetch(path: string, options: { keep: boolean; hash: boolean; maxBytes: number }): Promise<FetchedArtifact>;
}

/** The read side of a tracking server or file store, as the source needs it. */
export interface MlflowBackend {
  readonly kind: 'rest' | 'file';
  /** The tracking server as it goes into purls (`repository_url`): no credentials, no query; undefined for file stores. */
  readonly repositoryUrl: string | undefined;
  /** For messages. */
  readonly display: string;
  /** A link to a model version in the MLflow UI, when there is a UI. */
  versionUrl(name: string, version: string): string | undefined;
  /** @throws {MlbomError} when the registry cannot be searched */
  searchRegisteredModels(filter: string | undefined, subject: string): Promise<RegisteredModel[]>;
  getRegisteredModel(name: string, subject: string): Promise<RegisteredModel>;
  searchModelVersions(name: string, subject: string): Promise<ModelVersion[]>;
  getModelVersion(name: string, version: string, subject: string): Promise<ModelVersion>;
  getModelVersionByAlias(name: string, alias: string, subject: string): Promise<ModelVersion>;
  getRun(runId: string, subject: string): Promise<Run>;
  getLoggedModel(modelId: string, subject: string): Promise<LoggedModel>;
  /** Ids of the active experiments (`experiments/search`). */
  listExperiments(subject: string): Promise<string[]>;
  /**
   * MLflow 3 logged models of these experiments (`logged-models/search`), registered or not.
   * @throws {MlbomError} NOT_FOUND when the server has no such endpoint (MLflow 2)
   */
  searchLoggedModels(experimentIds: string[], subject: string): Promise<LoggedModel[]>;
  /** The artifact folder of a model version (resolving its source / download URI). */
  modelVersionArtifacts(version: ModelVersion, loggedModel: LoggedModel | undefined): Promise<ArtifactTree>;
  runArtifacts(run: Run, path: string): ArtifactTree;
  loggedModelArtifacts(model: LoggedModel): ArtifactTree;
  close(): Promise<void>;
}
