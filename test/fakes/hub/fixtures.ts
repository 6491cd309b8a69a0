import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bytesContent,
  type Content,
  fakeCommit,
  maliciousTorchZip,
  paddedContent,
  safetensorsHeader,
  sha256Hex,
  textContent,
} from './content.js';
import type { FakeFile, FakeRepo } from './server.js';

const formats = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'formats');
const fixture = (name: string): Content => bytesContent(new Uint8Array(readFileSync(join(formats, name))));

/** Tokens the fake hub knows: one with access to gated/private repos, one without. */
export const GRANTED_TOKEN = 'hf_fakeGrantedToken0123456789abcdef';
export const UNGRANTED_TOKEN = 'hf_fakeUngrantedToken0123456789abcd';

export const COMMITS = {
  legacy: fakeCommit('bert-base-uncased'),
  sharded: fakeCommit('acme/sharded-llm'),
  shardedV1: fakeCommit('acme/sharded-llm v1'),
  gguf: fakeCommit('acme/tiny-gguf'),
  pickled: fakeCommit('acme/pickled'),
  gated: fakeCommit('acme/gated-model'),
  privateModel: fakeCommit('acme/private-model'),
  foundation: fakeCommit('acme/foundation'),
  instruct: fakeCommit('acme/instruct'),
  chat: fakeCommit('acme/chat-ft'),
  otherBase: fakeCommit('acme/other-base'),
  merged: fakeCommit('acme/merged'),
  cycleA: fakeCommit('acme/cycle-a'),
  cycleB: fakeCommit('acme/cycle-b'),
  hundred: fakeCommit('acme/hundred-files'),
  flaky: fakeCommit('acme/flaky'),
  slow: fakeCommit('acme/rate-limited'),
  broken: fakeCommit('acme/broken'),
  hanging: fakeCommit('acme/hanging'),
  reviews: fakeCommit('acme/reviews'),
  wikitext: fakeCommit('acme/wikitext-mini'),
};

function card(front: string, body = ''): FakeFile {
  return { path: 'README.md', content: textContent(`---\n${front.trim()}\n---\n${body}`) };
}

function json(path: string, value: unknown): FakeFile {
  return { path, content: textContent(`${JSON.stringify(value, null, 2)}\n`) };
}

const RICH_BODY = `
# Chat FT

Chat FT is a small chat model fine-tuned from acme/instruct for customer support conversations.

## Uses

### Direct Use

Answering customer questions about orders and returns in English.

### Out-of-Scope Use

Medical, legal or financial advice.

## Bias, Risks, and Limitations

The model reflects biases present in its support-ticket training data.

### Recommendations

Review answers before sending them to customers.

## Training Details

[More Information Needed]

## Environmental Impact

- **Hardware Type:** [More Information Needed]
`;

const CHAT_FRONT = `
license: other
license_name: acme-community-license
license_link: LICENSE
language: [en]
library_name: transformers
pipeline_tag: text-generation
tags: [chat, support]
datasets:
  - acme/reviews
  - acme/ghost-dataset
base_model: acme/instruct
base_model_relation: finetune
co2_eq_emissions:
  emissions: 1234.5
  source: codecarbon
  training_type: fine-tuning
  geographical_location: Iowa, USA
  hardware_used: 8 A100
model-index:
  - name: chat-ft
    results:
      - task: {type: text-generation}
        dataset: {type: acme/reviews, name: Reviews, config: default, split: test}
        metrics:
          - {type: accuracy, value: 0.912}
          - {type: f1, value: 0.88}
`;

function lineageModel(id: string, commit: string, base: string | string[] | undefined, relation?: string): FakeRepo {
  const bases = base === undefined ? [] : Array.isArray(base) ? base : [base];
  const front = [
    'license: apache-2.0',
    'pipeline_tag: text-generation',
    ...(bases.length > 0 ? [`base_model: [${bases.join(', ')}]`] : []),
    ...(relation ? [`base_model_relation: ${relation}`] : []),
  ].join('\n');
  return {
    type: 'model',
    id,
    refs: { main: commit },
    info: {
      pipeline_tag: 'text-generation',
      library_name: 'transformers',
      config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] },
      cardData: { license: 'apache-2.0', ...(bases.length > 0 ? { base_model: bases } : {}) },
      tags: [
        'transformers',
        'license:apache-2.0',
        ...bases.map((b) => (relation ? `base_model:${relation}:${b}` : `base_model:${b}`)),
      ],
    },
    files: [
      card(front, `\n# ${id}\n\nA model in the lineage fixtures.\n`),
      json('config.json', { model_type: 'llama' }),
    ],
  };
}

/** 10 shards of 2 GiB each (a real safetensors header, then zeros never sent), an index, 89 small files. */
function hundredFiles(): FakeFile[] {
  const files: FakeFile[] = [];
  const weightMap: Record<string, string> = {};
  for (let i = 1; i <= 10; i++) {
    const name = `model-${String(i).padStart(5, '0')}-of-00010.safetensors`;
    const tensors = [{ name: `layers.${i}.weight`, dtype: 'BF16', shape: [32768, 32768] }];
    const { head, size } = safetensorsHeader(tensors);
    files.push({ path: name, content: paddedContent(head, size), lfs: true, sha256: sha256Hex(`shard ${i}`) });
    weightMap[`layers.${i}.weight`] = name;
  }
  files.push(
    json('model.safetensors.index.json', { metadata: { total_size: 10 * 2 * 32768 * 32768 }, weight_map: weightMap }),
  );
  files.push(
    card('license: mit\npipeline_tag: text-generation', '\n# Hundred files\n\nA repo with a hundred files.\n'),
  );
  files.push(json('config.json', { model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
  for (let i = 0; files.length < 100; i++)
    files.push(json(`extra/part-${String(i).padStart(3, '0')}.json`, { part: i }));
  return files;
}

export function hubFixtures(): FakeRepo[] {
  return [
    {
      type: 'model',
      id: 'bert-base-uncased',
      refs: { main: COMMITS.legacy },
      info: {
        pipeline_tag: 'fill-mask',
        library_name: 'transformers',
        config: { model_type: 'bert', architectures: ['BertForMaskedLM'] },
        cardData: { license: 'apache-2.0', datasets: ['bookcorpus', 'acme/wikitext-mini'] },
        tags: [
          'transformers',
          'safetensors',
          'bert',
          'fill-mask',
          'exbert',
          'arxiv:1810.04805',
          'license:apache-2.0',
          'region:us',
        ],
        safetensors: { parameters: { F16: 24, F32: 10, BF16: 4, I64: 1 }, total: 39 },
      },
      files: [
        card(
          'language: en\nlicense: apache-2.0\ntags: [exbert]\ndatasets: [bookcorpus, acme/wikitext-mini]',
          '\n# BERT base model (uncased)\n\nPretrained model on English language using a masked language modeling objective.\n',
        ),
        json('config.json', { model_type: 'bert', architectures: ['BertForMaskedLM'], hidden_size: 4 }),
        { path: 'model.safetensors', content: fixture('model.safetensors'), lfs: true },
        { path: 'vocab.txt', content: textContent('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n') },
      ],
    },
    {
      type: 'model',
      id: 'acme/sharded-llm',
      refs: { main: COMMITS.sharded, 'v1.0': COMMITS.shardedV1 },
      info: {
        pipeline_tag: 'text-generation',
        library_name: 'transformers',
        config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] },
        cardData: {
          license: 'other',
          license_name: 'acme-license',
          license_link: 'LICENSE',
          datasets: ['acme/reviews'],
        },
        tags: ['transformers', 'safetensors', 'llama', 'text-generation', 'license:other'],
        safetensors: { parameters: { F32: 40 }, total: 40 },
      },
      files: [
        card(
          'license: other\nlicense_name: acme-license\nlicense_link: LICENSE\npipeline_tag: text-generation\ndatasets: [acme/reviews]',
          '\n# Sharded LLM\n\nA sharded safetensors language model.\n',
        ),
        { path: 'LICENSE', content: textContent('ACME license text\n') },
        json('config.json', { model_type: 'llama', architectures: ['LlamaForCausalLM'] }),
        {
          path: 'model-00001-of-00002.safetensors',
          content: fixture('sharded/model-00001-of-00002.safetensors'),
          lfs: true,
        },
        {
          path: 'model-00002-of-00002.safetensors',
          content: fixture('sharded/model-00002-of-00002.safetensors'),
          lfs: true,
        },
        { path: 'model.safetensors.index.json', content: fixture('sharded/model.safetensors.index.json') },
        json('tokenizer_config.json', { model_max_length: 2048 }),
      ],
    },
    {
      type: 'model',
      id: 'acme/tiny-gguf',
      refs: { main: COMMITS.gguf },
      info: {
        library_name: 'gguf',
        pipeline_tag: 'text-generation',
        cardData: { license: 'apache-2.0', base_model: 'acme/sharded-llm' },
        tags: ['gguf', 'llama', 'base_model:quantized:acme/sharded-llm', 'license:apache-2.0'],
        gguf: {
          total: 40,
          architecture: 'llama',
          context_length: 2048,
          chat_template: "{% for m in messages %}{{ m['content'] }}{% endfor %}",
        },
        baseModels: { relation: 'quantized', models: [{ id: 'acme/sharded-llm' }] },
      },
      files: [
        card(
          'license: apache-2.0\nbase_model: acme/sharded-llm\nbase_model_relation: quantized',
          '\n# Tiny GGUF\n\nQuantized.\n',
        ),
        { path: 'tiny-q4_k_m.gguf', content: fixture('model.gguf'), lfs: true },
      ],
    },
    {
      type: 'model',
      id: 'acme/pickled',
      refs: { main: COMMITS.pickled },
      info: {
        library_name: 'transformers',
        config: { model_type: 'bert', architectures: ['BertModel'] },
        cardData: { license: 'mit' },
        tags: ['pytorch', 'license:mit'],
      },
      files: [
        card('license: mit', '\n# Pickled\n\nWeights in pickle form.\n'),
        json('config.json', { model_type: 'bert' }),
        {
          path: 'pytorch_model.bin',
          content: maliciousTorchZip(),
          sha256: sha256Hex('pytorch_model.bin of acme/pickled'),
          lfs: true,
          securityFileStatus: {
            status: 'unsafe',
            avScan: { status: 'safe' },
            pickleImportScan: {
              status: 'unsafe',
              imports: [
                { module: 'posix', name: 'system', safety: 'dangerous' },
                { module: 'collections', name: 'OrderedDict', safety: 'innocuous' },
              ],
            },
          },
        },
        { path: 'optimizer.pt', content: fixture('model.pt'), lfs: true, securityFileStatus: { status: 'safe' } },
      ],
    },
    {
      type: 'model',
      id: 'acme/gated-model',
      refs: { main: COMMITS.gated },
      gated: 'manual',
      info: {
        pipeline_tag: 'text-generation',
        config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] },
        cardData: { license: 'llama3.1', datasets: ['acme/reviews'], extra_gated_prompt: 'Accept the license' },
        tags: ['llama', 'license:llama3.1'],
      },
      files: [
        card(
          'license: llama3.1\ndatasets: [acme/reviews]\nextra_gated_prompt: Accept the license',
          '\n# Gated\n\nSecret sauce.\n',
        ),
        { path: 'model.safetensors', content: fixture('model.safetensors'), lfs: true },
      ],
    },
    {
      type: 'model',
      id: 'acme/private-model',
      refs: { main: COMMITS.privateModel },
      private: true,
      info: { cardData: { license: 'mit' }, tags: [] },
      files: [card('license: mit'), { path: 'model.safetensors', content: fixture('model.safetensors'), lfs: true }],
    },
    lineageModel('acme/foundation', COMMITS.foundation, undefined),
    lineageModel('acme/instruct', COMMITS.instruct, 'acme/foundation', 'finetune'),
    {
      type: 'model',
      id: 'acme/chat-ft',
      refs: { main: COMMITS.chat },
      info: {
        pipeline_tag: 'text-generation',
        library_name: 'transformers',
        config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] },
        cardData: { license: 'other', base_model: 'acme/instruct' },
        tags: ['transformers', 'chat', 'base_model:finetune:acme/instruct', 'license:other', 'arxiv:2401.00001'],
        safetensors: { parameters: { BF16: 1000 }, total: 1000 },
      },
      files: [
        card(CHAT_FRONT, RICH_BODY),
        { path: 'LICENSE', content: textContent('ACME community license\n') },
        json('config.json', { model_type: 'llama', architectures: ['LlamaForCausalLM'] }),
        { path: 'model.safetensors', content: fixture('model.safetensors'), lfs: true },
      ],
    },
    lineageModel('acme/other-base', COMMITS.otherBase, undefined),
    lineageModel('acme/merged', COMMITS.merged, ['acme/chat-ft', 'acme/other-base'], 'merge'),
    lineageModel('acme/cycle-a', COMMITS.cycleA, 'acme/cycle-b', 'finetune'),
    lineageModel('acme/cycle-b', COMMITS.cycleB, 'acme/cycle-a', 'finetune'),
    {
      type: 'model',
      id: 'acme/hundred-files',
      refs: { main: COMMITS.hundred },
      info: {
        pipeline_tag: 'text-generation',
        config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] },
        cardData: { license: 'mit' },
        tags: ['license:mit'],
        safetensors: { parameters: { BF16: 10 * 32768 * 32768 }, total: 10 * 32768 * 32768 },
      },
      files: hundredFiles(),
    },
    {
      ...lineageModel('acme/flaky', COMMITS.flaky, undefined),
      faults: [{ status: 429, retryAfter: '0' }, { status: 503 }],
    },
    { ...lineageModel('acme/rate-limited', COMMITS.slow, undefined), faults: [{ status: 429, retryAfter: '1' }] },
    { ...lineageModel('acme/broken', COMMITS.broken, undefined), alwaysStatus: 500 },
    { ...lineageModel('acme/hanging', COMMITS.hanging, undefined), delayMs: 1500 },
    {
      type: 'dataset',
      id: 'acme/reviews',
      refs: { main: COMMITS.reviews },
      info: {
        cardData: {
          license: 'cc-by-4.0',
          language: ['en'],
          pretty_name: 'ACME Reviews',
          task_categories: ['text-classification'],
          task_ids: ['sentiment-classification'],
          size_categories: ['10K<n<100K'],
          source_datasets: ['original'],
        },
        description: 'Product reviews labelled with sentiment.',
        tags: ['task_categories:text-classification', 'language:en', 'license:cc-by-4.0', 'size_categories:10K<n<100K'],
      },
      files: [
        card('license: cc-by-4.0\npretty_name: ACME Reviews'),
        { path: 'data/train.parquet', content: textContent('PAR1'), lfs: true },
      ],
    },
    {
      type: 'dataset',
      id: 'acme/wikitext-mini',
      refs: { main: COMMITS.wikitext },
      info: {
        cardData: { license: 'cc-by-sa-3.0', language: 'en', task_categories: ['text-generation', 'fill-mask'] },
        tags: ['language:en', 'license:cc-by-sa-3.0'],
      },
      files: [card('license: cc-by-sa-3.0')],
    },
  ];
}
