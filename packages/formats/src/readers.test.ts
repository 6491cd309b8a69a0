// Exact facts read from the framework-made fixtures (test/fixtures/formats, examples/tiny-bert).
import { join } from 'node:path';
import { type ByteSource, countingSource, fileByteSource } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { describeModelFile } from './describe.js';
import { readGgufHeader } from './gguf.js';
import { readKeras, readKerasH5 } from './keras.js';
import { readNpy, readNpz } from './numpy.js';
import { readOnnxModel } from './onnx.js';
import { readPickleGlobals } from './pickle.js';
import { readPytorch } from './pytorch.js';
import { readSafetensorsHeader, readSafetensorsIndex } from './safetensors.js';
import { readSavedModel } from './savedmodel.js';
import { EXAMPLE, FIXTURES, fixture } from './test-utils.js';
import { readTflite } from './tflite.js';

const props = (list: { name: string; value: string }[]) => Object.fromEntries(list.map((p) => [p.name, p.value]));

describe('safetensors', () => {
  it('reads tensor count, parameters by dtype and __metadata__, reading only the header', async () => {
    const source = await fixture('model.safetensors');
    const h = await readSafetensorsHeader(source);
    expect(h).toMatchObject({
      headerLength: 392,
      metadata: { format: 'pt', description: 'mlbom test fixture' },
      tensorCount: 5,
      parameterCount: 39,
      parametersByDtype: { F16: 24, F32: 10, BF16: 4, I64: 1 },
      dataSize: 104,
    });
    expect(h.tensors.find((t) => t.name === 'step')).toEqual({
      name: 'step',
      dtype: 'I64',
      shape: [],
      dataOffsets: [96, 104],
    });
    expect(source.bytesRead).toBe(8 + 392);
  });

  it('reads the tiny-bert example: 23,586 F32 parameters in 41 tensors', async () => {
    const source = await fileByteSource(join(EXAMPLE, 'model.safetensors'));
    const h = await readSafetensorsHeader(source);
    await source.close();
    expect([h.tensorCount, h.parameterCount, h.parametersByDtype]).toEqual([41, 23586, { F32: 23586 }]);
  });

  it('reads a shard index: shards, tensor count and total size', async () => {
    expect(await readSafetensorsIndex(await fixture('sharded/model.safetensors.index.json'))).toEqual({
      totalSize: 120,
      metadata: {},
      shards: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
      tensorCount: 4,
    });
  });
});

describe('GGUF', () => {
  it('reads architecture, name, file type, context length, tokenizer and parameters', async () => {
    const h = await readGgufHeader(await fixture('model.gguf'));
    expect(h).toMatchObject({
      version: 3,
      tensorCount: 2,
      architecture: 'llama',
      name: 'mlbom tiny llama fixture',
      fileType: 'F32',
      contextLength: 128,
      tokenizerModel: 'llama',
      vocabSize: 16,
      parameterCount: 136,
      parametersByType: { F32: 136 },
      dataOffset: 1184,
    });
    expect(h.tensors).toEqual([
      { name: 'token_embd.weight', dims: [8, 16], type: 'F32' },
      { name: 'output_norm.weight', dims: [8], type: 'F32' },
    ]);
    expect(h.metadata['general.license']).toBe('mit');
    expect(h.metadata['tokenizer.ggml.token_type']).toMatchObject({ type: 'array', elementType: 'int32', length: 16 });
    expect(h.chatTemplate).toMatch(/^\{% for message in messages %\}/);
  });

  it('keeps the chat template as a hash, not the text', async () => {
    const d = await describeModelFile(await fixture('model.gguf'), 'model.gguf');
    const p = props(d.properties);
    expect(p['mlbom:chatTemplate:sha256']).toBe('d627e39d1b153e2703b96c7182a93897e8ba3bdb65804a780f40981560e6df8d');
    expect(JSON.stringify(d)).not.toContain('add_generation_prompt');
    expect(p).toMatchObject({
      'mlbom:quantization': 'F32',
      'mlbom:parameterCount': '136',
      'mlbom:contextLength': '128',
      'mlbom:tokenizer': 'llama',
    });
    expect(d.card.architectureFamily).toBe('llama');
    expect(d.frameworks.map((f) => f.name)).toEqual(['gguf']);
  });
});

describe('ONNX', () => {
  it('reads ir_version, opsets, producer, graph signature, metadata and initializers', async () => {
    const m = await readOnnxModel(await fixture('model.onnx'));
    expect(m).toMatchObject({
      irVersion: 7,
      opsets: [{ domain: 'ai.onnx', version: 13 }],
      producerName: 'pytorch',
      producerVersion: '1.13.0',
      modelVersion: 1,
      docString: 'mlbom test fixture: tiny 4-8-2 MLP exported from PyTorch',
      graphName: 'torch_jit',
      metadata: { author: 'mlbom fixtures', license: 'apache-2.0' },
      inputs: [{ name: 'input', type: 'float32[batch,4]' }],
      outputs: [{ name: 'logits', type: 'float32[batch,2]' }],
      nodeCount: 3,
      opTypes: { Gemm: 2, Relu: 1 },
      initializerCount: 4,
      parameterCount: 58,
      parametersByDtype: { F32: 58 },
      externalData: [],
    });
  });

  it('maps the producer to a framework with its version, and the signature to card inputs/outputs', async () => {
    const d = await describeModelFile(await fixture('model.onnx'), 'model.onnx');
    expect(d.frameworks).toEqual([
      { name: 'torch', version: '1.13.0', ecosystem: 'pypi', evidence: 'onnx producer_name/producer_version' },
    ]);
    expect(d.card).toEqual({ inputs: ['input: float32[batch,4]'], outputs: ['logits: float32[batch,2]'] });
    expect(props(d.properties)).toMatchObject({
      'mlbom:onnx:irVersion': '7',
      'mlbom:onnx:opset': 'ai.onnx=13',
      'mlbom:onnx:producer': 'pytorch 1.13.0',
      'mlbom:onnx:metadata:license': 'apache-2.0',
    });
  });
});

describe('PyTorch', () => {
  it('reads a zip checkpoint: archive, version, byteorder, storages and tensors', async () => {
    const t = await readPytorch(await fixture('model.pt'));
    expect(t).toMatchObject({
      kind: 'zip',
      archiveName: 'model',
      serializationVersion: '3',
      storageCount: 4,
      parameterCount: 58,
      parametersByDtype: { F32: 58 },
      codeFiles: 0,
    });
    expect(t.architecture).toBeUndefined();
    expect(t.pickle.globals).toEqual([
      'collections.OrderedDict',
      'torch._utils._rebuild_tensor_v2',
      'torch.FloatStorage',
    ]);
  });

  it('reads the legacy format: magic, protocol 1001, byte order, storage keys', async () => {
    expect(await readPytorch(await fixture('legacy.pt'))).toMatchObject({
      kind: 'legacy',
      legacyProtocolVersion: 1001,
      byteorder: 'little',
      storageCount: 4,
      parameterCount: 58,
    });
  });

  it('reads a TorchScript archive and names its module class', async () => {
    expect(await readPytorch(await fixture('scripted.pt'))).toMatchObject({
      kind: 'torchscript',
      archiveName: 'scripted',
      codeFiles: 2,
      storageCount: 2,
      parameterCount: 10,
      architecture: 'tiny_scripted.TinyScripted',
    });
  });

  it('names the class of a whole pickled module as the architecture', async () => {
    const d = await describeModelFile(await fixture('whole-module.pth'), 'whole-module.pth');
    expect(d.format).toBe('pytorch-zip');
    expect(d.card.modelArchitecture).toBe('torch.nn.modules.linear.Linear');
    expect(props(d.properties)).toMatchObject({ 'mlbom:parameterCount': '8', 'mlbom:pytorch:storageCount': '2' });
    expect(d.frameworks.map((f) => f.name)).toEqual(['torch']);
  });
});

describe('pickle and joblib', () => {
  it('reads globals, the estimator class and _sklearn_version from a pickle', async () => {
    const info = await readPickleGlobals(await fixture('model.pkl'));
    expect(info).toMatchObject({
      protocol: 4,
      rootClass: 'sklearn.linear_model._logistic.LogisticRegression',
      sklearnVersion: '1.2.1',
      truncated: false,
      end: 741,
    });
    expect(info.globals).toEqual([
      'sklearn.linear_model._logistic.LogisticRegression',
      'numpy.core.multiarray._reconstruct',
      'numpy.ndarray',
      'numpy.dtype',
    ]);
  });

  it('skips the arrays joblib writes inline and reads to the end', async () => {
    const info = await readPickleGlobals(await fixture('model.joblib'), { joblib: true });
    expect(info).toMatchObject({ joblibArrays: 4, end: 879, sklearnVersion: '1.2.1', truncated: false });
    const d = await describeModelFile(await fixture('model.joblib'), 'model.joblib');
    expect(d.frameworks[0]).toEqual({
      name: 'scikit-learn',
      version: '1.2.1',
      evidence: 'joblib pickle _sklearn_version',
    });
    expect(d.card.modelArchitecture).toBe('sklearn.linear_model._logistic.LogisticRegression');
  });

  it('reads a zlib-compressed joblib by streaming it through zlib', async () => {
    const { readFile } = await import('node:fs/promises');
    const { deflateSync } = await import('node:zlib');
    const { bufferByteSource } = await import('@mlbom/core');
    const compressed = deflateSync(await readFile(join(FIXTURES, 'model.joblib')));
    const d = await describeModelFile(bufferByteSource(compressed, 'c.joblib'), 'c.joblib');
    expect(d.format).toBe('joblib');
    expect(props(d.properties)).toMatchObject({ 'mlbom:compression': 'zlib', 'mlbom:joblib:arrays': '4' });
    expect(d.frameworks[0]?.version).toBe('1.2.1');
    expect(d.problems).toEqual([]);
  });
  it("reads joblib's bz2 and xz containers (compress=('bz2'|'xz', 3)) the same way", async () => {
    const corpus = join(FIXTURES, '..', 'scanner', 'benign');
    for (const codec of ['bz2', 'xz'] as const) {
      const source = await fileByteSource(join(corpus, `pipeline_${codec}.joblib`));
      const d = await describeModelFile(source, `pipeline_${codec}.joblib`).finally(() => source.close());
      expect(d.format, codec).toBe('joblib');
      expect(props(d.properties)['mlbom:compression'], codec).toBe(codec);
      expect(d.card.modelArchitecture, codec).toBe('sklearn.pipeline.Pipeline');
      expect(d.frameworks.find((f) => f.name === 'scikit-learn')?.version, codec).toMatch(/^\d+\.\d+/);
      expect(d.problems, codec).toEqual([]);
    }
  });
});

describe('NumPy', () => {
  it('reads a .npy header', async () => {
    expect(await readNpy(await fixture('weights.npy'))).toEqual({
      version: '1.0',
      descr: '<f4',
      dtype: 'F32',
      fortranOrder: false,
      shape: [3, 4],
      elementCount: 12,
      holdsObjects: false,
      dataOffset: 128,
    });
  });

  it('flags an object array and lists what its pickle references', async () => {
    const n = await readNpy(await fixture('objects.npy'));
    expect(n).toMatchObject({ dtype: 'OBJECT', shape: [4], holdsObjects: true });
    expect(n.pickle?.globals).toEqual(['numpy.core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype']);
  });

  it('reads every member of a .npz', async () => {
    const z = await readNpz(await fixture('arrays.npz'));
    expect(z.arrays.map((a) => [a.name, a.dtype, a.shape])).toEqual([
      ['weight', 'F32', [2, 4]],
      ['bias', 'F32', [2]],
    ]);
    expect([z.parameterCount, z.holdsObjects]).toEqual([10, false]);
  });
});

describe('Keras', () => {
  it('reads a .keras archive: class, layers, inputs, keras_version, date and weights', async () => {
    expect(await readKeras(await fixture('model.keras'))).toMatchObject({
      kind: 'keras',
      className: 'Sequential',
      name: 'sequential',
      layerCount: 2,
      layerClasses: ['InputLayer', 'Dense'],
      inputs: ['input_layer: float32[None,4]'],
      kerasVersion: '3.3.3',
      dateSaved: '2024-05-01@12:00:00',
      parameterCount: 10,
      parametersByDtype: { F32: 10 },
    });
  });

  it('reads a legacy .h5: keras_version, backend, model_config and weight shapes', async () => {
    const k = await readKerasH5(await fixture('model.h5'));
    expect(k).toMatchObject({
      kind: 'keras-h5',
      kerasVersion: '2.15.0',
      backend: 'tensorflow',
      className: 'Sequential',
      layerClasses: ['InputLayer', 'Dense'],
      inputs: ['dense_input: float32[None,4]'],
      parameterCount: 10,
    });
    const d = await describeModelFile(await fixture('model.h5'), 'model.h5');
    expect(d.frameworks.map((f) => [f.name, f.version])).toEqual([
      ['keras', '2.15.0'],
      ['tensorflow', undefined],
    ]);
  });
});

describe('TensorFlow', () => {
  it('reads saved_model.pb and its variables index', async () => {
    const variablesIndex = await fixture('saved_model/variables/variables.index');
    const s = await readSavedModel(await fixture('saved_model/saved_model.pb'), { variablesIndex });
    expect(s).toEqual({
      schemaVersion: 1,
      metaGraphs: [
        {
          tags: ['serve'],
          tensorflowVersion: '2.15.0',
          graphProducer: 1645,
          nodeCount: 0,
          signatures: [
            {
              key: 'serving_default',
              methodName: 'tensorflow/serving/predict',
              inputs: ['input: float32[-1,4]'],
              outputs: ['output_0: float32[-1,2]'],
            },
          ],
        },
      ],
      variables: { count: 2, parameterCount: 10, parametersByDtype: { F32: 10 } },
    });
  });

  it('reads a TFLite flatbuffer: schema version, description, min runtime, graph signature and weights', async () => {
    expect(await readTflite(await fixture('model.tflite'))).toEqual({
      schemaVersion: 3,
      description: 'mlbom synthetic fixture: TFLite flatbuffer, not verified by a runtime',
      minRuntimeVersion: '1.14.0',
      metadataNames: ['min_runtime_version'],
      subgraphCount: 1,
      operatorCount: 1,
      operatorCodes: ['builtin:9'],
      tensorCount: 3,
      parameterCount: 8,
      parametersByDtype: { F32: 8 },
      inputs: ['input: float32[1,4]'],
      outputs: ['logits: float32[1,2]'],
      signatureKeys: ['serving_default'],
    });
  });
});

describe('describeModelFile', () => {
  it("parses a zip archive's central directory once (format detection and reader share it)", async () => {
    for (const [name, format] of [
      ['model.pt', 'pytorch-zip'],
      ['arrays.npz', 'numpy-archive'],
      ['model.keras', 'keras'],
    ] as const) {
      const inner: ByteSource = await fixture(name);
      let tailReads = 0;
      const source = countingSource(name, inner.size, async (offset, length) => {
        if (offset + length >= inner.size) tailReads++; // the end-of-central-directory record
        return inner.read(offset, length);
      });
      const d = await describeModelFile(source, name);
      expect(d.format, name).toBe(format);
      expect(d.problems, name).toEqual([]);
      expect(tailReads, name).toBe(1);
    }
  });

  it('lists an unknown file as unknown without reading past its first bytes', async () => {
    const source = await fixture('random.bin');
    const d = await describeModelFile(source, 'random.bin');
    expect(d).toMatchObject({ format: 'unknown', recognised: false, problems: [], properties: [] });
    expect(source.bytesRead).toBeLessThanOrEqual(64);
  });

  it('records a safetensors name on a pickle as a mismatch and reads the pickle', async () => {
    const d = await describeModelFile(await fixture('fake.safetensors'), 'fake.safetensors');
    expect(d.format).toBe('pickle');
    expect(props(d.properties)['mlbom:format:mismatch']).toBe('extension says safetensors, content is pickle');
  });

  it('reports the truncated safetensors fixture', async () => {
    const d = await describeModelFile(await fixture('truncated.safetensors'), 'truncated.safetensors');
    expect(d.problems).toEqual([
      {
        code: 'FORMAT_INVALID',
        message: 'safetensors header claims 392 bytes but the file has 204: truncated',
        subject: 'truncated.safetensors',
      },
    ]);
  });

  it('does not read text files', async () => {
    const source = await fixture('notes.txt');
    await describeModelFile(source, 'requirements.txt');
    expect(source.bytesRead).toBe(0);
  });
});
