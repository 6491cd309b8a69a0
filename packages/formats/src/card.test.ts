import { describe, expect, it } from 'vitest';
import { cardRelations, huggingFaceAncestor, huggingFaceDataset, parseModelCard, splitFrontMatter } from './card.js';

const card = (yaml: string, body = '') => parseModelCard(`---\n${yaml}\n---\n${body}`, 'm/README.md');

describe('front matter', () => {
  it('splits with the Hub regex, tolerating a BOM, CRLF and leading blank lines', () => {
    expect(splitFrontMatter('\ufeff---\r\na: 1\r\n---\r\nbody')).toEqual({ yaml: 'a: 1', body: 'body' });
    expect(splitFrontMatter('\n---\na: 1\n---')).toEqual({ yaml: 'a: 1', body: '' });
    expect(splitFrontMatter('# no front matter\n---\n')).toEqual({ body: '# no front matter\n---\n' });
  });

  it('maps license, tags, task, language, library and card name', () => {
    const info = card(
      'license: mit\ntags: [a, b, a]\npipeline_tag: text-generation\nlanguage:\n- en\n- fr\nlibrary_name: transformers\nmodel-index:\n- name: my-model\n  results: []',
    );
    expect(info.hasFrontMatter).toBe(true);
    expect(info.hasHubMetadata).toBe(true);
    expect(info.licenses).toEqual([{ value: 'mit' }]);
    expect(info.tags).toEqual(['a', 'b']);
    expect(info.card?.task).toBe('text-generation');
    expect(info.properties).toEqual([
      { name: 'mlbom:card:name', value: 'my-model' },
      { name: 'mlbom:language', value: 'en,fr' },
      { name: 'mlbom:library_name', value: 'transformers' },
    ]);
    expect(info.problems).toEqual([]);
  });

  it('uses license_name and license_link for license: other', () => {
    expect(
      card('license: other\nlicense_name: llama3\nlicense_link: https://llama.meta.com/llama3/license').licenses,
    ).toEqual([{ value: 'llama3', url: 'https://llama.meta.com/llama3/license' }]);
    const relative = card('license: other\nlicense_name: my-license\nlicense_link: LICENSE');
    expect(relative.licenses).toEqual([{ value: 'my-license' }]);
    expect(relative.properties).toContainEqual({ name: 'mlbom:license:link', value: 'LICENSE' });
    expect(card('license: other').licenses).toEqual([{ value: 'other' }]);
    expect(card('license: [apache-2.0, mit]').licenses).toEqual([{ value: 'apache-2.0' }, { value: 'mit' }]);
  });

  it('maps base_model lists to derived-from relations, with the relation kind', () => {
    const info = card('base_model:\n- meta-llama/Llama-3.1-8B\n- gpt2\nbase_model_relation: merge');
    const { relations } = cardRelations('local:m', info);
    expect(relations).toEqual([
      {
        type: 'derived-from',
        from: 'local:m',
        relation: 'merge',
        ancestor: {
          key: 'pkg:huggingface/meta-llama/Llama-3.1-8B',
          purl: 'pkg:huggingface/meta-llama/Llama-3.1-8B',
          name: 'Llama-3.1-8B',
          group: 'meta-llama',
          url: 'https://huggingface.co/meta-llama/Llama-3.1-8B',
        },
      },
      {
        type: 'derived-from',
        from: 'local:m',
        relation: 'merge',
        ancestor: {
          key: 'pkg:huggingface/gpt2',
          purl: 'pkg:huggingface/gpt2',
          name: 'gpt2',
          url: 'https://huggingface.co/gpt2',
        },
      },
    ]);
  });

  it('keeps a base_model that is no Hub id by name only', () => {
    expect(huggingFaceAncestor('./my base model')).toEqual({
      key: 'base-model:./my base model',
      name: './my base model',
    });
    expect(huggingFaceAncestor('https://huggingface.co/org/name').purl).toBe('pkg:huggingface/org/name');
  });

  it('maps datasets to dataset assets and trained-on relations', () => {
    const info = card('datasets:\n- stanfordnlp/imdb\n- my private data');
    const { datasets, relations } = cardRelations('local:m', info);
    expect(datasets).toEqual([
      {
        kind: 'dataset',
        key: 'hf-dataset:stanfordnlp/imdb',
        name: 'stanfordnlp/imdb',
        externalReferences: [{ type: 'website', url: 'https://huggingface.co/datasets/stanfordnlp/imdb' }],
      },
      { kind: 'dataset', key: 'hf-dataset:my private data', name: 'my private data' },
    ]);
    expect(relations).toEqual([
      { type: 'trained-on', from: 'local:m', to: 'hf-dataset:stanfordnlp/imdb' },
      { type: 'trained-on', from: 'local:m', to: 'hf-dataset:my private data' },
    ]);
    expect(huggingFaceDataset('squad').externalReferences).toHaveLength(1);
  });

  it('maps model-index results to performance metrics with slices', () => {
    const info = card(`model-index:
- name: m
  results:
  - task: {type: text-classification}
    dataset: {type: glue, name: GLUE MRPC, config: mrpc, split: validation}
    metrics:
    - {type: accuracy, value: 0.9}
    - {type: f1, value: "88.1"}
    - {type: weird, value: {nested: 1}}
  - dataset: {type: imdb}
    metrics:
    - {type: accuracy, value: 93}
  - metrics:
    - {type: loss, value: 0.1}`);
    expect(info.card?.performanceMetrics).toEqual([
      { type: 'accuracy', value: '0.9', slice: 'GLUE MRPC/mrpc/validation' },
      { type: 'f1', value: '88.1', slice: 'GLUE MRPC/mrpc/validation' },
      { type: 'accuracy', value: '93', slice: 'imdb' },
      { type: 'loss', value: '0.1' },
    ]);
  });

  it('reports bad YAML as a problem and carries on with the body', () => {
    const info = card('license: [mit\ntags: x: y', 'A fine model.');
    expect(info.problems.map((p) => p.code)).toEqual(['CARD_INVALID']);
    expect(info.problems[0]?.subject).toBe('m/README.md');
    expect(info.licenses).toEqual([]);
    expect(info.description).toBe('A fine model.');
  });

  it('ignores fields of the wrong type with a problem, keeping the rest', () => {
    const info = card(
      'license: {a: 1}\ntags: [ok, 2023]\npipeline_tag: [a, b]\ndatasets: 5\nmodel-index: nope\nlanguage: en',
    );
    expect(info.licenses).toEqual([]);
    expect(info.tags).toEqual(['ok', '2023']);
    expect(info.card?.task).toBeUndefined();
    expect(info.datasets).toEqual(['5']);
    expect(info.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('"license"'),
      expect.stringContaining('"pipeline_tag"'),
      expect.stringContaining('"model-index"'),
    ]);
    expect(info.properties).toContainEqual({ name: 'mlbom:language', value: 'en' });
  });

  it('reports front matter that is not a mapping, and accepts empty front matter', () => {
    expect(card('- a\n- b').problems.map((p) => p.code)).toEqual(['CARD_INVALID']);
    const empty = card('');
    expect(empty.problems).toEqual([]);
    expect(empty.hasFrontMatter).toBe(true);
    expect(empty.hasHubMetadata).toBe(false);
  });

  it('survives alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${'b'.repeat(i)}: &${'a'.repeat(i + 1)} [${Array(9)
          .fill(`*${'a'.repeat(i)}`)
          .join(', ')}]`,
      );
    const info = card(bomb.join('\n'));
    expect(info.problems.map((p) => p.code)).toEqual(['CARD_INVALID']);
  });

  it('turns co2_eq_emissions (grams) into environmental-consideration properties in tCO2eq', () => {
    expect(card('co2_eq_emissions: 1500').card?.considerations?.environmentalProperties).toEqual([
      { name: 'mlbom:co2eq:tCO2eq', value: '0.0015' },
      { name: 'mlbom:co2eq:grams', value: '1500' },
    ]);
    const described = card(
      'co2_eq_emissions:\n  emissions: 250\n  source: codecarbon\n  training_type: fine-tuning\n  hardware_used: 1 T4\n  geographical_location: 7',
    );
    expect(described.card?.considerations?.environmentalProperties).toEqual([
      { name: 'mlbom:co2eq:tCO2eq', value: '0.00025' },
      { name: 'mlbom:co2eq:grams', value: '250' },
      { name: 'mlbom:co2eq:source', value: 'codecarbon' },
      { name: 'mlbom:co2eq:trainingType', value: 'fine-tuning' },
      { name: 'mlbom:co2eq:hardware', value: '1 T4' },
    ]);
    expect(card('license: mit').card?.considerations).toBeUndefined();
  });
});

describe('card body', () => {
  const template = `
# Model Card for Model ID

<!-- Provide a quick summary of what the model is/does. -->

This is the model card of a 🤗 transformers model that has been pushed on the Hub. This model card has been automatically generated.

## Model Details

### Model Description

<!-- Provide a longer summary of what this model is. -->

- **Developed by:** [More Information Needed]
- **Funded by [optional]:** [More Information Needed]

## Uses

<!-- Address questions around how the model is intended to be used. -->

### Direct Use

<!-- This section is for the model use without fine-tuning. -->

[More Information Needed]

### Out-of-Scope Use

[More Information Needed]

## Bias, Risks, and Limitations

[More Information Needed]

### Recommendations

Users (both direct and downstream) should be made aware of the risks, biases and limitations of the model. More information needed for further recommendations.
`;

  it('drops the Hub template placeholders entirely', () => {
    const info = parseModelCard(template, 'README.md');
    expect(info.description).toBeUndefined();
    expect(info.card).toBeUndefined();
  });

  it('reads description, uses, limitations and recommendations', () => {
    const body = `# My model

![badge](https://img.shields.io/badge/x-y-z)

My model classifies
cats and dogs.

Second paragraph.

## Uses

Intro to uses.

### Direct Use

Classify pet photos.

\`\`\`python
## Not a heading
\`\`\`

### Out-of-Scope Use

Do not use on humans.

## Bias, Risks, and Limitations

<!-- comment -->
Trained on few breeds.

### Recommendations

Check outputs by hand.
`;
    const info = parseModelCard(body, 'README.md');
    expect(info.hasFrontMatter).toBe(false);
    expect(info.description).toBe('My model classifies cats and dogs.');
    expect(info.card?.considerations).toEqual({
      useCases: ['Intro to uses.', 'Classify pet photos.'],
      technicalLimitations: ['Do not use on humans.', 'Trained on few breeds.'],
      ethicalConsiderations: [{ name: 'Trained on few breeds.', mitigationStrategy: 'Check outputs by hand.' }],
    });
  });

  it('truncates long paragraphs to 1000 characters', () => {
    const info = parseModelCard(`${'word '.repeat(400)}\n`, 'README.md');
    expect(info.description?.length).toBeLessThanOrEqual(1000);
    expect(info.description?.endsWith('…')).toBe(true);
  });
});
