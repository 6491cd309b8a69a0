import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultContext, isMlbomError, type MlbomError, type ParsedInventory } from '@mlbom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMITS,
  type FakeHub,
  GRANTED_TOKEN,
  hubFixtures,
  sha256Hex,
  startFakeHub,
  UNGRANTED_TOKEN,
} from '../../../test/fakes/hub/index.js';
import { type HuggingFaceOptions, huggingface } from './index.js';
import { collect, memoryLogger, modelNamed, prop } from './test-utils.js';

const formats = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'formats');
const fixtureSha = (name: string) => sha256Hex(readFileSync(join(formats, name)));

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({ repos: hubFixtures(), grantedTokens: [GRANTED_TOKEN] });
});
afterAll(() => hub.close());

const defaultCtx = () => defaultContext();
const source = (options: HuggingFaceOptions = {}) => huggingface({ hubUrl: hub.url, ...options });

async function failure(promise: Promise<unknown>): Promise<MlbomError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isMlbomError(error)) throw new Error(`expected an MlbomError, got ${String(error)}`);
  return error;
}

const derivedFrom = (inventory: ParsedInventory, from: string) =>
  inventory.relations.flatMap((r) => (r.type === 'derived-from' && r.from === from ? [r] : []));

describe('a legacy id without an org', () => {
  it('is pinned to its full commit, with LFS hashes, datasets and metadata', async () => {
    const inventory = await collect(source(), 'hf://bert-base-uncased');
    const model = modelNamed(inventory, 'bert-base-uncased');
    expect(model.purl).toBe(`pkg:huggingface/bert-base-uncased@${COMMITS.legacy}`);
    expect(model.key).toBe(model.purl);
    expect(model.version).toBe(COMMITS.legacy);
    expect(model.group).toBeUndefined();
    expect(model.licenses).toEqual([{ value: 'apache-2.0' }]);
    expect(model.card).toMatchObject({
      task: 'fill-mask',
      architectureFamily: 'bert',
      modelArchitecture: 'BertForMaskedLM',
    });
    expect(model.externalReferences).toContainEqual({
      type: 'documentation',
      url: 'https://arxiv.org/abs/1810.04805',
      comment: 'paper',
    });
    expect(prop(model, 'mlbom:parameterCount')).toBe('39');

    const weights = model.files.find((f) => f.path === 'model.safetensors');
    expect(weights).toMatchObject({ format: 'safetensors', size: 504, sha256: fixtureSha('model.safetensors') });
    expect(prop(weights!, 'mlbom:sha256:source')).toBe('hub-lfs');
    const readme = model.files.find((f) => f.path === 'README.md');
    const served = hubFixtures()
      .find((r) => r.id === 'bert-base-uncased')
      ?.files.find((f) => f.path === 'README.md')?.content;
    expect(readme?.sha256).toBe(sha256Hex(served!.read(0, served!.size)));
    expect(prop(readme!, 'mlbom:sha256:source')).toBe('download');
    const vocab = model.files.find((f) => f.path === 'vocab.txt');
    expect(vocab?.sha256).toBeUndefined();
    expect(prop(vocab!, 'mlbom:git:blob-sha1')).toMatch(/^[0-9a-f]{40}$/);

    const wikitext = inventory.datasets.find((d) => d.key === 'hf-dataset:acme/wikitext-mini');
    expect(wikitext).toMatchObject({
      version: COMMITS.wikitext,
      unresolved: false,
      licenses: [{ value: 'cc-by-sa-3.0' }],
    });
    const bookcorpus = inventory.datasets.find((d) => d.key === 'hf-dataset:bookcorpus');
    expect(bookcorpus?.unresolved).toBe(true);
    expect(bookcorpus?.problems[0]?.code).toBe('NOT_FOUND');
    const trainedOn = inventory.relations
      .filter((r) => r.type === 'trained-on')
      .map((r) => r.type === 'trained-on' && r.to);
    expect(trainedOn.sort()).toEqual(['hf-dataset:acme/wikitext-mini', 'hf-dataset:bookcorpus']);
  });
});

describe('an org model with sharded safetensors', () => {
  it('lists every file, and resolves license_link into the repo at the commit', async () => {
    const inventory = await collect(source(), 'hf://acme/sharded-llm');
    const model = modelNamed(inventory, 'acme/sharded-llm');
    expect(model.purl).toBe(`pkg:huggingface/acme/sharded-llm@${COMMITS.sharded}`);
    expect(model.supplier).toBe('acme');
    expect(model.files.map((f) => f.path)).toEqual([
      'LICENSE',
      'README.md',
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer_config.json',
    ]);
    const shard = model.files.find((f) => f.path === 'model-00002-of-00002.safetensors');
    expect(shard?.sha256).toBe(fixtureSha('sharded/model-00002-of-00002.safetensors'));
    expect(model.files.find((f) => f.path === 'model.safetensors.index.json')?.format).toBe('safetensors-index');
    expect(model.licenses).toEqual([
      { value: 'acme-license', url: `${hub.url}/acme/sharded-llm/blob/${COMMITS.sharded}/LICENSE` },
    ]);
    expect(inventory.datasets.map((d) => d.key)).toEqual(['hf-dataset:acme/reviews']);
  });

  it('pins a named revision to its commit and records the name', async () => {
    const inventory = await collect(source(), 'hf://acme/sharded-llm@v1.0');
    const model = modelNamed(inventory, 'acme/sharded-llm');
    expect(model.version).toBe(COMMITS.shardedV1);
    expect(prop(model, 'mlbom:hf:revision')).toBe('v1.0');
    expect(hub.requests.some((r) => r.url.includes(`/tree/${COMMITS.shardedV1}`))).toBe(true);
  });
});

describe('a GGUF repo', () => {
  it("records the Hub's GGUF summary and its quantized base at a commit", async () => {
    const inventory = await collect(source(), 'hf://acme/tiny-gguf');
    const model = modelNamed(inventory, 'acme/tiny-gguf');
    expect(prop(model, 'mlbom:gguf:architecture')).toBe('llama');
    expect(prop(model, 'mlbom:contextLength')).toBe('2048');
    expect(prop(model, 'mlbom:chatTemplate:sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(model.files.find((f) => f.path === 'tiny-q4_k_m.gguf')).toMatchObject({
      format: 'gguf',
      sha256: fixtureSha('model.gguf'),
    });
    const [base] = derivedFrom(inventory, model.key);
    expect(base).toMatchObject({
      relation: 'quantized',
      ancestor: { purl: `pkg:huggingface/acme/sharded-llm@${COMMITS.sharded}`, version: COMMITS.sharded },
    });
    expect(prop(modelNamed(inventory, 'acme/sharded-llm'), 'mlbom:lineage:depth')).toBe('1');
  });
});

describe('pickle-based weights', () => {
  it("scans the pickle remotely and records the Hub's own scan, reading the zip's directory and data.pkl only", async () => {
    hub.reset();
    const inventory = await collect(source(), 'hf://acme/pickled');
    const model = modelNamed(inventory, 'acme/pickled');
    const bin = model.files.find((f) => f.path === 'pytorch_model.bin');
    expect(bin?.format).toBe('pytorch-zip');
    expect(bin?.size).toBeGreaterThan(64 * 1024 * 1024);
    expect(prop(bin!, 'mlbom:hf:security:status')).toBe('unsafe');
    expect(prop(bin!, 'mlbom:hf:security:pickle-imports')).toBe('posix.system (dangerous)');
    expect(prop(bin!, 'mlbom:pickle:globals')).toContain('posix.system');
    expect(bin?.scanStatus).toBe('unsafe');
    expect(bin?.findings.map((f) => f.severity)).toContain('critical');
    expect(bin?.findings.map((f) => f.detail).join(' ')).toContain('posix.system');
    const optimizer = model.files.find((f) => f.path === 'optimizer.pt');
    expect(optimizer).toMatchObject({ format: 'pytorch-zip', scanStatus: 'clean', findings: [] });
    const requests = hub.requests.filter((r) => r.file === 'acme/pickled/pytorch_model.bin');
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.range !== undefined)).toBe(true);
    // The zip's end (readers look for its directory in the last 64 KiB) and the start of data.pkl.
    expect(requests.map((r) => r.range)).toHaveLength(new Set(requests.map((r) => r.range)).size);
    expect(hub.bytesServed((f) => f.endsWith('.bin'))).toBeLessThanOrEqual(80 * 1024);
  });
});

describe('frameworks the weights record', () => {
  it('become framework components the model depends on, with the file as evidence, as for a local folder', async () => {
    const inventory = await collect(source(), 'hf://acme/pickled');
    const model = modelNamed(inventory, 'acme/pickled');
    const torch = inventory.packages.find((p) => p.key === 'pkg:pypi/torch');
    expect(torch).toMatchObject({ purl: 'pkg:pypi/torch', role: 'framework', ecosystem: 'pypi' });
    expect(prop(torch!, 'mlbom:evidence')).toMatch(/^(optimizer\.pt|pytorch_model\.bin): data\.pkl global torch\./);
    expect(inventory.relations).toContainEqual({ type: 'depends-on', from: model.key, to: 'pkg:pypi/torch' });
    // One component and one link, however many files name it.
    expect(inventory.packages.filter((p) => p.key === 'pkg:pypi/torch')).toHaveLength(1);
    expect(inventory.relations.filter((r) => r.type === 'depends-on')).toHaveLength(1);

    const safetensors = await collect(source(), 'hf://acme/sharded-llm');
    expect(safetensors.packages.map((p) => p.key)).toEqual(['pkg:pypi/torch']);
    expect(prop(safetensors.packages[0]!, 'mlbom:evidence')).toContain('safetensors __metadata__.format=pt');
  });

  it('are not looked for without header reads', async () => {
    const inventory = await collect(source({ readHeaders: false }), 'hf://acme/pickled');
    expect(inventory.packages).toEqual([]);
  });
});

describe('gated and private repos', () => {
  it('lists a gated model from its public metadata and says how to get the card', async () => {
    const logger = memoryLogger();
    const inventory = await collect(source({ authHint: 'set HF_TOKEN' }), 'hf://acme/gated-model', { logger });
    const model = modelNamed(inventory, 'acme/gated-model');
    expect(prop(model, 'mlbom:hf:gated')).toBe('manual');
    expect(model.licenses).toEqual([{ value: 'llama3.1' }]);
    expect(model.files.find((f) => f.path === 'model.safetensors')?.sha256).toBe(fixtureSha('model.safetensors'));
    const problem = model.files.find((f) => f.path === 'README.md')?.problems[0];
    expect(problem?.code).toBe('AUTH');
    expect(problem?.message).toMatch(/HTTP 401.*restricted.*set HF_TOKEN/);
    expect(inventory.datasets.map((d) => d.key)).toEqual(['hf-dataset:acme/reviews']);
    expect(logger.lines.some((l) => l.startsWith('warn:') && l.includes('README.md'))).toBe(true);
  });

  it('answers 403 to a token without access, and reads everything with one that has it', async () => {
    const denied = await collect(source({ accessToken: UNGRANTED_TOKEN }), 'hf://acme/gated-model');
    expect(
      modelNamed(denied, 'acme/gated-model').files.find((f) => f.path === 'README.md')?.problems[0]?.message,
    ).toMatch(/HTTP 403/);
    const logger = memoryLogger();
    const granted = await collect(source({ accessToken: GRANTED_TOKEN }), 'hf://acme/gated-model', { logger });
    const model = modelNamed(granted, 'acme/gated-model');
    expect(model.files.map((f) => f.path)).toContain('README.md');
    expect(model.files.every((f) => f.problems.length === 0)).toBe(true);
    expect(model.description).toBe('Secret sauce.');
    const everything = JSON.stringify({ denied, granted, lines: logger.lines });
    expect(everything).not.toContain(GRANTED_TOKEN);
    expect(everything).not.toContain(UNGRANTED_TOKEN);
  });

  it('fails on a private repo without a token, naming it and never the token', async () => {
    const anonymous = await failure(source().collect('hf://acme/private-model', defaultCtx()));
    expect(anonymous.code).toBe('AUTH');
    expect(anonymous.message).toContain('hf://acme/private-model');
    const wrong = await failure(
      source({ accessToken: UNGRANTED_TOKEN }).collect('hf://acme/private-model', defaultCtx()),
    );
    expect(wrong.message).not.toContain(UNGRANTED_TOKEN);
    const inventory = await collect(source({ accessToken: GRANTED_TOKEN }), 'hf://acme/private-model');
    expect(prop(modelNamed(inventory, 'acme/private-model'), 'mlbom:hf:private')).toBe('true');
  });
});

describe('model card', () => {
  it('maps task, metrics, considerations, co2 and datasets', async () => {
    const inventory = await collect(source({ lineageDepth: 0 }), 'hf://acme/chat-ft');
    const model = modelNamed(inventory, 'acme/chat-ft');
    expect(model.card).toMatchObject({
      task: 'text-generation',
      architectureFamily: 'llama',
      modelArchitecture: 'LlamaForCausalLM',
      inputs: ['text'],
      outputs: ['text'],
      performanceMetrics: [
        { type: 'accuracy', value: '0.912', slice: 'Reviews/default/test' },
        { type: 'f1', value: '0.88', slice: 'Reviews/default/test' },
      ],
      considerations: {
        useCases: ['Answering customer questions about orders and returns in English.'],
        technicalLimitations: [
          'Medical, legal or financial advice.',
          'The model reflects biases present in its support-ticket training data.',
        ],
        ethicalConsiderations: [
          {
            name: 'The model reflects biases present in its support-ticket training data.',
            mitigationStrategy: 'Review answers before sending them to customers.',
          },
        ],
      },
    });
    expect(JSON.stringify(model)).not.toContain('More Information Needed');
    expect(model.card?.considerations?.environmentalProperties).toContainEqual({
      name: 'mlbom:co2eq:tCO2eq',
      value: '0.0012345',
    });
    expect(model.tags).toEqual(expect.arrayContaining(['chat', 'support']));
    const reviews = inventory.datasets.find((d) => d.key === 'hf-dataset:acme/reviews');
    expect(reviews).toMatchObject({
      name: 'acme/reviews',
      version: COMMITS.reviews,
      licenses: [{ value: 'cc-by-4.0' }],
      description: 'Product reviews labelled with sentiment.',
      tags: ['text-classification'],
    });
    expect(prop(reviews!, 'mlbom:hf:size_categories')).toBe('10K<n<100K');
    expect(prop(reviews!, 'mlbom:hf:source_datasets')).toBe('original');
    expect(prop(reviews!, 'mlbom:language')).toBe('en');
    expect(inventory.datasets.find((d) => d.key === 'hf-dataset:acme/ghost-dataset')?.unresolved).toBe(true);
  });
});

describe('lineage', () => {
  it('follows base models to the default depth, each pinned to its commit', async () => {
    const inventory = await collect(source(), 'hf://acme/chat-ft');
    expect(inventory.models.map((m) => m.name)).toEqual(['chat-ft', 'instruct', 'foundation']);
    const chat = modelNamed(inventory, 'acme/chat-ft');
    const instruct = modelNamed(inventory, 'acme/instruct');
    expect(derivedFrom(inventory, chat.key)).toEqual([
      expect.objectContaining({
        relation: 'finetune',
        ancestor: expect.objectContaining({ version: COMMITS.instruct }),
      }),
    ]);
    expect(derivedFrom(inventory, instruct.key)[0]?.ancestor.purl).toBe(
      `pkg:huggingface/acme/foundation@${COMMITS.foundation}`,
    );
    expect(prop(modelNamed(inventory, 'acme/foundation'), 'mlbom:lineage:depth')).toBe('2');
  });

  it('stops at the configured depth, naming deeper bases without a commit', async () => {
    const inventory = await collect(source({ lineageDepth: 1 }), 'hf://acme/chat-ft');
    expect(inventory.models.map((m) => m.name)).toEqual(['chat-ft', 'instruct']);
    const [foundation] = derivedFrom(inventory, modelNamed(inventory, 'acme/instruct').key);
    expect(foundation?.ancestor).toMatchObject({ purl: 'pkg:huggingface/acme/foundation', name: 'foundation' });
    expect(foundation?.ancestor.version).toBeUndefined();
  });

  it('records a merge of two bases, sharing ancestors once', async () => {
    const inventory = await collect(source(), 'hf://acme/merged');
    const merged = modelNamed(inventory, 'acme/merged');
    expect(
      derivedFrom(inventory, merged.key)
        .map((r) => `${r.relation} ${r.ancestor.purl}`)
        .sort(),
    ).toEqual([
      `merge pkg:huggingface/acme/chat-ft@${COMMITS.chat}`,
      `merge pkg:huggingface/acme/other-base@${COMMITS.otherBase}`,
    ]);
    expect(inventory.models.map((m) => m.name).sort()).toEqual([
      'chat-ft',
      'foundation',
      'instruct',
      'merged',
      'other-base',
    ]);
    expect(prop(modelNamed(inventory, 'acme/foundation'), 'mlbom:lineage:depth')).toBe('3');
  });

  it('cuts cycles', async () => {
    const logger = memoryLogger();
    const inventory = await collect(source({ lineageDepth: 10 }), 'hf://acme/cycle-a', { logger });
    expect(inventory.models.map((m) => m.name)).toEqual(['cycle-a', 'cycle-b']);
    expect(prop(modelNamed(inventory, 'acme/cycle-b'), 'mlbom:lineage:cycle')).toBe('acme/cycle-a');
    expect(derivedFrom(inventory, modelNamed(inventory, 'acme/cycle-b').key)[0]?.ancestor.version).toBe(COMMITS.cycleA);
    expect(logger.lines.some((l) => l.includes('lineage cycle cut'))).toBe(true);
  });
});

describe('a repo of 100 files', () => {
  it('is inventoried without downloading any weights file: listings plus header range reads', async () => {
    hub.reset();
    const inventory = await collect(source(), 'hf://acme/hundred-files');
    const model = modelNamed(inventory, 'acme/hundred-files');
    expect(model.files).toHaveLength(100);
    const shards = model.files.filter((f) => f.path.endsWith('.safetensors'));
    expect(shards).toHaveLength(10);
    for (const shard of shards) {
      expect(shard.size).toBe(2 * 32768 * 32768 + 128);
      expect(shard.sha256).toMatch(/^[0-9a-f]{64}$/);
      // What the header says, read remotely by @mlbom/formats.
      expect(prop(shard, 'mlbom:parameterCount')).toBe(String(32768 * 32768));
    }
    expect(prop(model.files.find((f) => f.path === 'model.safetensors.index.json')!, 'mlbom:safetensors:shards')).toBe(
      '10',
    );
    // Two pages of the tree listing, followed through absolute Link URLs.
    expect(hub.requests.filter((r) => r.url.includes('/tree/'))).toHaveLength(2);
    const shardRequests = hub.requests.filter((r) => r.file?.endsWith('.safetensors'));
    expect(shardRequests.every((r) => r.range !== undefined && r.status === 206)).toBe(true);
    const weightsBytes = hub.bytesServed((f) => f.endsWith('.safetensors'));
    const weightsSize = shards.reduce((n, s) => n + (s.size ?? 0), 0);
    expect(weightsBytes).toBeLessThanOrEqual(10 * 4096);
    expect(weightsBytes / weightsSize).toBeLessThan(1e-5);
    expect(hub.bytesServed()).toBeLessThan(64 * 1024);
  });
});

describe('without header reads', () => {
  it('lists sizes and hashes from the Hub alone, reading no byte of any weights file', async () => {
    hub.reset();
    const inventory = await collect(source({ readHeaders: false }), 'hf://acme/pickled');
    const bin = modelNamed(inventory, 'acme/pickled').files.find((f) => f.path === 'pytorch_model.bin');
    expect(bin?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bin?.scanStatus).toBeUndefined();
    expect(hub.bytesServed((f) => /\.(bin|pt)$/.test(f))).toBe(0);
  });
});

describe('failures', () => {
  it('names the repo and revision when it is not found', async () => {
    const missing = await failure(source().collect('hf://acme/nope', defaultCtx()));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('hf://acme/nope (default branch): not found');
    const badRevision = await failure(source().collect('hf://acme/chat-ft@no-such-branch', defaultCtx()));
    expect(badRevision.code).toBe('NOT_FOUND');
    expect(badRevision.message).toContain('hf://acme/chat-ft@no-such-branch');
  });

  it('retries 429 and 503, honouring Retry-After', async () => {
    const local = await startFakeHub({ repos: hubFixtures() });
    try {
      const inventory = await collect(huggingface({ hubUrl: local.url, lineageDepth: 0 }), 'hf://acme/flaky');
      expect(modelNamed(inventory, 'acme/flaky').version).toBe(COMMITS.flaky);
      expect(local.requests.slice(0, 3).map((r) => r.status)).toEqual([429, 503, 200]);
      const started = Date.now();
      await collect(huggingface({ hubUrl: local.url, lineageDepth: 0 }), 'hf://acme/rate-limited');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await local.close();
    }
  });

  it('gives up on a server error after bounded retries', async () => {
    hub.reset();
    const error = await failure(source({ retries: 2 }).collect('hf://acme/broken', defaultCtx()));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(/hf:\/\/acme\/broken.*HTTP 500/);
    expect(hub.requests.filter((r) => r.url.includes('acme/broken'))).toHaveLength(3);
  });

  it('times out a request that hangs', async () => {
    const error = await failure(source({ timeoutMs: 200, retries: 0 }).collect('hf://acme/hanging', defaultCtx()));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toContain('timed out');
  });

  it('records a repo that cannot be read instead of throwing when asked to', async () => {
    const logger = memoryLogger();
    const inventory = await collect(source({ continueOnError: true }), 'hf://acme/nope', { logger });
    expect(inventory.models).toEqual([]);
    expect(inventory.problems).toEqual([expect.objectContaining({ code: 'NOT_FOUND', subject: 'hf://acme/nope' })]);
    expect(logger.lines.some((l) => l.startsWith('error:') && l.includes('hf://acme/nope'))).toBe(true);
  });

  it('stops with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    const pending = source().collect('hf://acme/hanging', defaultContext({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).code).toBe('ABORTED');
  });

  it('rejects a token that is not one without echoing it', () => {
    expect(() => huggingface({ accessToken: 'secret-value' })).toThrow(/accessToken/);
    try {
      huggingface({ accessToken: 'secret-value' });
    } catch (error) {
      expect(String(error)).not.toContain('secret-value');
    }
    expect(huggingface({ accessToken: GRANTED_TOKEN }).options).not.toHaveProperty('accessToken');
  });
});

describe('a dataset target', () => {
  it('is one data component at its commit', async () => {
    const inventory = await collect(source(), 'hf://datasets/acme/reviews');
    expect(inventory.models).toEqual([]);
    expect(inventory.datasets).toEqual([
      expect.objectContaining({ key: 'hf-dataset:acme/reviews', version: COMMITS.reviews, unresolved: false }),
    ]);
  });
});
