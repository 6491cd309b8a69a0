import { spawnSync } from 'node:child_process';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Inventory, inventorySchema, type ParsedInventory, type ParsedModel } from '@mlbom/core';
import { huggingface } from '@mlbom/huggingface';
import { describe, expect, it } from 'vitest';
import { COMMITS, hubFixtures, sha256Hex, writeFakeCache } from '../../../test/fakes/hub/index.js';
import { local } from './index.js';
import type { LocalOptions } from './options.js';
import { recordingContext, safetensorsBytes, tempDir, writeTree } from './test-utils.js';

function sha256sum(path: string): string {
  const out = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  return out.stdout.split(' ')[0] as string;
}

async function scan(target: string, options: LocalOptions = {}): Promise<ParsedInventory> {
  const inventory: Inventory = await local(options).collect(target, recordingContext().ctx);
  return inventorySchema.parse(inventory);
}

async function hfCache(dir: string): Promise<ParsedInventory> {
  const inventory = await huggingface().collect(`hf-cache:${dir}`, recordingContext().ctx);
  return inventorySchema.parse(inventory);
}

/** A model as compared between the two sources: everything but where it was found. */
function comparable(model: ParsedModel | undefined): unknown {
  if (!model) return undefined;
  return { ...model, properties: model.properties.filter((p) => p.name !== 'mlbom:path') };
}

const prop = (item: { properties: { name: string; value: string }[] }, name: string) =>
  item.properties.find((p) => p.name === name)?.value;

/** A fake Hub cache (real symlinks into blobs/), with a second snapshot of one repo. */
async function fakeCache(): Promise<string> {
  const dir = await tempDir();
  const wanted = new Set(['bert-base-uncased', 'acme/sharded-llm', 'acme/reviews']);
  await writeFakeCache(
    dir,
    hubFixtures().filter((r) => wanted.has(r.id)),
  );
  const older = join(dir, 'models--acme--sharded-llm', 'snapshots', COMMITS.shardedV1);
  await mkdir(older, { recursive: true });
  await writeFile(join(dir, 'models--acme--sharded-llm', 'blobs', 'a'.repeat(64)), 'onnx bytes');
  await symlink(`../../blobs/${'a'.repeat(64)}`, join(older, 'model.onnx'));
  return dir;
}

describe('local source: a Hugging Face cache folder', () => {
  it('reads a snapshot as --hf-cache does, hashing the blobs its links lead to', async () => {
    const cache = await fakeCache();
    const snapshot = join(cache, 'models--bert-base-uncased', 'snapshots', COMMITS.legacy);
    const inventory = await scan(snapshot);
    expect(inventory.models).toHaveLength(1);
    const model = inventory.models[0] as ParsedModel;
    expect(model).toMatchObject({
      key: `pkg:huggingface/bert-base-uncased@${COMMITS.legacy}`,
      purl: `pkg:huggingface/bert-base-uncased@${COMMITS.legacy}`,
      name: 'bert-base-uncased',
      version: COMMITS.legacy,
    });
    expect(prop(model, 'mlbom:path')).toBe('.');
    expect(model.files.map((f) => f.path)).toEqual(['README.md', 'config.json', 'model.safetensors', 'vocab.txt']);
    for (const file of model.files) {
      const blob = await realpath(join(snapshot, file.path));
      expect(file.sha256, file.path).toBe(sha256sum(blob));
      expect(file.size, file.path).toBeGreaterThan(0);
    }
    // LFS files: the blob's name is the SHA-256; git files: hashed, their blob id kept.
    const weights = model.files.find((f) => f.path === 'model.safetensors');
    expect(prop(weights!, 'mlbom:hf:storage')).toBe('lfs');
    const vocab = model.files.find((f) => f.path === 'vocab.txt');
    expect(prop(vocab!, 'mlbom:git:blob-sha1')).toMatch(/^[0-9a-f]{40}$/);

    // The same component --hf-cache gives for that snapshot (where it was found aside).
    const whole = await hfCache(cache);
    expect(comparable(model)).toEqual(comparable(whole.models.find((m) => m.key === model.key)));
    expect(inventory.datasets.map((d) => d.key)).toEqual(
      whole.datasets
        .filter((d) => ['hf-dataset:acme/wikitext-mini', 'hf-dataset:bookcorpus'].includes(d.key))
        .map((d) => d.key),
    );
  });

  it('reads a repo folder (every snapshot) and a whole cache folder', async () => {
    const cache = await fakeCache();
    const repo = await scan(join(cache, 'models--acme--sharded-llm'));
    expect(repo.models.map((m) => m.key)).toEqual([
      `pkg:huggingface/acme/sharded-llm@${COMMITS.sharded}`,
      `pkg:huggingface/acme/sharded-llm@${COMMITS.shardedV1}`,
    ]);
    expect(prop(repo.models[1]!, 'mlbom:path')).toBe(`snapshots/${COMMITS.shardedV1}`);
    expect(repo.models[1]?.files).toMatchObject([{ path: 'model.onnx', sha256: 'a'.repeat(64), size: 10 }]);

    const whole = await scan(cache);
    const reference = await hfCache(cache);
    expect(whole.models.map((m) => m.key)).toEqual(reference.models.map((m) => m.key));
    expect(whole.models.map(comparable)).toEqual(reference.models.map(comparable));
    expect(whole.datasets.map((d) => d.key)).toEqual(reference.datasets.map((d) => d.key));
    expect(whole.datasets.find((d) => d.key === 'hf-dataset:acme/reviews')).toBeDefined();
  });

  it('follows links only into the repo’s own blobs/', async () => {
    const cache = await fakeCache();
    const outside = await tempDir();
    await writeFile(join(outside, 'secret.txt'), 'not part of the model');
    const snapshot = join(cache, 'models--bert-base-uncased', 'snapshots', COMMITS.legacy);
    const blobs = join(cache, 'models--bert-base-uncased', 'blobs');
    // A link straight out, a link into another repo's blobs, and a "blob" that is itself a link out.
    await symlink(join(outside, 'secret.txt'), join(snapshot, 'escape.txt'));
    const otherBlob = join(cache, 'models--acme--sharded-llm', 'blobs', 'a'.repeat(64));
    await symlink(otherBlob, join(snapshot, 'borrowed.onnx'));
    await symlink(join(outside, 'secret.txt'), join(blobs, 'f'.repeat(64)));
    await symlink(`../../blobs/${'f'.repeat(64)}`, join(snapshot, 'relay.bin'));
    const model = (await scan(snapshot)).models[0] as ParsedModel;
    for (const path of ['escape.txt', 'borrowed.onnx', 'relay.bin']) {
      const file = model.files.find((f) => f.path === path);
      expect(file?.sha256, path).toBeUndefined();
      expect(file?.size, path).toBeUndefined();
      expect(
        file?.problems.map((p) => p.code),
        path,
      ).toEqual(['LINK_OUTSIDE_CACHE']);
    }
  });

  it('takes LFS hashes from blob names and reads no file with --no-hash', async () => {
    const cache = await fakeCache();
    const snapshot = join(cache, 'models--bert-base-uncased', 'snapshots', COMMITS.legacy);
    const model = (await scan(snapshot, { hash: false })).models[0] as ParsedModel;
    const weights = model.files.find((f) => f.path === 'model.safetensors');
    expect(weights?.sha256).toBe(sha256sum(await realpath(join(snapshot, 'model.safetensors'))));
    const config = model.files.find((f) => f.path === 'config.json');
    expect(config?.sha256).toBeUndefined();
    expect(config?.size).toBeGreaterThan(0);
  });

  it('walks a folder that merely holds a repo-like folder among other things', async () => {
    const root = await tempDir();
    await writeTree(root, { 'models--acme--x/model.safetensors': safetensorsBytes(), 'app.py': 'print(1)\n' });
    const inventory = await scan(root);
    expect(inventory.models.map((m) => m.key)).toEqual([`local:${root}/models--acme--x/model.safetensors`]);
  });
});

/** What `hf download --local-dir` leaves: the files, plus `.cache/huggingface/` with one metadata file each. */
async function localDir(card: string, commit: string): Promise<{ dir: string; weightsSha: string }> {
  const dir = await tempDir();
  const weights = safetensorsBytes();
  const weightsSha = sha256Hex(weights);
  const config = '{"model_type": "bert", "architectures": ["BertModel"]}';
  await writeTree(dir, {
    'README.md': card,
    'config.json': config,
    'model.safetensors': weights,
    '.cache/huggingface/.gitignore': '*',
    '.cache/huggingface/download/README.md.metadata': `${commit}\n${'1'.repeat(40)}\n1732500000.123\n`,
    '.cache/huggingface/download/config.json.metadata': `${commit}\n"${'2'.repeat(40)}"\n1732500000.5\n`,
    '.cache/huggingface/download/model.safetensors.metadata': `${commit}\n${weightsSha}\n1732500001.25\n`,
  });
  return { dir, weightsSha };
}

describe('local source: an hf download --local-dir folder', () => {
  const commit = 'c0ffee'.padEnd(40, '0');

  it('is pinned to the downloaded commit, and named after the card when it names an org/name repo', async () => {
    const card = '---\nlicense: mit\nmodel-index:\n  - name: acme/tiny-bert\n    results: []\n---\n# Tiny\n';
    const { dir, weightsSha } = await localDir(card, commit);
    const inventory = await scan(dir);
    expect(inventory.models).toHaveLength(1);
    const model = inventory.models[0] as ParsedModel;
    expect(model).toMatchObject({
      key: `local:${dir}`,
      name: 'tiny-bert',
      group: 'acme',
      version: commit,
      purl: `pkg:huggingface/acme/tiny-bert@${commit}`,
    });
    expect(prop(model, 'mlbom:hf:revision')).toBeUndefined();
    // `.cache/` stays out of the file list.
    expect(model.files.map((f) => f.path)).toEqual(['README.md', 'config.json', 'model.safetensors']);
    expect(model.files.find((f) => f.path === 'model.safetensors')?.sha256).toBe(weightsSha);
    expect(model.files.flatMap((f) => f.problems)).toEqual([]);
  });

  it('keeps its local identity and records the commit when the card names no org/name repo', async () => {
    const { dir } = await localDir('---\nlicense: mit\nmodel_name: tiny-bert\n---\n# Tiny\n', commit);
    const model = (await scan(dir)).models[0] as ParsedModel;
    expect(model.key).toBe(`local:${dir}`);
    expect(model.purl).toBeUndefined();
    expect(model.version).toBeUndefined();
    expect(prop(model, 'mlbom:hf:revision')).toBe(commit);
  });

  it('flags a file whose content is no longer what was downloaded', async () => {
    const { dir } = await localDir('---\nmodel_name: acme/tiny-bert\n---\n', commit);
    await writeFile(join(dir, 'model.safetensors'), Buffer.concat([safetensorsBytes(), Buffer.from('edited')]));
    const model = (await scan(dir)).models[0] as ParsedModel;
    expect(model.purl).toBe(`pkg:huggingface/acme/tiny-bert@${commit}`);
    const weights = model.files.find((f) => f.path === 'model.safetensors');
    expect(weights?.problems.map((p) => p.code)).toEqual(['DOWNLOAD_MODIFIED']);
    expect(weights?.problems[0]?.message).toContain(commit);
  });
});
