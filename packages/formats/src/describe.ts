import { type ByteSource, isMlbomError, type ModelFormat, type Property } from '@mlbom/core';
import { isDecodedCompression } from './decompress.js';
import {
  claimFromName,
  detectWithZip,
  formatFromClaim,
  isAmbiguousWeightsName,
  isTextClaim,
  problemMessage,
} from './detect.js';
import { readGgufHeader } from './gguf.js';
import { inflatingByteSource } from './inflate.js';
import { readKeras, readKerasH5 } from './keras.js';
import { readNpy, readNpz } from './numpy.js';
import { readOnnxModel } from './onnx.js';
import { type PickleInfo, readPickleGlobals } from './pickle.js';
import { readPytorch } from './pytorch.js';
import { readSafetensorsHeader, readSafetensorsIndex } from './safetensors.js';
import { readSavedModel } from './savedmodel.js';
import { readTflite } from './tflite.js';
import type { CardHints, FileDescription, FrameworkHint } from './types.js';
import { clip, parameterProperties, prop, propertyKey, sha256Hex } from './util.js';
import type { ZipDirectory } from './zip.js';

export interface DescribeOptions {
  /**
   * Opens a file next to this one (path relative to this file's folder, posix), or returns
   * undefined when there is none. Used for `variables/variables.index` beside `saved_model.pb`.
   */
  openSibling?: ((relative: string) => Promise<ByteSource | undefined>) | undefined;
}

const MAX_GLOBALS_PROPERTY = 50;

/** safetensors `__metadata__.format` → the framework that wrote it. */
const SAFETENSORS_FRAMEWORKS: Record<string, string> = {
  pt: 'torch',
  torch: 'torch',
  pytorch: 'torch',
  tf: 'tensorflow',
  flax: 'flax',
  jax: 'jax',
  np: 'numpy',
  numpy: 'numpy',
  mlx: 'mlx',
  paddle: 'paddlepaddle',
};

/** ONNX `producer_name` → PyPI distribution. */
const ONNX_PRODUCERS: Record<string, string> = {
  pytorch: 'torch',
  tf2onnx: 'tf2onnx',
  keras2onnx: 'keras2onnx',
  skl2onnx: 'skl2onnx',
  onnxmltools: 'onnxmltools',
  paddle2onnx: 'paddle2onnx',
  'onnx.quantize': 'onnxruntime',
  'onnxruntime.transformers': 'onnxruntime',
  'onnxruntime.quantization': 'onnxruntime',
  'onnx-tool': 'onnx-tool',
  optimum: 'optimum',
};

/** Top-level modules named by pickle globals → PyPI distribution. */
const PICKLE_MODULES: Record<string, string> = {
  sklearn: 'scikit-learn',
  xgboost: 'xgboost',
  lightgbm: 'lightgbm',
  catboost: 'catboost',
  torch: 'torch',
  numpy: 'numpy',
  pandas: 'pandas',
  scipy: 'scipy',
  joblib: 'joblib',
  keras: 'keras',
  tensorflow: 'tensorflow',
  statsmodels: 'statsmodels',
  transformers: 'transformers',
};

function empty(format: ModelFormat, recognised: boolean): FileDescription {
  return { format, recognised, properties: [], card: {}, frameworks: [], references: [], problems: [] };
}

function pickleProperties(info: PickleInfo, out: FileDescription, evidence: string): void {
  if (info.protocol > 0) out.properties.push(prop('mlbom:pickle:protocol', info.protocol));
  if (info.globals.length > 0) {
    const shown = info.globals.slice(0, MAX_GLOBALS_PROPERTY);
    const more = info.globals.length - shown.length;
    out.properties.push(prop('mlbom:pickle:globals', clip(shown.join(',') + (more > 0 ? `,+${more} more` : ''), 4000)));
  }
  const seen = new Set<string>();
  for (const g of info.globals) {
    const top = g.split('.')[0] ?? '';
    const name = PICKLE_MODULES[top];
    if (!name || seen.has(name)) continue;
    seen.add(name);
    out.frameworks.push({
      name,
      ...(name === 'scikit-learn' && info.sklearnVersion ? { version: info.sklearnVersion } : {}),
      evidence:
        name === 'scikit-learn' && info.sklearnVersion ? `${evidence} _sklearn_version` : `${evidence} global ${g}`,
    });
  }
  if (info.rootClass) out.card.modelArchitecture = info.rootClass;
  if (info.truncated) {
    out.problems.push({
      code: 'PARTIAL',
      message: 'pickle longer than the walk limits; only its start was read',
      subject: '',
    });
  }
}

function onnxQuantization(ops: Record<string, number>): string | undefined {
  const names = Object.keys(ops).map((k) => k.slice(k.lastIndexOf(':') + 1));
  if (names.some((n) => n === 'MatMulNBits')) return 'MatMulNBits';
  if (names.some((n) => n.startsWith('QLinear') || n === 'MatMulInteger' || n === 'ConvInteger')) return 'QOperator';
  if (names.some((n) => n === 'QuantizeLinear' || n === 'DequantizeLinear')) return 'QDQ';
  return undefined;
}

async function describeFormat(
  source: ByteSource,
  path: string,
  out: FileDescription,
  options: DescribeOptions,
  compression: string | undefined,
  zip: ZipDirectory | undefined,
): Promise<void> {
  const p = out.properties;
  const hint = (f: FrameworkHint) => out.frameworks.push(f);
  const card: CardHints = out.card;
  switch (out.format) {
    case 'safetensors': {
      const h = await readSafetensorsHeader(source);
      p.push(prop('mlbom:tensorCount', h.tensorCount), ...parameterProperties(h.parametersByDtype, h.parameterCount));
      for (const [k, v] of Object.entries(h.metadata).slice(0, 32)) {
        p.push(prop(`mlbom:safetensors:metadata:${propertyKey(k)}`, v));
      }
      const fw = SAFETENSORS_FRAMEWORKS[h.metadata.format ?? ''];
      if (fw) hint({ name: fw, evidence: `safetensors __metadata__.format=${h.metadata.format}` });
      break;
    }
    case 'safetensors-index': {
      const index = await readSafetensorsIndex(source);
      p.push(prop('mlbom:tensorCount', index.tensorCount), prop('mlbom:safetensors:shards', index.shards.length));
      if (index.totalSize !== undefined) p.push(prop('mlbom:safetensors:totalSize', index.totalSize));
      out.references.push(...index.shards);
      break;
    }
    case 'gguf': {
      const h = await readGgufHeader(source);
      p.push(prop('mlbom:gguf:version', h.version), prop('mlbom:tensorCount', h.tensorCount));
      p.push(...parameterProperties(h.parametersByType, h.parameterCount));
      if (h.fileType) p.push(prop('mlbom:quantization', h.fileType));
      if (h.name) p.push(prop('mlbom:gguf:name', h.name));
      if (h.architecture) {
        p.push(prop('mlbom:gguf:architecture', h.architecture));
        card.architectureFamily = h.architecture;
      }
      if (h.contextLength !== undefined) p.push(prop('mlbom:contextLength', h.contextLength));
      if (h.tokenizerModel) p.push(prop('mlbom:tokenizer', h.tokenizerModel));
      if (h.vocabSize !== undefined) p.push(prop('mlbom:vocabSize', h.vocabSize));
      const template = h.metadata['tokenizer.chat_template'];
      if (typeof template === 'string') p.push(prop('mlbom:chatTemplate:sha256', sha256Hex(template)));
      else if (typeof template === 'object' && template !== null && 'length' in template) {
        p.push(prop('mlbom:chatTemplate:bytes', template.length));
      }
      for (const [key, name] of [
        ['general.license', 'mlbom:gguf:license'],
        ['general.size_label', 'mlbom:gguf:sizeLabel'],
        ['general.quantized_by', 'mlbom:gguf:quantizedBy'],
        ['general.quantization_version', 'mlbom:gguf:quantizationVersion'],
      ] as const) {
        const v = h.metadata[key];
        if (typeof v === 'string' || typeof v === 'number') p.push(prop(name, v));
      }
      hint({ name: 'gguf', evidence: 'GGUF file' });
      break;
    }
    case 'onnx': {
      const m = await readOnnxModel(source);
      p.push(prop('mlbom:onnx:irVersion', m.irVersion));
      if (m.opsets.length > 0)
        p.push(prop('mlbom:onnx:opset', m.opsets.map((o) => `${o.domain}=${o.version}`).join(',')));
      if (m.producerName) {
        p.push(prop('mlbom:onnx:producer', [m.producerName, m.producerVersion].filter(Boolean).join(' ')));
        const known = ONNX_PRODUCERS[m.producerName] ?? ONNX_PRODUCERS[m.producerName.toLowerCase()];
        hint({
          name: known ?? m.producerName,
          ...(m.producerVersion ? { version: m.producerVersion } : {}),
          ecosystem: known ? 'pypi' : 'generic',
          evidence: 'onnx producer_name/producer_version',
        });
      }
      if (m.modelVersion !== undefined) p.push(prop('mlbom:onnx:modelVersion', m.modelVersion));
      if (m.domain) p.push(prop('mlbom:onnx:domain', m.domain));
      if (m.graphName) p.push(prop('mlbom:onnx:graph', m.graphName));
      p.push(prop('mlbom:onnx:nodeCount', m.nodeCount));
      const ops = Object.entries(m.opTypes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      if (ops.length > 0) p.push(prop('mlbom:onnx:ops', ops.map(([k, v]) => `${k}:${v}`).join(',')));
      p.push(
        prop('mlbom:tensorCount', m.initializerCount),
        ...parameterProperties(m.parametersByDtype, m.parameterCount),
      );
      const q = onnxQuantization(m.opTypes);
      if (q) p.push(prop('mlbom:quantization', q));
      for (const [k, v] of Object.entries(m.metadata).slice(0, 32))
        p.push(prop(`mlbom:onnx:metadata:${propertyKey(k)}`, v));
      if (m.externalData.length > 0) {
        p.push(prop('mlbom:onnx:externalData', m.externalData.join(',')));
        out.references.push(...m.externalData);
      }
      card.inputs = m.inputs.map((i) => `${i.name}: ${i.type}`);
      card.outputs = m.outputs.map((o) => `${o.name}: ${o.type}`);
      break;
    }
    case 'pytorch-zip':
    case 'torchscript':
    case 'pytorch-legacy': {
      const t = await readPytorch(source, zip);
      if (t.archiveName) p.push(prop('mlbom:pytorch:archive', t.archiveName));
      if (t.serializationVersion) p.push(prop('mlbom:pytorch:serializationVersion', t.serializationVersion));
      if (t.legacyProtocolVersion !== undefined) p.push(prop('mlbom:pytorch:legacyProtocol', t.legacyProtocolVersion));
      if (t.byteorder) p.push(prop('mlbom:pytorch:byteorder', t.byteorder));
      p.push(prop('mlbom:pytorch:storageCount', t.storageCount));
      if (t.codeFiles > 0) p.push(prop('mlbom:torchscript:codeFiles', t.codeFiles));
      if (t.parameterCount !== undefined && t.parametersByDtype) {
        p.push(...parameterProperties(t.parametersByDtype, t.parameterCount));
      }
      pickleProperties(t.pickle, out, 'data.pkl');
      card.modelArchitecture = t.architecture;
      if (!out.frameworks.some((f) => f.name === 'torch')) hint({ name: 'torch', evidence: 'PyTorch serialization' });
      break;
    }
    case 'pickle':
    case 'joblib': {
      let pickleSource = source;
      if (isDecodedCompression(compression)) pickleSource = inflatingByteSource(source, compression);
      else if (compression !== undefined) break; // lz4, legacy LZMA: recognised, not read
      try {
        const info = await readPickleGlobals(pickleSource, { joblib: true });
        pickleProperties(info, out, out.format === 'joblib' ? 'joblib pickle' : 'pickle');
        if (info.joblibArrays > 0) p.push(prop('mlbom:joblib:arrays', info.joblibArrays));
        if (info.torch) p.push(...parameterProperties(info.torch.parametersByDtype, info.torch.parameterCount));
      } finally {
        if (pickleSource !== source) await pickleSource.close();
      }
      break;
    }
    case 'numpy': {
      const n = await readNpy(source);
      p.push(prop('mlbom:numpy:version', n.version), prop('mlbom:shape', `[${n.shape.join(',')}]`));
      p.push(...parameterProperties({ [n.dtype]: n.elementCount }, n.elementCount));
      if (n.holdsObjects) p.push(prop('mlbom:numpy:objects', 'true'));
      if (n.pickle) pickleProperties(n.pickle, out, 'npy object array');
      hint({ name: 'numpy', evidence: 'NumPy .npy' });
      break;
    }
    case 'numpy-archive': {
      const z = await readNpz(source, zip);
      p.push(prop('mlbom:numpy:arrays', z.arrays.length), prop('mlbom:tensorCount', z.arrays.length));
      p.push(...parameterProperties(z.parametersByDtype, z.parameterCount));
      if (z.holdsObjects) p.push(prop('mlbom:numpy:objects', 'true'));
      for (const a of z.arrays) if (a.pickle) pickleProperties(a.pickle, out, `npz member ${a.name}`);
      hint({ name: 'numpy', evidence: 'NumPy .npz' });
      break;
    }
    case 'keras':
    case 'keras-h5': {
      const k = out.format === 'keras' ? await readKeras(source, zip) : await readKerasH5(source);
      const isKeras = k.kerasVersion !== undefined || k.className !== undefined;
      if (k.kerasVersion) p.push(prop('mlbom:keras:version', k.kerasVersion));
      if (k.backend) p.push(prop('mlbom:keras:backend', k.backend));
      if (k.dateSaved) p.push(prop('mlbom:keras:dateSaved', k.dateSaved));
      if (k.className) p.push(prop('mlbom:keras:class', k.className));
      if (k.layerCount > 0) p.push(prop('mlbom:keras:layers', k.layerCount));
      if (k.layerClasses.length > 0) p.push(prop('mlbom:keras:layerClasses', k.layerClasses.join(',')));
      if (k.parameterCount !== undefined && k.parametersByDtype) {
        p.push(...parameterProperties(k.parametersByDtype, k.parameterCount));
      } else if (k.weightsNote && isKeras) {
        out.problems.push({ code: 'PARTIAL', message: `weights not counted: ${k.weightsNote}`, subject: '' });
      }
      if (!isKeras) p.push(prop('mlbom:hdf5:keras', 'false'));
      card.modelArchitecture = k.className;
      if (k.inputs.length > 0) card.inputs = k.inputs;
      if (isKeras) {
        hint({
          name: 'keras',
          ...(k.kerasVersion ? { version: k.kerasVersion } : {}),
          evidence: out.format === 'keras' ? 'metadata.json keras_version' : 'HDF5 keras_version attribute',
        });
      }
      if (k.backend && ['tensorflow', 'jax', 'torch'].includes(k.backend)) {
        hint({ name: k.backend, evidence: 'Keras backend attribute' });
      }
      break;
    }
    case 'tf-savedmodel': {
      const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
      if (base !== 'saved_model.pb') break; // variables files carry no metadata of their own
      const variablesIndex = await options.openSibling?.('variables/variables.index');
      let s: Awaited<ReturnType<typeof readSavedModel>>;
      try {
        s = await readSavedModel(source, { variablesIndex });
      } finally {
        await variablesIndex?.close();
      }
      if (s.schemaVersion !== undefined) p.push(prop('mlbom:tf:schemaVersion', s.schemaVersion));
      const tags = [...new Set(s.metaGraphs.flatMap((m) => m.tags))];
      if (tags.length > 0) p.push(prop('mlbom:tf:tags', tags.join(',')));
      const version = s.metaGraphs.find((m) => m.tensorflowVersion)?.tensorflowVersion;
      if (version) p.push(prop('mlbom:tf:version', version));
      const producer = s.metaGraphs.find((m) => m.graphProducer !== undefined)?.graphProducer;
      if (producer !== undefined) p.push(prop('mlbom:tf:graphProducer', producer));
      const signatures = s.metaGraphs.flatMap((m) => m.signatures);
      if (signatures.length > 0) p.push(prop('mlbom:tf:signatures', signatures.map((g) => g.key).join(',')));
      if (s.variables) {
        p.push(prop('mlbom:tf:variables', s.variables.count));
        p.push(...parameterProperties(s.variables.parametersByDtype, s.variables.parameterCount));
      }
      const serving = signatures.find((g) => g.key === 'serving_default') ?? signatures[0];
      if (serving) {
        card.inputs = serving.inputs;
        card.outputs = serving.outputs;
      }
      hint({
        name: 'tensorflow',
        ...(version ? { version } : {}),
        evidence: 'SavedModel meta_info_def.tensorflow_version',
      });
      break;
    }
    case 'tflite': {
      const t = await readTflite(source);
      p.push(prop('mlbom:tflite:schemaVersion', t.schemaVersion));
      if (t.description) p.push(prop('mlbom:tflite:description', t.description));
      if (t.minRuntimeVersion) p.push(prop('mlbom:tflite:minRuntimeVersion', t.minRuntimeVersion));
      if (t.subgraphCount > 0) p.push(prop('mlbom:tflite:subgraphs', t.subgraphCount));
      if (t.operatorCount > 0) p.push(prop('mlbom:tflite:operators', t.operatorCount));
      if (t.signatureKeys.length > 0) p.push(prop('mlbom:tflite:signatures', t.signatureKeys.join(',')));
      for (const [k, v] of Object.entries(t.modelMetadata ?? {})) p.push(prop(`mlbom:tflite:metadata:${k}`, v));
      if (t.tensorCount > 0) {
        p.push(prop('mlbom:tensorCount', t.tensorCount), ...parameterProperties(t.parametersByDtype, t.parameterCount));
      }
      if (t.inputs.length > 0) card.inputs = t.inputs;
      if (t.outputs.length > 0) card.outputs = t.outputs;
      break;
    }
    default:
      break;
  }
}

/**
 * What one file says about itself: its format (from name and bytes), and what its format's reader
 * finds (parameter counts, dtypes, framework versions, model card hints, referenced files).
 * Never throws for bad content: a reader's failure becomes a Problem on the description.
 * @throws {MlbomError} only FILE_UNREADABLE / ABORTED / SOURCE_FAILED when the bytes cannot be read at all
 */
export async function describeModelFile(
  source: ByteSource,
  path: string,
  options: DescribeOptions = {},
): Promise<FileDescription> {
  const claim = claimFromName(path);
  if (claim === 'safetensors-index') {
    const out = empty('safetensors-index', false);
    await runReader(source, path, out, options, undefined, undefined);
    out.recognised = out.problems.length === 0;
    return out;
  }
  if (isTextClaim(claim)) return empty(formatFromClaim(claim), false);
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (claim === 'tf-savedmodel' && base !== 'saved_model.pb') return empty('tf-savedmodel', false);

  const { sniff: detected, zip } = await detectWithZip(source, claim, path, {
    ambiguous: isAmbiguousWeightsName(path),
  });
  const out: FileDescription = {
    ...empty(detected.format, detected.recognised),
    properties: [...detected.properties],
    problems: [...detected.problems],
  };
  if (!detected.recognised || detected.problems.length > 0 || out.format === 'unknown') return out;
  const compression = detected.properties.find((p) => p.name === 'mlbom:compression')?.value;
  await runReader(source, path, out, options, compression, zip);
  return out;
}

async function runReader(
  source: ByteSource,
  path: string,
  out: FileDescription,
  options: DescribeOptions,
  compression: string | undefined,
  zip: ZipDirectory | undefined,
): Promise<void> {
  try {
    await describeFormat(source, path, out, options, compression, zip);
  } catch (error) {
    if (!isMlbomError(error) || (error.code !== 'FORMAT_INVALID' && error.code !== 'FILE_UNREADABLE')) throw error;
    out.problems.push({ code: error.code, message: problemMessage(error, source.name), subject: path });
  }
  for (const problem of out.problems) if (problem.subject === '') problem.subject = path;
  dedupeProperties(out.properties);
}

function dedupeProperties(properties: Property[]): void {
  const seen = new Set<string>();
  let w = 0;
  for (const p of properties) {
    const k = `${p.name}\u0000${p.value}`;
    if (seen.has(k)) continue;
    seen.add(k);
    properties[w++] = p;
  }
  properties.length = w;
}
