import { parseModelCard } from '@mlbom/formats';
import { describe, expect, it } from 'vitest';
import { cardFromCardData, freeTags, mapModelCard, resolveLicenseLinks, taskInputsOutputs } from './card.js';
import { baseModelRefs, normalizeBaseId } from './lineage.js';
import { hubWeightsProperties, securityProperties } from './weights.js';

describe('model card mapping', () => {
  it('derives inputs and outputs from the task, and keeps free tags only', () => {
    expect(taskInputsOutputs('automatic-speech-recognition')).toEqual({ inputs: ['audio'], outputs: ['text'] });
    expect(taskInputsOutputs('no-such-task')).toEqual({ inputs: [], outputs: [] });
    expect(freeTags(['chat', 'license:mit', 'dataset:x', 'base_model:a/b', 'arxiv:1', 'region:us'])).toEqual(['chat']);
  });

  it('turns a repo-relative license_link into a URL at the commit', () => {
    const info = parseModelCard(
      '---\nlicense: other\nlicense_name: acme\nlicense_link: LICENSE.md\n---\n',
      'README.md',
    );
    const { licenses, properties } = resolveLicenseLinks(
      info.licenses,
      info.properties,
      (p) => `https://hub/x/blob/c/${p}`,
    );
    expect(licenses).toEqual([{ value: 'acme', url: 'https://hub/x/blob/c/LICENSE.md' }]);
    expect(properties.some((p) => p.name === 'mlbom:license:link')).toBe(false);
  });

  it('maps the Hub cardData through the same parser as a README', () => {
    const info = cardFromCardData(
      { license: 'apache-2.0', datasets: ['a/b'], base_model: ['x/y', 'z'], pipeline_tag: 'fill-mask' },
      'cardData',
    );
    expect(info.licenses).toEqual([{ value: 'apache-2.0' }]);
    expect(info.datasets).toEqual(['a/b']);
    const mapped = mapModelCard(
      info,
      { modelType: 'bert', architecture: 'BertForMaskedLM', tags: ['reinforcement-learning'] },
      (p) => p,
    );
    expect(mapped.card).toMatchObject({
      task: 'fill-mask',
      architectureFamily: 'bert',
      modelArchitecture: 'BertForMaskedLM',
      approach: 'reinforcement-learning',
      inputs: ['text'],
    });
  });
});

describe('lineage references', () => {
  it('merges card, tags and baseModels, keeping explicit relations', () => {
    const card = parseModelCard('---\nbase_model: [https://huggingface.co/a/b, c]\n---\n', 'README.md');
    const refs = baseModelRefs(card, ['base_model:merge:a/b', 'base_model:d/e', 'base_model:adapter:C'], {
      baseModels: { relation: 'merge', models: [{ id: 'f/g' }] },
    });
    expect(refs).toEqual([
      { id: 'a/b', relation: 'merge' },
      { id: 'd/e' },
      { id: 'C', relation: 'adapter' },
      { id: 'f/g', relation: 'merge' },
    ]);
    expect(normalizeBaseId(' https://huggingface.co/x/y/ ')).toBe('x/y');
  });
});

describe('weights metadata from the Hub', () => {
  it('records parameter counts by dtype and a GGUF summary with the template hashed', () => {
    const properties = hubWeightsProperties(
      { name: 'a/b', sha: 'a'.repeat(40), safetensors: { parameters: { F32: 10, BF16: 5 }, total: 15 } },
      { gguf: { architecture: 'llama', context_length: 4096, chat_template: '{{ x }}' } },
    );
    const get = (n: string) => properties.find((p) => p.name === n)?.value;
    expect(get('mlbom:parameterCount')).toBe('15');
    expect(get('mlbom:parameterCount:BF16')).toBe('5');
    expect(get('mlbom:dtype')).toBe('BF16,F32');
    expect(get('mlbom:gguf:architecture')).toBe('llama');
    expect(get('mlbom:chatTemplate:sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(properties.some((p) => p.value.includes('{{'))).toBe(false);
  });

  it("records the Hub's security scan, listing only imports that are not innocuous", () => {
    const properties = securityProperties({
      status: 'unsafe',
      pickleImportScan: {
        status: 'unsafe',
        imports: [
          { module: 'posix', name: 'system', safety: 'dangerous' },
          { module: 'torch', name: 'FloatStorage', safety: 'innocuous' },
        ],
      },
    });
    expect(properties).toEqual([
      { name: 'mlbom:hf:security:status', value: 'unsafe' },
      { name: 'mlbom:hf:security:pickle', value: 'unsafe' },
      { name: 'mlbom:hf:security:pickle-imports', value: 'posix.system (dangerous)' },
    ]);
    expect(securityProperties('garbage')).toEqual([]);
  });
});
