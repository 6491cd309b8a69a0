import type { ModelFormat } from '@mlbom/core';
import { claimFromName, formatFromClaim, weightsClaim } from '@mlbom/formats';

/** Extensions MLflow's flavors save serialized Python objects under, beyond @mlbom/formats' `.pkl`/`.pickle`. */
const MLFLOW_PICKLE_EXTENSIONS = new Set(['cloudpickle', 'dill']);

/** Model files that are worth downloading (to hash and scan) though no scanner may recognise them. */
const OTHER_MODEL_EXTENSIONS = new Set(['ubj', 'xgb', 'cbm', 'lgb', 'model', 'pb', 'zip', 'tar', 'tgz', 'gz', 'mleap']);

function parts(path: string): { name: string; ext: string } {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return { name, ext: dot > 0 ? name.slice(dot + 1).toLowerCase() : '' };
}

const ZIP = [0x50, 0x4b, 0x03, 0x04];

/**
 * The format of an artifact file from its name (@mlbom/formats' claimFromName, plus MLflow's own
 * `MLmodel`, `model_card.md` and cloudpickle/dill names) and, when it was read, its first bytes (which
 * decide between the PyTorch zip and legacy serializations).
 */
export function artifactFormat(path: string, head?: Uint8Array): ModelFormat {
  const { name, ext } = parts(path);
  if (name === 'MLmodel') return 'config';
  if (name.toLowerCase() === 'model_card.md') return 'model-card';
  if (MLFLOW_PICKLE_EXTENSIONS.has(ext)) return 'pickle';
  const claim = claimFromName(path);
  if (claim === 'pytorch') {
    if (head && head.length >= 4 && ZIP.every((b, i) => head[i] === b)) return 'pytorch-zip';
    if (head && head[0] === 0x80) return 'pytorch-legacy';
  }
  return formatFromClaim(claim);
}

/** Tokenizer files that carry a Jinja chat template, which the scanner checks like model code. */
const CHAT_TEMPLATE_FILES = new Set(['tokenizer_config.json', 'chat_template.json', 'chat_template.jinja']);

/**
 * Whether an artifact holds model weights or code that runs (serialized objects, chat templates):
 * downloaded (to hash and scan) in `models` mode.
 */
export function isModelFile(path: string): boolean {
  const { name, ext } = parts(path);
  if (name.toLowerCase() === 'saved_model.pb') return true;
  if (CHAT_TEMPLATE_FILES.has(name.toLowerCase())) return true;
  if (/(^|\/)variables\/variables\.data-\d+-of-\d+$/.test(path)) return true;
  return weightsClaim(path) !== undefined || MLFLOW_PICKLE_EXTENSIONS.has(ext) || OTHER_MODEL_EXTENSIONS.has(ext);
}
