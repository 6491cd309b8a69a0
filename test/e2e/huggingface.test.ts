import { spawnSync } from 'node:child_process';
import { mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateBom } from '@mlbom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allComponents, type Bom, type Component, property } from '../bom.js';
import { runCli, withTempDir } from '../cli.js';
import {
  COMMITS,
  type FakeHub,
  GRANTED_TOKEN,
  hubFixtures,
  POISONED_COMMIT,
  poisonedCacheRepo,
  startFakeHub,
  UNGRANTED_TOKEN,
  writeFakeCache,
} from '../fakes/hub/index.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({ repos: hubFixtures(), grantedTokens: [GRANTED_TOKEN] });
});
afterAll(() => hub.close());

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: '/nonexistent-home',
  HF_ENDPOINT: hub.url,
  ...extra,
});
const all = allComponents;
const model = (bom: Bom, name: string) =>
  bom.components.find(
    (c) => c.type === 'machine-learning-model' && `${c.group ? `${c.group}/` : ''}${c.name}` === name,
  );

async function generate(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const run = await runCli(['generate', ...args], { env: env(extraEnv) });
  return { ...run, bom: run.code === 0 ? (JSON.parse(run.stdout) as Bom) : undefined };
}

describe('mlbom generate hf://... against a Hub at HF_ENDPOINT', () => {
  it('writes a valid BOM with pinned purls, nested files, datasets and lineage', async () => {
    const run = await generate(['hf://acme/chat-ft', '--output-reproducible']);
    expect(run.stderr).toMatch(/acme\/ghost-dataset.*not found/);
    expect(run.code).toBe(0);
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    const bom = run.bom as Bom;
    const chat = model(bom, 'acme/chat-ft') as Component;
    expect(chat.purl).toBe(`pkg:huggingface/acme/chat-ft@${COMMITS.chat}`);
    expect(chat['bom-ref']).toBe(chat.purl);
    expect(chat.components?.map((f) => f.name).sort()).toEqual([
      'LICENSE',
      'README.md',
      'config.json',
      'model.safetensors',
    ]);
    expect(chat.components?.find((f) => f.name === 'model.safetensors')?.hashes?.[0]?.alg).toBe('SHA-256');
    const refs = new Set(all(bom.components).map((c) => c['bom-ref']));
    const datasets = chat.modelCard?.modelParameters?.datasets?.map((d) => d.ref) ?? [];
    expect(datasets.sort()).toEqual(['hf-dataset:acme/ghost-dataset', 'hf-dataset:acme/reviews']);
    for (const ref of datasets) expect(refs.has(ref)).toBe(true);
    expect(chat.pedigree?.ancestors?.[0]).toMatchObject({
      purl: `pkg:huggingface/acme/instruct@${COMMITS.instruct}`,
      properties: [{ name: 'mlbom:relation', value: 'finetune' }],
    });
    // Lineage: chat-ft → instruct → foundation, each a component of its own.
    expect(model(bom, 'acme/instruct')?.pedigree?.ancestors?.[0]?.purl).toBe(
      `pkg:huggingface/acme/foundation@${COMMITS.foundation}`,
    );
    expect(property(model(bom, 'acme/foundation') as Component, 'mlbom:lineage:depth')).toBe('2');
  });

  it('honours --hf-depth', async () => {
    const run = await generate(['hf://acme/chat-ft', '--hf-depth', '0']);
    expect(run.code).toBe(0);
    const models = (run.bom as Bom).components.filter((c) => c.type === 'machine-learning-model');
    expect(models.map((m) => m.name)).toEqual(['chat-ft']);
    expect(models[0]?.pedigree?.ancestors?.[0]?.purl).toBe('pkg:huggingface/acme/instruct');
  });

  it('inventories every fixture in one run; one failing repo is recorded and the rest produced', async () => {
    hub.reset();
    const targets = [
      'hf://bert-base-uncased',
      'hf://acme/sharded-llm',
      'hf://acme/tiny-gguf',
      'hf://acme/pickled',
      'hf://acme/gated-model',
      'hf://acme/merged',
      'hf://acme/hundred-files',
      'hf://acme/does-not-exist',
      'hf://datasets/acme/wikitext-mini',
    ];
    const run = await generate(targets);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/hf:\/\/acme\/does-not-exist \(default branch\): not found/);
    const bom = run.bom as Bom;
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    expect(bom.metadata.properties?.find((p) => p.value.includes('does-not-exist'))?.value).toMatch(/^NOT_FOUND: /);
    for (const name of [
      'bert-base-uncased',
      'acme/sharded-llm',
      'acme/tiny-gguf',
      'acme/pickled',
      'acme/gated-model',
    ]) {
      expect(model(bom, name)?.version).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(model(bom, 'acme/hundred-files')?.components).toHaveLength(100);
    expect(bom.components.find((c) => c.type === 'data' && c.name === 'acme/wikitext-mini')?.version).toBe(
      COMMITS.wikitext,
    );
    // No weights file was downloaded: each was read with a few range requests for its header.
    const weights = hub.requests.filter((r) => r.file !== undefined && /\.(safetensors|gguf|bin|pt)$/.test(r.file));
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every((r) => r.range !== undefined)).toBe(true);
    const perFile = new Map<string, number>();
    for (const r of weights) perFile.set(r.file as string, (perFile.get(r.file as string) ?? 0) + r.bytes);
    expect(Math.max(...perFile.values())).toBeLessThanOrEqual(80 * 1024);
    const shard = model(bom, 'acme/hundred-files')?.components?.find((f) =>
      f.name.endsWith('00001-of-00010.safetensors'),
    );
    expect(property(shard as Component, 'mlbom:parameterCount')).toBe(String(32768 * 32768));
    const bin = model(bom, 'acme/pickled')?.components?.find((f) => f.name === 'pytorch_model.bin') as Component;
    expect(property(bin, 'mlbom:hf:security:status')).toBe('unsafe');
    expect(property(bin, 'mlbom:pickle:globals')).toContain('posix.system');
    expect(property(bin, 'mlbom:scan:status')).toBe('unsafe');
    const vulnerability = bom.vulnerabilities?.find((v) => v.affects?.some((a) => a.ref === bin['bom-ref']));
    expect(vulnerability?.ratings?.[0]?.severity).toBe('critical');
    expect(run.stderr).toMatch(/pytorch_model\.bin: unsafe to load/);
  });

  it('gates on a Hub model before download with --fail-on, writing the BOM first', async () => {
    hub.reset();
    const gated = await generate(['hf://acme/pickled', '--fail-on', 'high']);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toMatch(/scan finding\(s\) at or above high/);
    expect(model(JSON.parse(gated.stdout) as Bom, 'acme/pickled')).toBeDefined();
    const weights = hub.requests.filter((r) => r.file === 'acme/pickled/pytorch_model.bin');
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every((r) => r.range !== undefined)).toBe(true);
    expect((await generate(['hf://bert-base-uncased', '--fail-on', 'high'])).code).toBe(0);
  });

  it('exits 2 naming the repo when the only target does not exist', async () => {
    const run = await generate(['hf://acme/does-not-exist@v2']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/mlbom: error: hf:\/\/acme\/does-not-exist@v2: not found/);
  });
});

describe('tokens', () => {
  it('reads a gated repo with HF_TOKEN and never prints the token', async () => {
    hub.reset();
    const run = await generate(['hf://acme/gated-model'], { HF_TOKEN: GRANTED_TOKEN });
    expect(run.code).toBe(0);
    const readme = model(run.bom as Bom, 'acme/gated-model')?.components?.find((f) => f.name === 'README.md');
    expect(property(readme as Component, 'mlbom:problem')).toBeUndefined();
    expect(hub.requests.filter((r) => r.url.includes('gated-model')).every((r) => r.authorized)).toBe(true);
    expect(run.stdout).not.toContain(GRANTED_TOKEN);
    expect(run.stderr).not.toContain(GRANTED_TOKEN);
  });

  it('says to accept the terms or set HF_TOKEN, without printing a token given with --hf-token', async () => {
    const anonymous = await generate(['hf://acme/gated-model']);
    expect(anonymous.code).toBe(0);
    expect(anonymous.stderr).toMatch(/README\.md: access denied \(HTTP 401\).*set HF_TOKEN/);
    const denied = await generate(['hf://acme/gated-model', '--hf-token', UNGRANTED_TOKEN]);
    expect(denied.code).toBe(0);
    expect(denied.stderr).toMatch(/HTTP 403.*accept its terms/);
    expect(denied.stdout + denied.stderr).not.toContain(UNGRANTED_TOKEN);
    const privateRepo = await generate(['hf://acme/private-model', '--hf-token', UNGRANTED_TOKEN, '-v']);
    expect(privateRepo.code).toBe(2);
    expect(privateRepo.stderr).toContain('hf://acme/private-model');
    expect(privateRepo.stderr).not.toContain(UNGRANTED_TOKEN);
  });

  it('falls back to the token file `hf auth login` writes ($HF_HOME/token), which HF_TOKEN overrides', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'token'), `${GRANTED_TOKEN}\n`);
      hub.reset();
      const run = await generate(['hf://acme/gated-model'], { HF_HOME: dir });
      expect(run.code).toBe(0);
      const gated = hub.requests.filter((r) => r.url.includes('gated-model'));
      expect(gated.length).toBeGreaterThan(0);
      expect(gated.every((r) => r.authorized)).toBe(true);
      expect(run.stdout + run.stderr).not.toContain(GRANTED_TOKEN);

      // HF_TOKEN wins over the file: the Hub now sees a token without access.
      const overridden = await generate(['hf://acme/gated-model'], { HF_HOME: dir, HF_TOKEN: UNGRANTED_TOKEN });
      expect(overridden.stderr).toMatch(/HTTP 403/);
      expect(run.stderr).not.toMatch(/HTTP 403/);

      await writeFile(join(dir, 'elsewhere'), 'not-a-token-secret');
      const bad = await generate(['hf://acme/chat-ft'], { HF_TOKEN_PATH: join(dir, 'elsewhere') });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`the token file ${join(dir, 'elsewhere')} is not a token`);
      expect(bad.stderr).not.toContain('not-a-token-secret');
    });
  });

  it('contacts no Hub under HF_HUB_OFFLINE, and says to use the cache', async () => {
    hub.reset();
    const run = await generate(['hf://acme/chat-ft'], { HF_HUB_OFFLINE: '1' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/hf:\/\/acme\/chat-ft: HF_HUB_OFFLINE is set.*--hf-cache/);
    expect(hub.requests).toEqual([]);
  });

  it('refuses a token that is not one, without echoing it, and only when a Hub target is given', async () => {
    const bad = await generate(['hf://acme/chat-ft'], { HF_TOKEN: 'not-a-token-secret' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/HF_TOKEN is not a token/);
    expect(bad.stderr).not.toContain('not-a-token-secret');
    const local = await runCli(['generate', 'examples/tiny-bert'], { env: env({ HF_TOKEN: 'not-a-token-secret' }) });
    expect(local.code).toBe(0);
  });
});

describe('mlbom generate --hf-cache', () => {
  it('inventories the cache found through HF_HOME, offline', async () => {
    await withTempDir(async (dir) => {
      const cache = join(dir, 'hf-home', 'hub');
      await mkdir(cache, { recursive: true });
      const wanted = new Set(['acme/chat-ft', 'acme/reviews', 'bert-base-uncased']);
      await writeFakeCache(
        cache,
        hubFixtures().filter((r) => wanted.has(r.id)),
      );
      hub.reset();
      const run = await generate(['--hf-cache'], { HF_HOME: join(dir, 'hf-home') });
      expect(run.code).toBe(0);
      expect(hub.requests).toEqual([]);
      const bom = run.bom as Bom;
      expect(model(bom, 'acme/chat-ft')?.purl).toBe(`pkg:huggingface/acme/chat-ft@${COMMITS.chat}`);
      expect(
        model(bom, 'bert-base-uncased')?.components?.find((f) => f.name === 'model.safetensors')?.hashes,
      ).toHaveLength(1);
      expect(bom.components.find((c) => c['bom-ref'] === 'hf-dataset:acme/reviews')?.version).toBe(COMMITS.reviews);

      // An explicit directory wins over the environment, and HF_HUB_CACHE over HF_HOME.
      const explicit = await generate([`--hf-cache=${cache}`], { HF_HUB_CACHE: join(dir, 'nowhere') });
      expect(explicit.code).toBe(0);
      const viaEnv = await generate(['--hf-cache'], {
        HF_HUB_CACHE: join(dir, 'nowhere'),
        HF_HOME: join(dir, 'hf-home'),
      });
      expect(viaEnv.code).toBe(2);
      expect(viaEnv.stderr).toContain(`hf-cache:${join(dir, 'nowhere')}`);
    });
  });
});

describe('mlbom generate <a cache snapshot folder>', () => {
  it('hashes the blobs the snapshot links to, as sha256sum does, named after the repo and commit', async () => {
    await withTempDir(async (dir) => {
      const cache = join(dir, 'hub');
      await writeFakeCache(
        cache,
        hubFixtures().filter((r) => r.id === 'bert-base-uncased'),
      );
      const snapshot = join(cache, 'models--bert-base-uncased', 'snapshots', COMMITS.legacy);
      hub.reset();
      const run = await generate([snapshot]);
      expect(run.code, run.stderr).toBe(0);
      expect(hub.requests).toEqual([]);
      const bom = run.bom as Bom;
      expect((await validateBom(run.stdout)).issues).toEqual([]);
      const bert = model(bom, 'bert-base-uncased');
      expect(bert?.purl).toBe(`pkg:huggingface/bert-base-uncased@${COMMITS.legacy}`);
      expect(bert?.version).toBe(COMMITS.legacy);
      const files = bert?.components ?? [];
      expect(files.map((f) => f.name).sort()).toEqual((await readdir(snapshot)).sort());
      for (const file of files) {
        const blob = await realpath(join(snapshot, file.name));
        const sum = spawnSync('sha256sum', [blob], { encoding: 'utf8' }).stdout.split(' ')[0];
        expect(file.hashes, file.name).toEqual([{ alg: 'SHA-256', content: sum }]);
      }
    });
  });
});

describe('mlbom generate: weights in a Hugging Face cache', () => {
  it('reports a malicious pickle blob as a vulnerability on its file, reads safetensors headers, honours --no-scan', async () => {
    await withTempDir(async (dir) => {
      const cache = join(dir, 'hub');
      await writeFakeCache(cache, [poisonedCacheRepo()]);
      const snapshot = join(cache, 'models--acme--poisoned-cache', 'snapshots', POISONED_COMMIT);
      hub.reset();
      for (const args of [[`--hf-cache=${cache}`], [snapshot]]) {
        const run = await generate(args);
        expect(run.code, run.stderr).toBe(0);
        expect((await validateBom(run.stdout)).issues).toEqual([]);
        expect(run.stderr).toContain('pytorch_model.bin: unsafe to load');
        const bom = run.bom as Bom;
        const poisoned = model(bom, 'acme/poisoned-cache');
        expect(poisoned?.version).toBe(POISONED_COMMIT);
        const files = poisoned?.components ?? [];
        const bin = files.find((f) => f.name === 'pytorch_model.bin');
        expect(property(bin ?? {}, 'mlbom:scan:status'), args[0]).toBe('unsafe');
        const onBin = (bom.vulnerabilities ?? []).filter((v) => v.affects?.some((a) => a.ref === bin?.['bom-ref']));
        expect(onBin.map((v) => v.ratings?.[0]?.severity)).toContain('critical');
        expect(property(files.find((f) => f.name === 'training_args.pt') ?? {}, 'mlbom:scan:status')).toBe('clean');
        const tokenizer = files.find((f) => f.name === 'tokenizer_config.json');
        expect(property(tokenizer ?? {}, 'mlbom:scan:status')).toBe('unsafe');
        const onTokenizer = (bom.vulnerabilities ?? []).filter((v) =>
          v.affects?.some((a) => a.ref === tokenizer?.['bom-ref']),
        );
        expect(onTokenizer.map((v) => v.id)).toContain('MLBOM-CHAT-TEMPLATE-INJECTION');
        const weights = files.find((f) => f.name === 'model.safetensors') ?? {};
        expect(Number(property(weights, 'mlbom:parameterCount'))).toBeGreaterThan(0);
        expect(property(weights, 'mlbom:dtype')).toMatch(/^[A-Z0-9,]+$/);
      }

      for (const args of [[`--hf-cache=${cache}`], [snapshot]]) {
        const skipped = await generate([...args, '--no-scan']);
        expect(skipped.code, skipped.stderr).toBe(0);
        const bom = skipped.bom as Bom;
        expect(bom.vulnerabilities ?? [], args[0]).toEqual([]);
        const files = model(bom, 'acme/poisoned-cache')?.components ?? [];
        expect(files.map((f) => f.name)).toContain('pytorch_model.bin');
        expect(files.every((f) => property(f, 'mlbom:scan:status') === undefined)).toBe(true);
        expect(property(files.find((f) => f.name === 'model.safetensors') ?? {}, 'mlbom:parameterCount')).toMatch(
          /^[1-9]\d*$/,
        );
      }
      expect(hub.requests).toEqual([]);
    });
  });
});
