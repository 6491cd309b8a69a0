import type { ModelFormat } from '@mlbom/core';
import { isTokenizerFile } from '@mlbom/formats';

const WEIGHTS: Record<string, ModelFormat | 'pytorch'> = {
  safetensors: 'safetensors',
  gguf: 'gguf',
  onnx: 'onnx',
  keras: 'keras',
  h5: 'keras-h5',
  hdf5: 'keras-h5',
  tflite: 'tflite',
  joblib: 'joblib',
  pkl: 'pickle',
  pickle: 'pickle',
  cloudpickle: 'pickle',
  dill: 'pickle',
  npy: 'numpy',
  npz: 'numpy-archive',
  pt: 'pytorch',
  pth: 'pytorch',
  bin: 'pytorch',
  ckpt: 'pytorch',
};

/** Model files that are worth downloading (to hash and scan) though no scanner may recognise them. */
const OTHER_MODEL_EXTENSIONS = new Set(['ubj', 'xgb', 'cbm', 'lgb', 'model', 'pb', 'zip', 'tar', 'tgz', 'gz', 'mleap']);

function parts(path: string): { name: string; ext: string } {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return { name, ext: dot > 0 ? name.slice(dot + 1).toLowerCase() : '' };
}

const ZIP = [0x50, 0x4b, 0x03, 0x04];

/**
 * The format of an artifact file from its name and, when it was read, its first bytes (which
 * decide between the PyTorch zip and legacy serializations).
 */
export function artifactFormat(path: string, head?: Uint8Array): ModelFormat {
  const { name, ext } = parts(path);
  const lower = name.toLowerCase();
  if (name === 'MLmodel') return 'config';
  if (lower === 'requirements.txt') return 'requirements';
  if (lower === 'readme.md' || lower === 'model_card.md') return 'model-card';
  if (isTokenizerFile(lower)) return 'tokenizer';
  if (lower === 'saved_model.pb' || /(^|\/)variables\/variables\.(index|data-\d+-of-\d+)$/.test(path)) {
    return 'tf-savedmodel';
  }
  if (lower.endsWith('.safetensors.index.json')) return 'safetensors-index';
  const weights = WEIGHTS[ext];
  if (weights === 'pytorch') {
    if (head && head.length >= 4 && ZIP.every((b, i) => head[i] === b)) return 'pytorch-zip';
    if (head && head[0] === 0x80) return 'pytorch-legacy';
    return 'unknown';
  }
  if (weights) return weights;
  if (['json', 'yaml', 'yml', 'toml', 'cfg', 'ini'].includes(ext)) return 'config';
  return 'unknown';
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
  return WEIGHTS[ext] !== undefined || OTHER_MODEL_EXTENSIONS.has(ext);
}
