import {
  type AncestorAsset,
  type ModelCardAsset,
  type PackageAsset,
  type Problem,
  type Property,
  pypiPackage,
} from '@mlbom/core';
import { PackageURL } from 'packageurl-js';
import { parse as parseYaml } from 'yaml';
import { compare, isRecord, prop } from './util.js';

/** What an `MLmodel` file says. */
export interface MlmodelInfo {
  flavors: Record<string, Record<string, unknown>>;
  mlflowVersion?: string | undefined;
  modelUuid?: string | undefined;
  modelId?: string | undefined;
  runId?: string | undefined;
  artifactPath?: string | undefined;
  utcTimeCreated?: string | undefined;
  modelSizeBytes?: number | undefined;
  signature?: { inputs?: string | undefined; outputs?: string | undefined; params?: string | undefined } | undefined;
  pythonVersion?: string | undefined;
  /** Environment files named by the python_function flavor, relative to the model root. */
  envFiles: { conda?: string | undefined; virtualenv?: string | undefined };
  problems: Problem[];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A relative path inside the model folder, or undefined for anything that leaves it. */
function innerPath(value: unknown): string | undefined {
  const path = text(value);
  if (!path || path.startsWith('/') || path.split(/[\\/]/).includes('..') || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
    return undefined;
  }
  return path.replaceAll('\\', '/');
}

/** Parses an `MLmodel` file (YAML). Never throws: problems are returned. */
export function parseMlmodel(source: string, subject: string): MlmodelInfo {
  const info: MlmodelInfo = { flavors: {}, envFiles: {}, problems: [] };
  let data: unknown;
  try {
    data = parseYaml(source, { maxAliasCount: 100 });
  } catch (error) {
    info.problems.push({
      code: 'MLMODEL_INVALID',
      message: `MLmodel is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      subject,
    });
    return info;
  }
  if (!isRecord(data)) {
    info.problems.push({ code: 'MLMODEL_INVALID', message: 'MLmodel is not a YAML mapping', subject });
    return info;
  }
  if (isRecord(data.flavors)) {
    for (const [name, config] of Object.entries(data.flavors)) {
      info.flavors[name] = isRecord(config) ? config : {};
    }
  } else {
    info.problems.push({ code: 'MLMODEL_INVALID', message: 'MLmodel has no flavors', subject });
  }
  info.mlflowVersion = text(data.mlflow_version);
  info.modelUuid = text(data.model_uuid);
  info.modelId = text(data.model_id);
  info.runId = text(data.run_id);
  info.artifactPath = text(data.artifact_path);
  info.utcTimeCreated = text(data.utc_time_created);
  info.modelSizeBytes = typeof data.model_size_bytes === 'number' ? data.model_size_bytes : undefined;
  if (isRecord(data.signature)) {
    info.signature = {
      inputs: text(data.signature.inputs),
      outputs: text(data.signature.outputs),
      params: text(data.signature.params),
    };
  }
  const pyfunc = info.flavors.python_function;
  if (pyfunc) {
    info.pythonVersion = text(pyfunc.python_version);
    const env = pyfunc.env;
    if (isRecord(env)) {
      info.envFiles = { conda: innerPath(env.conda), virtualenv: innerPath(env.virtualenv) };
    } else if (innerPath(env)) {
      info.envFiles = { conda: innerPath(env) };
    }
  }
  return info;
}

/** Flavor keys `<x>_version` and the PyPI distribution they name, where it is not `<x>` itself. */
const VERSION_KEY_PACKAGES: Record<string, string> = {
  sklearn: 'scikit-learn',
  pytorch: 'torch',
  xgb: 'xgboost',
  lgb: 'lightgbm',
  cb: 'catboost',
  paddle: 'paddlepaddle',
  pyspark: 'pyspark',
  llama_index: 'llama-index',
};

/** What the BOM gets from an MLmodel: framework packages, model-card fields, properties, a base model. */
export interface MlmodelFacts {
  packages: PackageAsset[];
  card: ModelCardAsset;
  properties: Property[];
  ancestor?: AncestorAsset | undefined;
  problems: Problem[];
}

/** A `pkg:generic/python` component for the Python version a model was saved with. */
export function pythonPackage(version: string, properties: Property[] = []): PackageAsset & { purl: string } {
  const purl = new PackageURL('generic', undefined, 'python', version, undefined, undefined).toString();
  return {
    kind: 'package',
    key: purl,
    name: 'python',
    version,
    purl,
    role: 'framework',
    ecosystem: 'generic',
    properties,
  };
}

/** Signature columns or tensors, one JSON string each (the signature holds a JSON array as a string). */
function signatureEntries(json: string | undefined, what: string, subject: string, problems: Problem[]): string[] {
  if (!json) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    if (Array.isArray(parsed)) return parsed.map((entry) => JSON.stringify(entry));
    return [JSON.stringify(parsed)];
  } catch {
    problems.push({ code: 'MLMODEL_INVALID', message: `signature ${what} is not valid JSON`, subject });
    return [json];
  }
}

/** A Hugging Face model id (`org/name` or a legacy `name`). */
const HF_ID_RE = /^(?:([\w.-]+)\/)?([\w.-]+)$/;

/** The base model of a transformers-flavor model logged from a Hub checkpoint, pinned to its revision. */
export function huggingFaceBase(name: string, revision: string | undefined): AncestorAsset {
  const id = name.replace(/^https?:\/\/huggingface\.co\//, '').replace(/\/+$/, '');
  const match = HF_ID_RE.exec(id);
  if (!match) return { key: `base-model:${name}`, name };
  const org = match[1];
  const model = match[2] as string;
  const purl = new PackageURL('huggingface', org, model, revision?.toLowerCase(), undefined, undefined).toString();
  return {
    key: purl,
    name: model,
    ...(org ? { group: org } : {}),
    ...(revision ? { version: revision.toLowerCase() } : {}),
    purl,
    url: `https://huggingface.co/${id}`,
  };
}

/**
 * Framework components (one per `<lib>_version` of each flavor, `mlflow_version`, the Python version),
 * signature inputs/outputs, the transformers task and architecture, and the Hub base model.
 */
export function mlmodelFacts(info: MlmodelInfo, subject: string): MlmodelFacts {
  const packages = new Map<string, PackageAsset>();
  const problems: Problem[] = [];
  const properties: Property[] = [];
  const card: ModelCardAsset = {};
  const add = (pkg: PackageAsset) => {
    if (!packages.has(pkg.key)) packages.set(pkg.key, pkg);
  };
  const flavorNames = Object.keys(info.flavors).sort(compare);
  if (flavorNames.length > 0) properties.push({ name: 'mlbom:mlflow:flavors', value: flavorNames.join(',') });
  for (const flavor of flavorNames) {
    const config = info.flavors[flavor] ?? {};
    for (const [key, value] of Object.entries(config).sort(([a], [b]) => compare(a, b))) {
      const match = /^(.+)_version$/.exec(key);
      const version = text(value);
      if (!match || !version || key === 'python_version') continue;
      const lib = match[1] as string;
      const name = VERSION_KEY_PACKAGES[lib] ?? lib.replaceAll('_', '-');
      add(pypiPackage({ name, exactVersion: version, properties: [{ name: 'mlbom:mlflow:flavor', value: flavor }] }));
    }
  }
  if (info.mlflowVersion) add(pypiPackage({ name: 'mlflow', exactVersion: info.mlflowVersion }));
  if (info.pythonVersion) add(pythonPackage(info.pythonVersion));

  const sig = info.signature;
  const inputs = signatureEntries(sig?.inputs, 'inputs', subject, problems);
  const outputs = signatureEntries(sig?.outputs, 'outputs', subject, problems);
  if (inputs.length > 0) card.inputs = inputs;
  if (outputs.length > 0) card.outputs = outputs;
  if (sig?.params && sig.params !== 'null')
    properties.push({ name: 'mlbom:mlflow:signature:params', value: sig.params });

  let ancestor: AncestorAsset | undefined;
  const transformers = info.flavors.transformers;
  if (transformers) {
    const task = text(transformers.task);
    if (task) card.task = task;
    const architecture = text(transformers.pipeline_model_type);
    if (architecture) card.modelArchitecture = architecture;
    properties.push(...prop('mlbom:mlflow:transformers:instance-type', text(transformers.instance_type)));
    properties.push(...prop('mlbom:mlflow:transformers:torch-dtype', text(transformers.torch_dtype)));
    const source = text(transformers.source_model_name);
    if (source) ancestor = huggingFaceBase(source, text(transformers.source_model_revision));
  }
  const sklearn = info.flavors.sklearn;
  if (sklearn) properties.push(...prop('mlbom:mlflow:serialization-format', text(sklearn.serialization_format)));
  const pyfunc = info.flavors.python_function;
  if (pyfunc) properties.push(...prop('mlbom:mlflow:loader-module', text(pyfunc.loader_module)));

  properties.push(...prop('mlbom:mlflow:model-uuid', info.modelUuid));
  properties.push(...prop('mlbom:mlflow:mlmodel:created', info.utcTimeCreated));
  properties.push(...prop('mlbom:mlflow:model-size', info.modelSizeBytes));
  for (const p of properties) p.name = p.name.replace(/[^A-Za-z0-9:._-]/g, '_');
  return { packages: [...packages.values()], card, properties, ancestor, problems };
}
