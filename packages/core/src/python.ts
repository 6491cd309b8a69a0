import { PackageURL } from 'packageurl-js';
import type { PackageAsset, Property } from './assets.js';

/**
 * Python distributions that are ML frameworks (CycloneDX component type `framework`); everything
 * else a model needs is a `library`. Names are PEP 503-normalized.
 */
const ML_FRAMEWORKS = new Set([
  'torch',
  'torchvision',
  'torchaudio',
  'pytorch-lightning',
  'lightning',
  'tensorflow',
  'tensorflow-cpu',
  'tensorflow-gpu',
  'tf-keras',
  'keras',
  'jax',
  'jaxlib',
  'flax',
  'transformers',
  'diffusers',
  'sentence-transformers',
  'peft',
  'onnx',
  'onnxruntime',
  'onnxruntime-gpu',
  'scikit-learn',
  'xgboost',
  'lightgbm',
  'catboost',
  'mxnet',
  'paddlepaddle',
  'mlflow',
  'llama-cpp-python',
  'gguf',
  'safetensors',
  'timm',
  'vllm',
]);

/** PEP 503 name normalization: the form purls and indexes use. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function isMlFramework(name: string): boolean {
  return ML_FRAMEWORKS.has(normalizePythonName(name));
}

/**
 * A PyPI package asset. `exactVersion` is set only for `==` pins; a range stays in `versionSpec`
 * and the purl carries no version, since a range is not a version.
 */
export function pypiPackage(input: {
  name: string;
  exactVersion?: string | undefined;
  versionSpec?: string | undefined;
  properties?: Property[];
}): PackageAsset & { purl: string } {
  const name = normalizePythonName(input.name);
  const purl = new PackageURL(
    'pypi',
    undefined,
    name,
    input.exactVersion ?? undefined,
    undefined,
    undefined,
  ).toString();
  return {
    kind: 'package',
    key: purl,
    name,
    ...(input.exactVersion ? { version: input.exactVersion } : {}),
    ...(input.versionSpec ? { versionSpec: input.versionSpec } : {}),
    purl,
    role: isMlFramework(name) ? 'framework' : 'library',
    ecosystem: 'pypi',
    properties: input.properties ?? [],
  };
}
