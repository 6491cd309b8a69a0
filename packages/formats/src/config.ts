import type { Problem, Property } from '@mlbom/core';

/** Keys with a HF config meaning; one of them makes a config.json a model config even without weights beside it. */
const MODEL_CONFIG_KEYS = [
  'model_type',
  'architectures',
  '_name_or_path',
  'transformers_version',
  '_class_name',
  '_diffusers_version',
];

/** What a Hugging Face (transformers or diffusers) `config.json` says about its model. */
export interface ModelConfigInfo {
  modelType?: string | undefined;
  /** `architectures[0]`, else diffusers' `_class_name`. */
  architecture?: string | undefined;
  /** Whether it is a model config at all (has one of the keys transformers/diffusers write). */
  modelLike: boolean;
  problem?: Problem | undefined;
  /** transformers/diffusers version, dtype, quantization method. */
  properties: Property[];
}

/** Parses a `config.json`'s text; a file that is no JSON object gives a CONFIG_INVALID problem. */
export function parseModelConfig(text: string, subject: string): ModelConfigInfo {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      modelLike: false,
      properties: [],
      problem: { code: 'CONFIG_INVALID', message: `config.json is not valid JSON: ${message}`, subject },
    };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return {
      modelLike: false,
      properties: [],
      problem: { code: 'CONFIG_INVALID', message: 'config.json is not a JSON object', subject },
    };
  }
  const record = data as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, 200) : undefined);
  const properties: Property[] = [];
  const tv = str(record.transformers_version);
  if (tv) properties.push({ name: 'mlbom:config:transformersVersion', value: tv });
  const dv = str(record._diffusers_version);
  if (dv) properties.push({ name: 'mlbom:config:diffusersVersion', value: dv });
  const dtype = str(record.torch_dtype) ?? str(record.dtype);
  if (dtype) properties.push({ name: 'mlbom:config:dtype', value: dtype });
  const quant = record.quantization_config;
  const method =
    typeof quant === 'object' && quant !== null ? str((quant as Record<string, unknown>).quant_method) : undefined;
  if (method) properties.push({ name: 'mlbom:quantization', value: method });
  const architectures = record.architectures;
  const first = Array.isArray(architectures) ? architectures[0] : undefined;
  const className = record._class_name;
  return {
    properties,
    modelLike: MODEL_CONFIG_KEYS.some((k) => k in record),
    modelType: typeof record.model_type === 'string' && record.model_type ? record.model_type : undefined,
    architecture:
      typeof first === 'string' && first ? first : typeof className === 'string' && className ? className : undefined,
  };
}
