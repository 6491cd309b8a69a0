import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, unlink } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Inventory, inventorySchema, isMlbomError, type ParsedInventory } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { collectLocal, keyBase } from './collect.js';
import { local, localOptionsSchema } from './index.js';
import { type LocalOptions, resolveLocalOptions } from './options.js';
import {
  ggufBytes,
  onnxBytes,
  pickleBytes,
  recordingContext,
  safetensorsBytes,
  tempDir,
  torchZipBytes,
  writeTree,
} from './test-utils.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

function sha256sum(path: string): string {
  const out = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  return out.stdout.split(' ')[0] as string;
}

async function scan(
  target: string,
  options: LocalOptions = {},
  recorded = recordingContext(),
): Promise<ParsedInventory> {
  const inventory: Inventory = await local(options).collect(target, recorded.ctx);
  return relativeKeys(inventorySchema.parse(inventory), target);
}

/** Keys start with the target as given (an absolute temp path here); compare them relative to it. */
function relativeKeys(inventory: ParsedInventory, target: string): ParsedInventory {
  const base = keyBase(target);
  const root = /\.[a-z0-9]+$/i.test(base) && !base.endsWith('/') ? posix.dirname(base) : base;
  const text = JSON.stringify(inventory)
    .replaceAll(`"local:${root}/`, '"local:')
    .replaceAll(`"local:${root}"`, '"local:."');
  return JSON.parse(text) as ParsedInventory;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const hfCard = `---
license: apache-2.0
datasets: [stanfordnlp/imdb]
base_model: google-bert/bert-base-uncased
---
# bert

A test model.
`;

describe('local source', () => {
  it('has a name, validates options and claims only local targets', () => {
    const source = local();
    expect(source.name).toBe('local');
    for (const t of ['.', './models', '/abs/path', 'models/bert', 'C:\\models', 'file:///tmp/x', 'weird:name']) {
      expect(source.canHandle(t), t).toBe(t !== 'weird:name');
    }
    for (const t of ['hf://org/name', 'models:/m/1', 'runs:/abc/model', 'https://x.y/z', 'http://x', 's3://b/k', '']) {
      expect(source.canHandle(t), t).toBe(false);
    }
    expect(() => local({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => local({ bogus: true } as LocalOptions)).toThrow();
    expect(localOptionsSchema.parse({ include: ['*.onnx'], hash: false })).toEqual({
      include: ['*.onnx'],
      hash: false,
    });
    expect(resolveLocalOptions({}).concurrency).toBeGreaterThanOrEqual(1);
  });

  it('groups a Hugging Face style folder into one model with nested files', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'bert/config.json': JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'] }),
      'bert/README.md': hfCard,
      'bert/model.safetensors': safetensorsBytes(),
      'bert/tokenizer.json': '{}',
      'bert/vocab.txt': 'a\nb\n',
      'bert/onnx/model.onnx': onnxBytes(),
      'bert/requirements.txt': 'torch==2.1.0\ntransformers>=4.40\n',
    });
    const inv = await scan(root);
    expect(inv.models.map((m) => m.key)).toEqual(['local:bert']);
    const model = inv.models[0]!;
    expect(model.name).toBe('bert');
    expect(model.files.map((f) => [f.path, f.format])).toEqual([
      ['README.md', 'model-card'],
      ['config.json', 'config'],
      ['model.safetensors', 'safetensors'],
      ['onnx/model.onnx', 'onnx'],
      ['requirements.txt', 'requirements'],
      ['tokenizer.json', 'tokenizer'],
      ['vocab.txt', 'tokenizer'],
    ]);
    for (const f of model.files) expect(f.sha256).toBe(sha256sum(join(root, 'bert', f.path)));
    expect(model.description).toBe('A test model.');
    expect(model.licenses).toEqual([{ value: 'apache-2.0' }]);
    expect(model.card).toMatchObject({ architectureFamily: 'bert', modelArchitecture: 'BertForMaskedLM' });
    expect(inv.datasets.map((d) => d.key)).toEqual(['hf-dataset:stanfordnlp/imdb']);
    // The ONNX test file names "test" as its producer: a framework the file records, not on PyPI.
    expect(inv.packages.map((p) => p.key)).toEqual([
      'pkg:generic/test',
      'pkg:pypi/torch@2.1.0',
      'pkg:pypi/transformers',
    ]);
    expect(inv.relations).toEqual([
      { type: 'trained-on', from: 'local:bert', to: 'hf-dataset:stanfordnlp/imdb' },
      {
        type: 'derived-from',
        from: 'local:bert',
        ancestor: expect.objectContaining({ purl: 'pkg:huggingface/google-bert/bert-base-uncased' }),
      },
      { type: 'depends-on', from: 'local:bert', to: 'pkg:pypi/torch@2.1.0' },
      { type: 'depends-on', from: 'local:bert', to: 'pkg:pypi/transformers' },
      // safetensors `format: pt` names torch without a version: linked to the pinned requirement.
      { type: 'depends-on', from: 'local:bert', to: 'pkg:generic/test' },
    ]);
  });

  it('keeps nested model folders apart and lists lone weights as their own models', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'config.json': JSON.stringify({ _class_name: 'StableDiffusionPipeline' }),
      'README.md': '---\nlicense: mit\n---\n',
      'unet/config.json': '{"_class_name": "UNet2DConditionModel"}',
      'unet/diffusion_pytorch_model.safetensors': safetensorsBytes(),
      'tokenizer/vocab.json': '{}',
      'elsewhere/notes.txt': 'hi',
      'elsewhere/model.gguf': ggufBytes(),
      'elsewhere/requirements.txt': 'llama-cpp-python==0.2.0\n',
      'scripts/model.pkl': pickleBytes(),
      'scripts/data.bin': Buffer.from('not a model at all, just bytes'),
    });
    const inv = await scan(root);
    expect(inv.models.map((m) => m.key)).toEqual(['local:.', 'local:unet']);
    const [top, unet] = inv.models;
    expect(top?.name).toBe(relative(join(root, '..'), root));
    expect(top?.files.map((f) => f.path)).toEqual([
      'README.md',
      'config.json',
      'elsewhere/model.gguf',
      'elsewhere/notes.txt',
      'elsewhere/requirements.txt',
      'scripts/data.bin',
      'scripts/model.pkl',
      'tokenizer/vocab.json',
    ]);
    // A .bin whose bytes show no format is just an unknown file, not a broken PyTorch one.
    expect(top?.files.find((f) => f.path === 'scripts/data.bin')).toMatchObject({ format: 'unknown', problems: [] });
    expect(unet?.files.map((f) => f.path)).toEqual(['config.json', 'diffusion_pytorch_model.safetensors']);
    expect(unet?.card?.modelArchitecture).toBe('UNet2DConditionModel');
  });

  it('makes lone weights files models, with requirements from their folder', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'a/model.gguf': ggufBytes(),
      'a/requirements.txt': 'llama-cpp-python==0.2.0\n',
      'a/notes.txt': 'hi',
      'b/model.pt': torchZipBytes(),
      'b/data.bin': Buffer.from('not a model at all, just bytes'),
      'b/pytorch_model.bin': torchZipBytes(),
      'c/model.onnx': onnxBytes(),
      'c/model.onnx_data': Buffer.alloc(16),
    });
    const inv = await scan(root);
    expect(inv.models.map((m) => [m.key, m.name, m.files.map((f) => `${f.path}:${f.format}`)])).toEqual([
      ['local:a/model.gguf', 'model.gguf', ['model.gguf:gguf']],
      ['local:b/model.pt', 'model.pt', ['model.pt:pytorch-zip']],
      ['local:b/pytorch_model.bin', 'pytorch_model.bin', ['pytorch_model.bin:pytorch-zip']],
      ['local:c/model.onnx', 'model.onnx', ['model.onnx:onnx', 'model.onnx_data:unknown']],
    ]);
    expect(inv.relations).toEqual([
      { type: 'depends-on', from: 'local:a/model.gguf', to: 'pkg:pypi/llama-cpp-python@0.2.0' },
      { type: 'depends-on', from: 'local:a/model.gguf', to: 'pkg:pypi/gguf' },
      { type: 'depends-on', from: 'local:b/model.pt', to: 'pkg:pypi/torch' },
      { type: 'depends-on', from: 'local:b/pytorch_model.bin', to: 'pkg:pypi/torch' },
      { type: 'depends-on', from: 'local:c/model.onnx', to: 'pkg:generic/test' },
    ]);
    expect(inv.models[0]?.files[0]?.sha256).toBe(sha256sum(join(root, 'a/model.gguf')));
  });

  it('drops a .bin or .pth that is no model format, unless the scanner found code a loader would run', async () => {
    const root = await tempDir();
    const protocol0 = Buffer.from("cposix\nsystem\n(S'echo pwned'\ntR.");
    await writeTree(root, {
      'site/distutils-precedence.pth': "import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n",
      'site/firmware.bin': Buffer.from('not a model at all, just bytes'),
      'm/evil.bin': protocol0,
      'm/evil.pth': protocol0,
      'm/model.pth': torchZipBytes(),
      // A protocol-0 list cut off before STOP (formats recognises no protocol 0): HIGH malformed, so it
      // is kept and warned about.
      'm/cut.bin': Buffer.from(`(lp0\n${'I1\na'.repeat(10)}`, 'latin1'),
    });
    const recorded = recordingContext();
    const inv = await scan(root, {}, recorded);
    expect(inv.models.map((m) => [m.name, m.files[0]?.scanStatus])).toEqual([
      ['cut.bin', 'error'],
      ['evil.bin', 'unsafe'],
      ['evil.pth', 'unsafe'],
      ['model.pth', 'clean'],
    ]);
    expect(inv.models[1]?.files[0]?.findings[0]?.ruleId).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(recorded.warnings.filter((w) => w.includes('site/'))).toEqual([]);
    expect(recorded.warnings.some((w) => w.includes('cut.bin: could not be fully scanned'))).toBe(true);
  });

  it('treats SavedModel folders and sharded safetensors indexes as one model', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'sm/saved_model.pb': Buffer.from([0x08, 0x01, 0x12, 0x00]),
      'sm/variables/variables.index': Buffer.from([0, 1, 2]),
      'sm/variables/variables.data-00000-of-00001': Buffer.alloc(8),
      'sh/model.safetensors.index.json': '{"weight_map": {}}',
      'sh/model-00001-of-00002.safetensors': safetensorsBytes(),
      'sh/model-00002-of-00002.safetensors': safetensorsBytes(),
    });
    const inv = await scan(root);
    expect(inv.models.map((m) => [m.key, m.files.map((f) => `${f.path}:${f.format}`)])).toEqual([
      [
        'local:sh',
        [
          'model-00001-of-00002.safetensors:safetensors',
          'model-00002-of-00002.safetensors:safetensors',
          'model.safetensors.index.json:safetensors-index',
        ],
      ],
      [
        'local:sm',
        [
          'saved_model.pb:tf-savedmodel',
          'variables/variables.data-00000-of-00001:tf-savedmodel',
          'variables/variables.index:tf-savedmodel',
        ],
      ],
    ]);
    // The three-byte variables.index is no tensor bundle: reported on saved_model.pb, which reads it.
    expect(inv.models.flatMap((m) => m.files.flatMap((f) => f.problems.map((p) => [p.subject, p.code])))).toEqual([
      ['sm/saved_model.pb', 'FORMAT_INVALID'],
    ]);
  });

  it('does not make a folder a model for a config.json or front matter without weights', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'README.md': '---\ntitle: docs\nlayout: page\n---\n# Docs',
      'app/config.json': '{"port": 8080}',
      'app/src/index.js': 'x',
      'models/m.onnx': onnxBytes(),
    });
    const inv = await scan(root);
    expect(inv.models.map((m) => m.key)).toEqual(['local:models/m.onnx']);
  });

  it('lists unknown binaries inside a model folder and records mismatches', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'm/config.json': '{}',
      'm/model.safetensors': ggufBytes(),
      'm/blob': Buffer.from([1, 2, 3, 4]),
      'm/truncated.safetensors': safetensorsBytes({ truncate: true }),
    });
    const model = (await scan(root)).models[0]!;
    expect(model.files.map((f) => [f.path, f.format, f.properties, f.problems.map((p) => p.code)])).toEqual([
      ['blob', 'unknown', [], []],
      ['config.json', 'config', [], []],
      [
        'model.safetensors',
        'gguf',
        [
          { name: 'mlbom:gguf:version', value: '3' },
          { name: 'mlbom:format:mismatch', value: 'extension says safetensors, content is gguf' },
          { name: 'mlbom:tensorCount', value: '0' },
          { name: 'mlbom:parameterCount', value: '0' },
        ],
        [],
      ],
      ['truncated.safetensors', 'safetensors', [], ['FORMAT_INVALID']],
    ]);
    expect(model.files.every((f) => f.sha256 !== undefined)).toBe(true);
  });

  it('records sizes but no hashes with hash: false, and reports progress when hashing', async () => {
    const root = await tempDir();
    await writeTree(root, { 'a.gguf': ggufBytes(), 'b.safetensors': safetensorsBytes() });
    const plain = await scan(root, { hash: false });
    expect(plain.models.map((m) => m.files.map((f) => [f.size, f.sha256]))).toEqual([
      [[ggufBytes().length, undefined]],
      [[safetensorsBytes().length, undefined]],
    ]);
    const recorded = recordingContext();
    const hashed = await scan(root, { concurrency: 1 }, recorded);
    const total = ggufBytes().length + safetensorsBytes().length;
    expect(recorded.added).toEqual([total]);
    expect(recorded.advanced.reduce((a, b) => a + b, 0)).toBe(total);
    expect(hashed.models[0]?.files[0]?.sha256).toBe(sha256sum(join(root, 'a.gguf')));
  });

  it('accepts a single weights file as the target', async () => {
    const root = await tempDir();
    await writeTree(root, { 'model.gguf': ggufBytes(), 'requirements.txt': 'gguf>=0.1\n', 'notes.txt': 'x' });
    const inv = await scan(join(root, 'model.gguf'));
    expect(inv.models).toHaveLength(1);
    expect(inv.models[0]).toMatchObject({ key: 'local:model.gguf', name: 'model.gguf' });
    expect(inv.models[0]?.files).toMatchObject([
      { path: 'model.gguf', format: 'gguf', sha256: sha256sum(join(root, 'model.gguf')) },
    ]);
    expect(inv.packages.map((p) => p.key)).toEqual(['pkg:pypi/gguf']);
    const viaUrl = await scan(pathToFileURL(join(root, 'model.gguf')).href);
    expect(viaUrl.models[0]?.key).toBe('local:model.gguf');
    const recorded = recordingContext();
    expect((await scan(join(root, 'notes.txt'), {}, recorded)).models).toEqual([]);
    expect(recorded.warnings.join('\n')).toContain('not a model file');
  });

  it('scans pickles and warns with the worst finding', async () => {
    const root = await tempDir();
    // GLOBAL acme.thing (outside the allowlist: medium), POP, then posix.system (critical) called with "id".
    const pickle = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.from('cacme\nthing\n0cposix\nsystem\nX'),
      Buffer.from([2, 0, 0, 0]),
      Buffer.from('id'),
      Buffer.from([0x85]),
      Buffer.from('R.'),
    ]);
    await writeTree(root, { 'model.pkl': pickle });
    const recorded = recordingContext();
    const file = (await scan(root, { hash: false }, recorded)).models[0]?.files[0];
    expect(file?.scanStatus).toBe('unsafe');
    expect(file?.findings?.map((f) => f.severity).sort()).toEqual(['critical', 'medium']);
    const warning = recorded.warnings.find((w) => w.includes('security finding'));
    expect(warning).toContain('2 security finding(s), worst critical');
  });

  it('throws NOT_FOUND naming a missing path', async () => {
    const missing = join(await tempDir(), 'nope');
    const error = await rejection(scan(missing));
    expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
    expect((error as Error).message).toContain(missing);
  });

  it('returns an empty inventory with a warning for an empty directory', async () => {
    const recorded = recordingContext();
    const inv = await scan(await tempDir(), {}, recorded);
    expect(inv).toEqual({ models: [], datasets: [], packages: [], relations: [], problems: [] });
    expect(recorded.warnings).toHaveLength(1);
  });

  it('throws ABORTED for an aborted signal, before or during hashing', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'a.gguf': ggufBytes(),
      'big.safetensors': Buffer.concat([safetensorsBytes(), Buffer.alloc(8 << 20)]),
    });
    const before = await rejection(scan(root, {}, recordingContext({ signal: AbortSignal.abort() })));
    expect(isMlbomError(before) && before.code).toBe('ABORTED');
    const controller = new AbortController();
    const recorded = recordingContext({
      signal: controller.signal,
      progress: { add() {}, advance: () => controller.abort(), done() {} },
    });
    const during = await rejection(scan(root, { concurrency: 1 }, recorded));
    expect(isMlbomError(during) && during.code).toBe('ABORTED');
  });

  it('skips .git, node_modules, caches and virtualenvs by default, and honours exclude/include', async () => {
    const root = await tempDir();
    await writeTree(root, {
      '.git/objects/model.gguf': ggufBytes(),
      'node_modules/pkg/model.onnx': onnxBytes(),
      '__pycache__/x.pkl': pickleBytes(),
      'env/pyvenv.cfg': 'home = /usr/bin',
      'env/lib/site-packages/sklearn/model.pkl': pickleBytes(),
      'venv/model.pkl': pickleBytes(),
      'm/.cache/huggingface/xet/chunk.bin': torchZipBytes(),
      'm/.DS_Store': 'x',
      'keep/model.gguf': ggufBytes(),
      'keep/other.onnx': onnxBytes(),
      'drafts/model.gguf': ggufBytes(),
    });
    expect((await scan(root)).models.map((m) => m.key)).toEqual([
      'local:drafts/model.gguf',
      'local:keep/model.gguf',
      'local:keep/other.onnx',
    ]);
    expect((await scan(root, { exclude: ['drafts', '*.onnx'] })).models.map((m) => m.key)).toEqual([
      'local:keep/model.gguf',
    ]);
    expect((await scan(root, { include: ['keep/**'] })).models.map((m) => m.key)).toEqual([
      'local:keep/model.gguf',
      'local:keep/other.onnx',
    ]);
    expect((await scan(root, { include: ['*.onnx'] })).models.map((m) => m.key)).toEqual(['local:keep/other.onnx']);
  });

  it('groups with every file but lists only included ones', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'bert/config.json': '{"model_type": "bert"}',
      'bert/model.safetensors': safetensorsBytes(),
      'bert/vocab.txt': 'a',
    });
    const inv = await scan(root, { include: ['*.safetensors'] });
    expect(inv.models.map((m) => [m.key, m.files.map((f) => f.path), m.card?.architectureFamily])).toEqual([
      ['local:bert', ['model.safetensors'], 'bert'],
    ]);
  });

  it('fails clearly past maxFileCount', async () => {
    const root = await tempDir();
    await writeTree(root, { 'a.gguf': ggufBytes(), 'b.gguf': ggufBytes(), 'c.gguf': ggufBytes() });
    const error = await rejection(scan(root, { maxFileCount: 2 }));
    expect(isMlbomError(error) && error.code).toBe('INVALID_INPUT');
    expect((error as Error).message).toContain('maxFileCount');
  });

  it('is deterministic', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'z/model.gguf': ggufBytes(),
      'a/config.json': '{}',
      'a/model.safetensors': safetensorsBytes(),
      'a/README.md': hfCard,
      'm/x.onnx': onnxBytes(),
    });
    const a = await scan(root, { concurrency: 4 });
    const b = await scan(root, { concurrency: 1 });
    expect(b).toEqual(a);
    expect(a.models.map((m) => m.key)).toEqual(['local:a', 'local:m/x.onnx', 'local:z/model.gguf']);
  });

  it('names Hugging Face cache snapshots inside a project folder after their repo and revision', async () => {
    const root = await tempDir();
    const rev = 'a'.repeat(40);
    await writeTree(root, {
      // Something beside the cache makes this a project folder (walked), not a cache (read as --hf-cache).
      'notes.txt': 'models fetched for the demo',
      [`models--google-bert--bert-base-uncased/blobs/${'b'.repeat(64)}`]: safetensorsBytes(),
      [`models--google-bert--bert-base-uncased/blobs/${'c'.repeat(40)}`]: '{"model_type": "bert"}',
      'models--google-bert--bert-base-uncased/refs/main': rev,
    });
    const snapshot = join(root, `models--google-bert--bert-base-uncased/snapshots/${rev}`);
    await mkdir(snapshot, { recursive: true });
    await symlink(`../../blobs/${'b'.repeat(64)}`, join(snapshot, 'model.safetensors'));
    await symlink(`../../blobs/${'c'.repeat(40)}`, join(snapshot, 'config.json'));
    const inv = await scan(root);
    expect(inv.models).toHaveLength(1);
    expect(inv.models[0]).toMatchObject({
      key: `local:models--google-bert--bert-base-uncased/snapshots/${rev}`,
      name: 'bert-base-uncased',
      group: 'google-bert',
      version: rev,
      purl: `pkg:huggingface/google-bert/bert-base-uncased@${rev}`,
    });
    const file = inv.models[0]?.files.find((f) => f.path === 'model.safetensors');
    expect(file?.format).toBe('safetensors');
    expect(file?.sha256).toBe(sha256sum(join(snapshot, 'model.safetensors')));
    expect(file?.properties).toContainEqual({
      name: 'mlbom:symlink-target',
      value: `models--google-bert--bert-base-uncased/blobs/${'b'.repeat(64)}`,
    });
  });
});

describe('local source: links and unreadable files', () => {
  it('does not hang on a directory symlink loop', async () => {
    const root = await tempDir();
    await writeTree(root, { 'm/model.gguf': ggufBytes() });
    await symlink('..', join(root, 'm', 'up'));
    await symlink('.', join(root, 'm', 'self'));
    await symlink('loop-b', join(root, 'm', 'loop-a'));
    await symlink('loop-a', join(root, 'm', 'loop-b'));
    const inv = await scan(root);
    expect(inv.models.map((m) => m.key)).toEqual(['local:m/model.gguf']);
  });

  it('never follows a symlink out of the root', async () => {
    const outside = await tempDir();
    await writeTree(outside, { 'secret.gguf': ggufBytes(), 'dir/model.onnx': onnxBytes() });
    const root = await tempDir();
    await writeTree(root, { 'm/config.json': '{}', 'm/model.safetensors': safetensorsBytes() });
    await symlink(join(outside, 'secret.gguf'), join(root, 'm', 'linked.gguf'));
    await symlink(join(outside, 'secret.gguf'), join(root, 'lone.gguf'));
    await symlink(join(outside, 'dir'), join(root, 'dirlink'));
    const recorded = recordingContext();
    const inv = await scan(root, {}, recorded);
    expect(inv.models.map((m) => m.key)).toEqual(['local:m']);
    const linked = inv.models[0]?.files.find((f) => f.path === 'linked.gguf');
    expect(linked).toMatchObject({
      format: 'gguf',
      problems: [expect.objectContaining({ code: 'SYMLINK_OUTSIDE_ROOT' })],
    });
    expect(linked?.sha256).toBeUndefined();
    expect(linked?.size).toBeUndefined();
    expect(inv.problems).toEqual([expect.objectContaining({ code: 'SYMLINK_OUTSIDE_ROOT', subject: 'lone.gguf' })]);
    expect(JSON.stringify(inv)).not.toContain('model.onnx');
    expect(recorded.warnings.some((w) => w.includes('lone.gguf'))).toBe(true);
  });

  it('follows a file symlink that stays inside the root', async () => {
    const root = await tempDir();
    await writeTree(root, { 'store/weights': ggufBytes() });
    await symlink('store/weights', join(root, 'store-link.gguf'));
    const inv = await scan(root);
    expect(inv.models[0]?.files[0]).toMatchObject({
      path: 'store-link.gguf',
      format: 'gguf',
      sha256: sha256sum(join(root, 'store/weights')),
      properties: expect.arrayContaining([{ name: 'mlbom:symlink-target', value: 'store/weights' }]),
    });
  });

  it('lists a dangling symlink in a model folder with a problem and a warning', async () => {
    const root = await tempDir();
    await writeTree(root, { 'm/config.json': '{}', 'm/model.safetensors': safetensorsBytes() });
    await symlink('does-not-exist.bin', join(root, 'm', 'pytorch_model.bin'));
    const recorded = recordingContext();
    const inv = await scan(root, {}, recorded);
    const file = inv.models[0]?.files.find((f) => f.path === 'pytorch_model.bin');
    expect(file?.problems.map((p) => p.code)).toEqual(['FILE_UNREADABLE']);
    expect(file?.sha256).toBeUndefined();
    expect(recorded.warnings.some((w) => w.includes('pytorch_model.bin'))).toBe(true);
    expect(inv.models[0]?.files.find((f) => f.path === 'model.safetensors')?.sha256).toBeDefined();
  });

  it('lists a file that vanishes between listing and hashing, with a problem', async () => {
    // Running as root, chmod cannot make a file unreadable; deleting it right before hashing
    // (through the collector's test hook) exercises the same per-file failure path for real.
    const root = await tempDir();
    await writeTree(root, {
      'm/config.json': '{}',
      'm/model.safetensors': safetensorsBytes(),
      'm/extra.bin': torchZipBytes(),
    });
    const recorded = recordingContext();
    const inventory = await collectLocal(root, recorded.ctx, resolveLocalOptions(), {
      beforeHash: async (path) => {
        if (path.endsWith('extra.bin')) await unlink(path);
      },
    });
    const files = inventorySchema.parse(inventory).models[0]?.files ?? [];
    const gone = files.find((f) => f.path === 'extra.bin');
    expect(gone?.problems).toEqual([expect.objectContaining({ code: 'FILE_UNREADABLE', subject: 'm/extra.bin' })]);
    expect(gone?.sha256).toBeUndefined();
    expect(files.find((f) => f.path === 'model.safetensors')?.sha256).toBeDefined();
    expect(recorded.warnings.some((w) => w.includes('extra.bin'))).toBe(true);
    expect(recorded.advanced.reduce((a, b) => a + b, 0)).toBe(recorded.added[0]);
  });

  it.skipIf(process.getuid?.() === 0)('lists a chmod 000 file with a problem (non-root only)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'm/config.json': '{}', 'm/model.safetensors': safetensorsBytes() });
    await chmod(join(root, 'm/model.safetensors'), 0);
    const inv = await scan(root);
    expect(inv.models[0]?.files.find((f) => f.path === 'model.safetensors')?.problems[0]?.code).toBe('FILE_UNREADABLE');
  });

  it('ignores FIFOs instead of blocking on them', async (context) => {
    const root = await tempDir();
    await writeTree(root, { 'm/config.json': '{}', 'm/model.safetensors': safetensorsBytes() });
    const made = spawnSync('mkfifo', [join(root, 'm', 'pipe.bin')]);
    // Without mkfifo the test is reported as skipped rather than passing without checking anything.
    if (made.status !== 0) context.skip();
    await symlink('pipe.bin', join(root, 'm', 'pipe-link.bin'));
    const inv = await scan(root);
    expect(inv.models[0]?.files.map((f) => f.path)).toEqual(['config.json', 'model.safetensors']);
    await rm(join(root, 'm', 'pipe.bin'));
  });
});

const fixtures = join(repoRoot, 'test', 'fixtures', 'formats');

describe.skipIf(!existsSync(fixtures))('committed format fixtures', () => {
  it('reads what each fixture records: parameters, frameworks with versions, card hints', async () => {
    const inv = await scan(fixtures, { hash: false });
    const model = (key: string) => inv.models.find((m) => m.key === key)!;
    const prop = (m: { properties: { name: string; value: string }[] }, name: string) =>
      m.properties.find((p) => p.name === name)?.value;
    expect(prop(model('local:model.onnx'), 'mlbom:parameterCount')).toBe('58');
    expect(model('local:model.onnx').card).toMatchObject({ inputs: ['input: float32[batch,4]'] });
    expect(model('local:model.joblib').card?.modelArchitecture).toBe(
      'sklearn.linear_model._logistic.LogisticRegression',
    );
    expect(model('local:whole-module.pth').card?.modelArchitecture).toBe('torch.nn.modules.linear.Linear');
    expect(model('local:model.gguf').card?.architectureFamily).toBe('llama');
    expect(prop(model('local:sharded'), 'mlbom:parameterCount')).toBe('30');
    expect(prop(model('local:saved_model'), 'mlbom:parameterCount')).toBe('10');
    const dependsOn = (key: string) =>
      inv.relations.filter((r) => r.type === 'depends-on' && r.from === key).map((r) => (r as { to: string }).to);
    expect(dependsOn('local:model.onnx')).toEqual(['pkg:pypi/torch@1.13.0']);
    expect(dependsOn('local:model.joblib')).toEqual([
      'pkg:pypi/scikit-learn@1.2.1',
      'pkg:pypi/joblib',
      'pkg:pypi/numpy',
    ]);
    expect(dependsOn('local:model.keras')).toEqual(['pkg:pypi/keras@3.3.3']);
    expect(dependsOn('local:saved_model')).toEqual(['pkg:pypi/tensorflow@2.15.0']);
    const sklearn = inv.packages.find((p) => p.key === 'pkg:pypi/scikit-learn@1.2.1');
    expect(sklearn).toMatchObject({ role: 'framework', version: '1.2.1' });
    expect(sklearn?.properties).toContainEqual({
      name: 'mlbom:evidence',
      value: 'model.joblib: joblib pickle _sklearn_version',
    });
  });

  it('reads the Python stack next to models and at the root, following -r includes', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'pyproject.toml': '[project]\nname = "app"\ndependencies = ["fastapi==0.110.0"]\n',
      'requirements-dev.txt': '-r reqs/base.txt\npytest==8.0.0\n',
      'reqs/base.txt': 'numpy==1.26.4\n',
      'm/config.json': JSON.stringify({ model_type: 'bert', transformers_version: '4.40.0', torch_dtype: 'float16' }),
      'm/model.safetensors': safetensorsBytes(),
      'm/environment.yml': 'dependencies:\n  - pytorch::pytorch=2.1.0\n  - pip:\n    - accelerate==0.30.0\n',
      'm/python_env.yaml': 'python: "3.11"\ndependencies:\n  - mlflow==2.12.1\n',
      'lone/model.gguf': ggufBytes(),
    });
    const inv = await scan(root, { hash: false });
    const dependsOn = (key: string) =>
      inv.relations.filter((r) => r.type === 'depends-on' && r.from === key).map((r) => (r as { to: string }).to);
    expect(dependsOn('local:m')).toEqual([
      'pkg:conda/pytorch@2.1.0?channel=pytorch',
      'pkg:pypi/accelerate@0.30.0',
      'pkg:pypi/mlflow@2.12.1',
      'pkg:pypi/fastapi@0.110.0',
      'pkg:pypi/pytest@8.0.0',
      'pkg:pypi/numpy@1.26.4',
      'pkg:pypi/torch',
    ]);
    expect(dependsOn('local:lone/model.gguf')).toEqual([
      'pkg:pypi/fastapi@0.110.0',
      'pkg:pypi/pytest@8.0.0',
      'pkg:pypi/numpy@1.26.4',
      'pkg:pypi/gguf',
    ]);
    const m = inv.models.find((x) => x.key === 'local:m')!;
    expect(m.properties).toEqual(
      expect.arrayContaining([
        { name: 'mlbom:config:transformersVersion', value: '4.40.0' },
        { name: 'mlbom:config:dtype', value: 'float16' },
        { name: 'mlbom:python:version', value: '3.11' },
        { name: 'mlbom:project:name', value: 'app' },
      ]),
    );
  });

  it('lists models referenced from code and notebooks with where they were seen', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'src/train.py':
        'from transformers import AutoModel\n\nm = AutoModel.from_pretrained("google-bert/bert-base-uncased")\n',
      'nb/explore.ipynb': JSON.stringify({
        cells: [{ cell_type: 'code', source: ['p = pipeline("fill-mask", model="google-bert/bert-base-uncased")\n'] }],
      }),
      'models/m.onnx': onnxBytes(),
    });
    const inv = await scan(root, { hash: false });
    const ref = inv.models.find((m) => m.key === 'pkg:huggingface/google-bert/bert-base-uncased');
    expect(ref).toMatchObject({
      name: 'bert-base-uncased',
      group: 'google-bert',
      files: [],
      occurrences: [
        { location: 'nb/explore.ipynb#cell=1', line: 1 },
        { location: 'src/train.py', line: 3 },
      ],
    });
  });

  it('reports ONNX external data that is missing, and lists what is there with the model', async () => {
    // A minimal ModelProto: ir_version 8 and one initializer (dims [4], FLOAT, name "w") whose data_location
    // is EXTERNAL with location "weights.bin".
    const root = await tempDir();
    const location = Buffer.from('weights.bin');
    const entry = Buffer.concat([
      Buffer.from([0x0a, 8]),
      Buffer.from('location'),
      Buffer.from([0x12, location.length]),
      location,
    ]);
    const tensor = Buffer.concat([
      Buffer.from([0x08, 4, 0x10, 1, 0x42, 1, 0x77]),
      Buffer.from([0x6a, entry.length]),
      entry,
      Buffer.from([0x70, 1]),
    ]);
    const graph = Buffer.concat([Buffer.from([0x2a, tensor.length]), tensor]);
    const model = Buffer.concat([Buffer.from([0x08, 8, 0x3a, graph.length]), graph]);
    await writeTree(root, { 'a/model.onnx': model, 'b/model.onnx': model, 'b/weights.bin': Buffer.alloc(16) });
    const recorded = recordingContext();
    const inv = await scan(root, { hash: false }, recorded);
    const a = inv.models.find((m) => m.key === 'local:a/model.onnx')!;
    expect(a.files[0]?.problems).toEqual([
      { code: 'REFERENCE_MISSING', message: 'references "weights.bin", which is missing', subject: 'a/model.onnx' },
    ]);
    expect(recorded.warnings.some((w) => w.includes('weights.bin'))).toBe(true);
    const b = inv.models.find((m) => m.key === 'local:b/model.onnx')!;
    expect(b.files.map((f) => f.path)).toEqual(['model.onnx', 'weights.bin']);
    expect(b.files[0]?.properties).toContainEqual({ name: 'mlbom:parameterCount', value: '4' });
  });

  it('recognises every fixture format', async () => {
    const inv = await scan(fixtures);
    const formats = Object.fromEntries(inv.models.map((m) => [m.key, m.files.map((f) => f.format).join(',')]));
    expect(formats).toMatchObject({
      'local:arrays.npz': 'numpy-archive',
      'local:fake.safetensors': 'pickle',
      'local:legacy.pt': 'pytorch-legacy',
      'local:model.gguf': 'gguf',
      'local:model.h5': 'keras-h5',
      'local:model.joblib': 'joblib',
      'local:model.keras': 'keras',
      'local:model.onnx': 'onnx',
      'local:model.pkl': 'pickle',
      'local:model.pt': 'pytorch-zip',
      'local:model.safetensors': 'safetensors',
      'local:model.tflite': 'tflite',
      'local:objects.npy': 'numpy',
      'local:saved_model': 'tf-savedmodel,tf-savedmodel,tf-savedmodel',
      'local:scripted.pt': 'torchscript',
      'local:sharded': 'safetensors,safetensors,safetensors-index',
      'local:truncated.safetensors': 'safetensors',
      'local:weights.npy': 'numpy',
      'local:whole-module.pth': 'pytorch-zip',
    });
    expect(Object.keys(formats)).not.toContain('local:random.bin');
    expect(Object.keys(formats)).not.toContain('local:notes.txt');
    const fake = inv.models.find((m) => m.key === 'local:fake.safetensors')?.files[0];
    expect(fake?.properties).toContainEqual({
      name: 'mlbom:format:mismatch',
      value: 'extension says safetensors, content is pickle',
    });
    const truncated = inv.models.find((m) => m.key === 'local:truncated.safetensors')?.files[0];
    expect(truncated?.problems.map((p) => p.code)).toEqual(['FORMAT_INVALID']);
    for (const m of inv.models) {
      for (const f of m.files) {
        const path =
          m.files.length === 1 && m.key.endsWith(f.path)
            ? join(fixtures, f.path)
            : join(fixtures, m.key.slice(6), f.path);
        expect(f.sha256, path).toBe(sha256sum(path));
      }
    }
  });
});

const tinyBert = join(repoRoot, 'examples', 'tiny-bert');

describe.skipIf(!existsSync(join(tinyBert, 'README.md')))('examples/tiny-bert', () => {
  it('reads the card, config and requirements', async () => {
    const inv = await scan(tinyBert);
    expect(inv.models).toHaveLength(1);
    const model = inv.models[0]!;
    expect(model.key).toBe('local:.');
    expect(model.name).toBe('tiny-bert');
    expect(model.card?.task).toBe('text-classification');
    expect(model.card?.architectureFamily).toBe('bert');
    expect(inv.relations.some((r) => r.type === 'derived-from')).toBe(true);
    expect(inv.packages.map((p) => p.key)).toEqual([
      'pkg:pypi/numpy',
      'pkg:pypi/safetensors@0.4.3',
      'pkg:pypi/tokenizers@0.15.2',
      'pkg:pypi/torch@2.1.0',
      'pkg:pypi/transformers',
    ]);
  });
});
