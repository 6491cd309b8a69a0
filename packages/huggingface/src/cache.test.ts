import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultContext, inventorySchema, isMlbomError, type ParsedInventory } from '@mlbom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMITS,
  hubFixtures,
  POISONED_COMMIT,
  poisonedCacheRepo,
  sha256Hex,
  writeFakeCache,
} from '../../../test/fakes/hub/index.js';
import { collectCacheFolder, parseRepoFolder } from './cache.js';
import { huggingface } from './index.js';
import { collect, memoryLogger, modelNamed, prop } from './test-utils.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlbom-hf-cache-'));
  const wanted = new Set(['bert-base-uncased', 'acme/sharded-llm', 'acme/chat-ft', 'acme/pickled', 'acme/reviews']);
  await writeFakeCache(
    dir,
    hubFixtures().filter((r) => wanted.has(r.id)),
    { missingBlob: 'acme/pickled/optimizer.pt' },
  );
  // A second snapshot of one repo, reached by a PR ref, and a file in a subfolder.
  const repo = join(dir, 'models--acme--sharded-llm');
  const older = join(repo, 'snapshots', COMMITS.shardedV1, 'onnx');
  await mkdir(older, { recursive: true });
  await writeFile(join(repo, 'blobs', 'a'.repeat(64)), 'onnx bytes');
  await symlink(`../../../blobs/${'a'.repeat(64)}`, join(older, 'model.onnx'));
  await mkdir(join(repo, 'refs', 'refs', 'pr'), { recursive: true });
  await writeFile(join(repo, 'refs', 'refs', 'pr', '1'), `${COMMITS.shardedV1}\n`);
  // A link that escapes blobs/, and a folder that is not a repo.
  await symlink('/etc/hostname', join(dir, 'models--acme--chat-ft', 'snapshots', COMMITS.chat, 'escape.txt'));
  await mkdir(join(dir, 'spaces--acme--demo'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const target = () => `hf-cache:${dir}`;

describe('the local Hugging Face cache', () => {
  it('maps repo folders to ids', () => {
    expect(parseRepoFolder('models--acme--x')).toEqual({ type: 'model', id: 'acme/x' });
    expect(parseRepoFolder('models--gpt2')).toEqual({ type: 'model', id: 'gpt2' });
    expect(parseRepoFolder('datasets--acme--reviews')).toEqual({ type: 'dataset', id: 'acme/reviews' });
    expect(parseRepoFolder('spaces--a--b')).toBeUndefined();
    expect(parseRepoFolder('models--a--b--c')).toBeUndefined();
  });

  it('lists every snapshot as a model pinned to its commit, hashes from blob names, offline', async () => {
    const logger = memoryLogger();
    const fetch = () => Promise.reject(new Error('no network in cache mode'));
    const inventory = await collect(huggingface(), target(), { logger, fetch });
    expect(inventory.models.map((m) => `${m.group ?? ''}/${m.name}@${m.version?.slice(0, 7)}`).sort()).toEqual(
      [
        `/bert-base-uncased@${COMMITS.legacy.slice(0, 7)}`,
        `acme/chat-ft@${COMMITS.chat.slice(0, 7)}`,
        `acme/pickled@${COMMITS.pickled.slice(0, 7)}`,
        `acme/sharded-llm@${COMMITS.sharded.slice(0, 7)}`,
        `acme/sharded-llm@${COMMITS.shardedV1.slice(0, 7)}`,
      ].sort(),
    );

    const bert = modelNamed(inventory, 'bert-base-uncased');
    expect(bert.purl).toBe(`pkg:huggingface/bert-base-uncased@${COMMITS.legacy}`);
    expect(prop(bert, 'mlbom:path')).toBe(`models--bert-base-uncased/snapshots/${COMMITS.legacy}`);
    expect(prop(bert, 'mlbom:hf:refs')).toBe('main');
    expect(bert.card).toMatchObject({ architectureFamily: 'bert', modelArchitecture: 'BertForMaskedLM' });
    const weights = bert.files.find((f) => f.path === 'model.safetensors');
    expect(weights).toMatchObject({ format: 'safetensors', size: 504 });
    expect(prop(weights!, 'mlbom:sha256:source')).toBe('cache-blob-name');
    const vocab = bert.files.find((f) => f.path === 'vocab.txt');
    expect(vocab?.sha256).toBe(sha256Hex('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n'));
    expect(prop(vocab!, 'mlbom:git:blob-sha1')).toMatch(/^[0-9a-f]{40}$/);

    const older = inventory.models.find((m) => m.version === COMMITS.shardedV1);
    expect(prop(older!, 'mlbom:hf:refs')).toBe('refs/pr/1');
    expect(older?.files.map((f) => f.path)).toEqual(['onnx/model.onnx']);
    expect(older?.files[0]?.sha256).toBe('a'.repeat(64));

    const chat = modelNamed(inventory, 'acme/chat-ft');
    expect(chat.licenses[0]?.value).toBe('acme-community-license');
    expect(chat.card?.considerations?.useCases).toHaveLength(1);
    const escaping = chat.files.find((f) => f.path === 'escape.txt');
    expect(escaping?.problems[0]?.code).toBe('LINK_OUTSIDE_CACHE');
    expect(escaping?.size).toBeUndefined();
    const derived = inventory.relations.filter((r) => r.type === 'derived-from' && r.from === chat.key);
    expect(derived).toEqual([
      expect.objectContaining({
        relation: 'finetune',
        ancestor: expect.objectContaining({ purl: 'pkg:huggingface/acme/instruct' }),
      }),
    ]);

    const missing = modelNamed(inventory, 'acme/pickled').files.find((f) => f.path === 'optimizer.pt');
    expect(missing?.problems[0]?.code).toBe('BLOB_MISSING');
    expect(logger.lines.some((l) => l.startsWith('warn:') && l.includes('incomplete download'))).toBe(true);

    const reviews = inventory.datasets.find((d) => d.key === 'hf-dataset:acme/reviews');
    expect(reviews).toMatchObject({ version: COMMITS.reviews, unresolved: false, licenses: [{ value: 'cc-by-4.0' }] });
    expect(inventory.datasets.find((d) => d.key === 'hf-dataset:acme/ghost-dataset')?.unresolved).toBe(true);
  });

  it('names a snapshot folder that is not a commit instead of dropping it silently', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'mlbom-hf-cache-stray-'));
    try {
      await mkdir(join(cache, 'models--acme--stray', 'snapshots', 'copied-by-hand'), { recursive: true });
      await writeFile(join(cache, 'models--acme--stray', 'snapshots', 'copied-by-hand', 'model.bin'), 'x');
      const fetch = () => Promise.reject(new Error('no network in cache mode'));
      const inventory = await collect(huggingface(), `hf-cache:${cache}`, { fetch });
      expect(inventory.models).toEqual([]);
      expect(inventory.problems).toContainEqual({
        code: 'SNAPSHOT_NOT_A_COMMIT',
        message: expect.stringContaining('snapshots/copied-by-hand'),
        subject: 'models--acme--stray',
      });
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('hashes a git blob that several snapshots link to, giving each the same SHA-256', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'mlbom-hf-cache-twin-'));
    try {
      const repo = join(cache, 'models--acme--twin');
      const blob = 'b'.repeat(40);
      await mkdir(join(repo, 'blobs'), { recursive: true });
      await writeFile(join(repo, 'blobs', blob), 'shared bytes\n');
      for (const commit of [COMMITS.sharded, COMMITS.shardedV1]) {
        await mkdir(join(repo, 'snapshots', commit), { recursive: true });
        await symlink(`../../blobs/${blob}`, join(repo, 'snapshots', commit, 'notes.txt'));
      }
      const fetch = () => Promise.reject(new Error('no network in cache mode'));
      const inventory = await collect(huggingface(), `hf-cache:${cache}`, { fetch });
      expect(inventory.models.map((m) => m.version).sort()).toEqual([COMMITS.sharded, COMMITS.shardedV1].sort());
      for (const model of inventory.models) {
        expect(model.files).toHaveLength(1);
        const notes = model.files[0]!;
        expect(notes).toMatchObject({ path: 'notes.txt', size: 13, sha256: sha256Hex('shared bytes\n') });
        expect(prop(notes, 'mlbom:sha256:source')).toBe('computed');
        expect(prop(notes, 'mlbom:git:blob-sha1')).toBe(blob);
      }
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('fails on a missing cache directory, naming the target', async () => {
    const error = await huggingface()
      .collect(`hf-cache:${join(dir, 'missing')}`, defaultContext())
      .catch((e: unknown) => e);
    expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
    expect(String(error)).toContain(`hf-cache:${join(dir, 'missing')}`);
  });
});

describe('weights in the cache', () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'mlbom-hf-cache-scan-'));
    await writeFakeCache(cache, [poisonedCacheRepo()]);
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));

  const snapshot = () => join(cache, 'models--acme--poisoned-cache', 'snapshots', POISONED_COMMIT);
  const file = (inventory: ParsedInventory, path: string) => {
    const found = modelNamed(inventory, 'acme/poisoned-cache').files.find((f) => f.path === path);
    if (!found) throw new Error(`no ${path}`);
    return found;
  };
  const offline = () => Promise.reject(new Error('no network in cache mode'));

  it('scans pickle-based blobs without loading them: a payload is a finding, the file unsafe', async () => {
    const logger = memoryLogger();
    const inventory = await collect(huggingface(), `hf-cache:${cache}`, { logger, fetch: offline });
    const bin = file(inventory, 'pytorch_model.bin');
    expect(bin.format).toBe('pytorch-zip');
    expect(bin.scanStatus).toBe('unsafe');
    expect(bin.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ruleId: 'MLBOM-PICKLE-CRITICAL-GLOBAL', severity: 'critical' }),
      ]),
    );
    expect(JSON.stringify(bin.findings)).toContain('posix.system');
    expect(bin.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(logger.lines.some((l) => l.startsWith('warn:') && l.includes('pytorch_model.bin: unsafe to load'))).toBe(
      true,
    );

    expect(file(inventory, 'training_args.pt').scanStatus).toBe('clean');
    const weights = file(inventory, 'model.safetensors');
    expect(weights.format).toBe('safetensors');
    expect(Number(prop(weights, 'mlbom:parameterCount'))).toBeGreaterThan(0);
    expect(prop(weights, 'mlbom:dtype')).toMatch(/^[A-Z0-9,]+$/);
    expect(weights.scanStatus).toBeUndefined();
  });

  it('honours scan: false and readHeaders: false', async () => {
    const noScan = await collect(huggingface({ scan: false }), `hf-cache:${cache}`, { fetch: offline });
    const bin = file(noScan, 'pytorch_model.bin');
    expect(bin.scanStatus).toBeUndefined();
    expect(bin.findings ?? []).toEqual([]);
    expect(bin.format).toBe('pytorch-zip');
    expect(prop(file(noScan, 'model.safetensors'), 'mlbom:parameterCount')).toMatch(/^[1-9]\d*$/);

    const noHeaders = await collect(huggingface({ readHeaders: false }), `hf-cache:${cache}`, { fetch: offline });
    expect(file(noHeaders, 'pytorch_model.bin').scanStatus).toBeUndefined();
    expect(prop(file(noHeaders, 'model.safetensors'), 'mlbom:parameterCount')).toBeUndefined();
    expect(file(noHeaders, 'model.safetensors').size).toBe(504);
  });

  it('scans a snapshot folder named as a local path, unless told not to', async () => {
    const scanned = inventorySchema.parse(await collectCacheFolder(snapshot(), defaultContext({ fetch: offline })));
    expect(file(scanned, 'pytorch_model.bin').scanStatus).toBe('unsafe');
    expect(prop(file(scanned, 'model.safetensors'), 'mlbom:parameterCount')).toMatch(/^[1-9]\d*$/);

    const skipped = inventorySchema.parse(
      await collectCacheFolder(snapshot(), defaultContext({ fetch: offline }), { scan: false }),
    );
    expect(file(skipped, 'pytorch_model.bin').scanStatus).toBeUndefined();
    expect(file(skipped, 'pytorch_model.bin').findings ?? []).toEqual([]);
  });
});
