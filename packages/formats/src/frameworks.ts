import { type PackageAsset, type Property, pypiPackage } from '@mlbom/core';
import { normalizeVersion } from './requirements.js';
import type { FrameworkHint } from './types.js';

/**
 * The package a model file says it was written with (a @mlbom/formats framework hint: torch from a
 * pickle, the ONNX producer, `_sklearn_version`...), with the file and what in it says so as
 * `mlbom:evidence`. A PyPI name gives a `pkg:pypi` purl (role `framework` for ML frameworks); a
 * producer that is no Python package, a `pkg:generic` one. Shared by every source.
 */
export function frameworkPackage(hint: FrameworkHint, filePath: string): PackageAsset {
  const evidence = { name: 'mlbom:evidence', value: `${filePath}: ${hint.evidence}` };
  if (hint.ecosystem === 'generic') {
    const name = hint.name.slice(0, 100);
    const purl = `pkg:generic/${encodeURIComponent(name)}${hint.version ? `@${encodeURIComponent(hint.version)}` : ''}`;
    return {
      kind: 'package',
      key: purl,
      name,
      ...(hint.version ? { version: hint.version } : {}),
      purl,
      role: 'framework',
      ecosystem: 'generic',
      properties: [evidence],
    };
  }
  const version = hint.version ? normalizeVersion(hint.version) : undefined;
  return pypiPackage({ name: hint.name, exactVersion: version, properties: [evidence] });
}

/** Which weights format's parameter count stands for the model when several are present. */
const PARAMETER_FORMATS = [
  'safetensors',
  'gguf',
  'pytorch-zip',
  'pytorch-legacy',
  'torchscript',
  'onnx',
  'keras',
  'keras-h5',
  'tf-savedmodel',
  'tflite',
  'joblib',
  'pickle',
  'numpy-archive',
  'numpy',
] as const;

/**
 * The model's parameter count and dtypes, from its files' descriptions: shards of one format add up
 * (safetensors), variants of one format (several GGUF quantizations) count once (the largest), and when
 * several formats hold the same weights (safetensors and pytorch_model.bin) the first of
 * PARAMETER_FORMATS stands.
 */
export function modelParameterProperties(files: Array<{ format: string; properties: Property[] }>): Property[] {
  for (const format of PARAMETER_FORMATS) {
    const counts = files
      .filter((f) => f.format === format)
      .map((f) => ({
        count: Number(f.properties.find((p) => p.name === 'mlbom:parameterCount')?.value ?? Number.NaN),
        dtype: f.properties.find((p) => p.name === 'mlbom:dtype')?.value,
      }))
      .filter((c) => Number.isSafeInteger(c.count) && c.count > 0);
    if (counts.length === 0) continue;
    const total =
      format === 'safetensors' ? counts.reduce((a, c) => a + c.count, 0) : Math.max(...counts.map((c) => c.count));
    const dtypes = [...new Set(counts.flatMap((c) => (c.dtype ? c.dtype.split(',') : [])))];
    return [
      { name: 'mlbom:parameterCount', value: String(total) },
      ...(dtypes.length > 0 ? [{ name: 'mlbom:dtype', value: dtypes.join(',') }] : []),
    ];
  }
  return [];
}
