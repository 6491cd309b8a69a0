import { describe, expect, it } from 'vitest';
import { claimFromName, classifyZip, detectContent, detectFormat, looksLikeProtobuf } from './detect.js';
import {
  ggufBytes,
  hdf5Bytes,
  kerasBytes,
  npyBytes,
  npzBytes,
  onnxBytes,
  pickleBytes,
  safetensorsBytes,
  bytes as source,
  tfliteBytes,
  torchLegacyBytes,
  torchScriptBytes,
  torchZipBytes,
} from './test-utils.js';

function sniffBytes(name: string, bytes: Buffer) {
  return detectFormat(source(bytes, name), claimFromName(name), name);
}

describe('format detection by name and bytes', () => {
  it.each([
    ['model.safetensors', safetensorsBytes(), 'safetensors'],
    ['model.gguf', ggufBytes(), 'gguf'],
    ['model.onnx', onnxBytes(), 'onnx'],
    ['model.pt', torchZipBytes(), 'pytorch-zip'],
    ['model.bin', torchZipBytes(), 'pytorch-zip'],
    ['model.ckpt', torchZipBytes({ zip64: true }), 'pytorch-zip'],
    ['scripted.pt', torchScriptBytes(), 'torchscript'],
    ['legacy.pth', torchLegacyBytes(), 'pytorch-legacy'],
    ['pytorch_model.bin', torchLegacyBytes(), 'pytorch-legacy'],
    ['model.keras', kerasBytes(), 'keras'],
    ['model.h5', hdf5Bytes(), 'keras-h5'],
    ['model.hdf5', hdf5Bytes(), 'keras-h5'],
    ['model.tflite', tfliteBytes(), 'tflite'],
    ['model.joblib', pickleBytes(), 'joblib'],
    ['model.pkl', pickleBytes(), 'pickle'],
    ['model.pickle', pickleBytes(), 'pickle'],
    ['weights.npy', npyBytes(), 'numpy'],
    ['arrays.npz', npzBytes(), 'numpy-archive'],
  ])('%s is %s', async (name, bytes, format) => {
    const result = await sniffBytes(name, bytes);
    expect(result.format).toBe(format);
    expect(result.recognised).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.properties.find((p) => p.name === 'mlbom:format:mismatch')).toBeUndefined();
  });

  it.each([
    ['model.safetensors', ggufBytes(), 'gguf', 'extension says safetensors, content is gguf'],
    ['model.pt', safetensorsBytes(), 'safetensors', 'extension says pytorch, content is safetensors'],
    ['model.onnx', torchZipBytes(), 'pytorch-zip', 'extension says onnx, content is pytorch-zip'],
    ['model.h5', pickleBytes(), 'pickle', 'extension says keras-h5, content is pickle'],
    ['model.gguf', hdf5Bytes(), 'keras-h5', 'extension says gguf, content is keras-h5'],
  ])('%s holding another format gets the format its bytes show', async (name, bytes, format, mismatch) => {
    const result = await sniffBytes(name, bytes);
    expect(result.format).toBe(format);
    expect(result.properties).toContainEqual({ name: 'mlbom:format:mismatch', value: mismatch });
  });

  it('recognises weights by their bytes whatever the name', async () => {
    expect((await sniffBytes('blob', ggufBytes())).format).toBe('gguf');
    expect((await sniffBytes('weights.data', safetensorsBytes())).format).toBe('safetensors');
    const unknown = await sniffBytes('random.dat', Buffer.from('just some text, nothing else'));
    expect(unknown).toMatchObject({ format: 'unknown', recognised: false, problems: [] });
  });

  it('flags a truncated safetensors file', async () => {
    const result = await sniffBytes('model.safetensors', safetensorsBytes({ truncate: true }));
    expect(result.format).toBe('safetensors');
    expect(result.problems.map((p) => p.code)).toEqual(['FORMAT_INVALID']);
    expect(result.problems[0]?.message).toContain('truncated');
  });

  it('flags content that matches no format, keeping the claimed one', async () => {
    const result = await sniffBytes('model.safetensors', Buffer.from('hello world, not a tensor file'));
    expect(result.format).toBe('safetensors');
    expect(result.recognised).toBe(false);
    expect(result.problems[0]?.code).toBe('FORMAT_INVALID');
    const empty = await sniffBytes('model.gguf', Buffer.alloc(0));
    expect(empty.problems[0]?.message).toContain('empty');
  });

  it('sanity-checks ONNX protobufs', async () => {
    const bad = await sniffBytes('model.onnx', Buffer.from('<html>not onnx</html>'));
    expect(bad).toMatchObject({ format: 'onnx', recognised: false });
    expect(bad.problems[0]?.code).toBe('FORMAT_INVALID');
  });

  it('reports Git LFS pointers', async () => {
    const pointer = Buffer.from(
      'version https://git-lfs.github.com/spec/v1\noid sha256:0000000000000000000000000000000000000000000000000000000000000000\nsize 12345\n',
    );
    const result = await sniffBytes('model.safetensors', pointer);
    expect(result.format).toBe('safetensors');
    expect(result.problems.map((p) => p.code)).toEqual(['LFS_POINTER']);
  });

  it('records the compression of a compressed joblib file', async () => {
    const result = await sniffBytes('model.joblib', Buffer.from([0x78, 0x9c, 1, 2, 3]));
    expect(result.format).toBe('joblib');
    expect(result.properties).toContainEqual({ name: 'mlbom:compression', value: 'zlib' });
    // Legacy .lzma (Python's FORMAT_ALONE) has no magic and starts with ']': not an old pickle.
    const lzma = Buffer.from([0x5d, 0x00, 0x00, 0x80, 0x00, ...Array(8).fill(0xff), 1, 2, 3]);
    const legacy = await sniffBytes('model.joblib', lzma);
    expect(legacy.properties).toContainEqual({ name: 'mlbom:compression', value: 'lzma' });
    expect(legacy.problems).toEqual([]);
  });

  it('keeps a zip-based claim for a zip with unexpected entries, with a problem', async () => {
    const { zipBytes } = await import('./test-utils.js');
    const result = await sniffBytes('model.keras', zipBytes({ 'readme.txt': 'hi' }));
    expect(result.format).toBe('keras');
    expect(result.problems[0]?.code).toBe('FORMAT_INVALID');
  });
});

describe('detectContent', () => {
  it('ignores a safetensors-like header with an absurd length', () => {
    const b = safetensorsBytes();
    b.writeBigUInt64LE(10n ** 12n, 0);
    expect(detectContent(b.subarray(0, 64), b.length)).toBeUndefined();
  });

  it('reads only what it is given', () => {
    expect(detectContent(Buffer.alloc(0), 0)).toBeUndefined();
    expect(detectContent(Buffer.from('GG'), 2)).toBeUndefined();
  });
});

describe('zip classification', () => {
  it('classifies archives by their entries', () => {
    expect(classifyZip(['archive/data.pkl', 'archive/data/0'])).toBe('pytorch-zip');
    expect(classifyZip(['m/data.pkl', 'm/code/__torch__/m.py'])).toBe('torchscript');
    expect(classifyZip(['config.json', 'metadata.json', 'model.weights.h5'])).toBe('keras');
    expect(classifyZip(['a.npy', 'b.npy'])).toBe('numpy-archive');
    expect(classifyZip(['x.txt'])).toBeUndefined();
    expect(classifyZip(['arrays/', 'arrays/a.npy'])).toBe('numpy-archive');
    expect(classifyZip(['arrays/'])).toBeUndefined();
    expect(classifyZip(['a.npy', 'x.txt'])).toBeUndefined();
  });

  it('reports a zip with no end-of-directory record, keeping the claimed format', async () => {
    const result = await sniffBytes(
      'model.pt',
      Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]),
    );
    expect(result.format).toBe('pytorch-zip');
    expect(result.problems[0]?.message).toContain('end-of-central-directory');
  });
});

describe('names', () => {
  it.each([
    ['config.json', 'config'],
    ['README.md', 'model-card'],
    ['requirements.txt', 'requirements'],
    ['tokenizer.json', 'tokenizer'],
    ['vocab.txt', 'tokenizer'],
    ['model.safetensors.index.json', 'safetensors-index'],
    ['saved_model.pb', 'tf-savedmodel'],
    ['variables/variables.index', 'tf-savedmodel'],
    ['LICENSE', undefined],
  ])('%s claims %s', (name, claim) => {
    expect(claimFromName(name)).toBe(claim);
  });

  it('checks protobuf starts', () => {
    expect(looksLikeProtobuf(onnxBytes(), 'onnx')).toBe(true);
    expect(looksLikeProtobuf(Buffer.from([0x08, 0x01, 0x12]), 'tf-savedmodel')).toBe(true);
    expect(looksLikeProtobuf(Buffer.from('{"a":1}'), 'onnx')).toBe(false);
    expect(looksLikeProtobuf(Buffer.alloc(0), 'onnx')).toBe(false);
  });
});
