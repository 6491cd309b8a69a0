import type { ByteSource } from '@mlbom/core';
import { type Hdf5Summary, readHdf5 } from './hdf5.js';
import { formatError, utf8 } from './util.js';
import { readZipDirectory, readZipEntry, type ZipDirectory } from './zip.js';

const MAX_CONFIG = 16 * 1024 * 1024;
const MAX_LAYER_CLASSES = 100;

export interface KerasModelConfig {
  /** The model's class (`Sequential`, `Functional`, or a registered subclass). */
  className?: string | undefined;
  name?: string | undefined;
  layerCount: number;
  /** Distinct layer classes, in first-seen order. */
  layerClasses: string[];
  /** Input layers as `name: dtype[shape]`. */
  inputs: string[];
}

export interface KerasInfo extends KerasModelConfig {
  kind: 'keras' | 'keras-h5';
  kerasVersion?: string | undefined;
  backend?: string | undefined;
  dateSaved?: string | undefined;
  parameterCount?: number | undefined;
  parametersByDtype?: Record<string, number> | undefined;
  /** Why weights were not counted, when they were not. */
  weightsNote?: string | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v.slice(0, 256) : undefined;
}

/** Reads the model class, layers and inputs from a Keras model config (Keras 2 or 3 layout). */
export function parseKerasConfig(json: unknown): KerasModelConfig {
  const out: KerasModelConfig = { layerCount: 0, layerClasses: [], inputs: [] };
  if (!isRecord(json)) return out;
  out.className = str(json.class_name);
  const config = json.config;
  const layers = Array.isArray(config) ? config : isRecord(config) && Array.isArray(config.layers) ? config.layers : [];
  if (isRecord(config)) out.name = str(config.name);
  out.layerCount = layers.length;
  const classes = new Set<string>();
  for (const layer of layers) {
    if (!isRecord(layer)) continue;
    const cls = str(layer.class_name);
    if (cls && classes.size < MAX_LAYER_CLASSES) classes.add(cls);
    const lc = isRecord(layer.config) ? layer.config : {};
    if (cls === 'InputLayer' && out.inputs.length < 100) {
      const shape = lc.batch_shape ?? lc.batch_input_shape;
      const dims = Array.isArray(shape) ? shape.map((d) => (typeof d === 'number' ? String(d) : 'None')).join(',') : '';
      out.inputs.push(`${str(lc.name) ?? 'input'}: ${str(lc.dtype) ?? '?'}${dims ? `[${dims}]` : ''}`);
    }
  }
  // A Sequential model saved without an InputLayer may carry the shape on its first layer.
  if (out.inputs.length === 0 && isRecord(config) && Array.isArray(config.build_input_shape)) {
    const dims = config.build_input_shape.map((d) => (typeof d === 'number' ? String(d) : 'None')).join(',');
    out.inputs.push(`input: ${str(config.dtype) ?? '?'}[${dims}]`);
  }
  out.layerClasses = [...classes];
  return out;
}

function parseJson(source: { name: string }, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw formatError(source, `Keras: ${what} is not valid JSON`, error);
  }
}

function weightsOf(info: KerasInfo, summary: Hdf5Summary): void {
  if (summary.parameterCount !== undefined) {
    info.parameterCount = summary.parameterCount;
    info.parametersByDtype = summary.parametersByDtype;
  } else info.weightsNote = summary.walkError;
}

/**
 * Reads a Keras 3 `.keras` archive: `config.json` (model class, layers, inputs), `metadata.json`
 * (keras_version, date_saved) and the weight shapes in `model.weights.h5`.
 * @throws {MlbomError} FORMAT_INVALID when it is not a Keras archive
 */
export async function readKeras(source: ByteSource, zip?: ZipDirectory): Promise<KerasInfo> {
  const dir = zip ?? (await readZipDirectory(source));
  const entry = (name: string) => dir.entries.find((e) => e.name === name);
  const configEntry = entry('config.json');
  if (!configEntry) throw formatError(source, 'Keras: archive has no config.json');
  const config = parseJson(source, utf8(await readZipEntry(source, dir, configEntry, MAX_CONFIG)), 'config.json');
  const info: KerasInfo = { kind: 'keras', ...parseKerasConfig(config) };
  const metaEntry = entry('metadata.json');
  if (metaEntry) {
    const meta = parseJson(source, utf8(await readZipEntry(source, dir, metaEntry, 1024 * 1024)), 'metadata.json');
    if (isRecord(meta)) {
      info.kerasVersion = str(meta.keras_version);
      info.dateSaved = str(meta.date_saved);
    }
  }
  const weights = entry('model.weights.h5');
  if (weights) {
    if (weights.size > 64 * 1024 * 1024) info.weightsNote = 'model.weights.h5 larger than 64 MiB; weights not counted';
    else {
      try {
        weightsOf(
          info,
          await readHdf5(await readZipEntry(source, dir, weights, 64 * 1024 * 1024), `${source.name}:model.weights.h5`),
        );
      } catch (error) {
        info.weightsNote = error instanceof Error ? error.message : String(error);
      }
    }
  }
  return info;
}

/**
 * Reads a legacy Keras HDF5 model (`model.save('x.h5')`): root attributes `keras_version`,
 * `backend`, `model_config`, and the weight shapes.
 * @throws {MlbomError} FORMAT_INVALID when it is not HDF5
 */
export async function readKerasH5(source: ByteSource): Promise<KerasInfo & { attributes: Hdf5Summary['attributes'] }> {
  const summary = await readHdf5(source);
  const attrs = summary.attributes;
  const modelConfig =
    typeof attrs.model_config === 'string' ? parseJson(source, attrs.model_config, 'model_config') : undefined;
  const info: KerasInfo & { attributes: Hdf5Summary['attributes'] } = {
    kind: 'keras-h5',
    ...parseKerasConfig(modelConfig),
    kerasVersion: typeof attrs.keras_version === 'string' ? attrs.keras_version.slice(0, 64) : undefined,
    backend: typeof attrs.backend === 'string' ? attrs.backend.slice(0, 64) : undefined,
    attributes: Object.fromEntries(
      Object.entries(attrs).filter(([k]) => k !== 'model_config' && k !== 'training_config'),
    ) as Hdf5Summary['attributes'],
  };
  weightsOf(info, summary);
  return info;
}
