import { describe, expect, it } from 'vitest';
import type { Inventory } from '../assets.js';
import { pypiPackage } from '../python.js';
import { buildBom } from './build.js';
import { mergeInventories } from './merge.js';
import { serializeBom } from './serialize.js';
import type { OutputFormat, SpecVersion } from './spec.js';
import { validateBom } from './validate.js';

const torch = pypiPackage({ name: 'Torch', exactVersion: '2.1.0' });
const transformers = pypiPackage({ name: 'transformers', versionSpec: '>=4.40,<5' });

const sample: Inventory = {
  models: [
    {
      kind: 'model',
      key: 'local:tiny-bert',
      name: 'tiny-bert',
      description: 'A toy model',
      licenses: [{ value: 'apache-2.0' }],
      tags: ['bert', 'text-classification'],
      externalReferences: [{ type: 'website', url: 'https://example.org/tiny-bert' }],
      properties: [{ name: 'mlbom:path', value: 'tiny-bert' }],
      files: [
        { path: 'model.safetensors', format: 'safetensors', size: 10, sha256: 'a'.repeat(64) },
        { path: 'config.json', format: 'config', size: 2, sha256: 'b'.repeat(64) },
      ],
      card: {
        task: 'text-classification',
        architectureFamily: 'bert',
        modelArchitecture: 'BertForSequenceClassification',
        performanceMetrics: [{ type: 'accuracy', value: '0.81', slice: 'IMDB/test' }],
        considerations: {
          useCases: ['demos'],
          technicalLimitations: ['toy'],
          ethicalConsiderations: [{ name: 'biased', mitigationStrategy: 'do not deploy' }],
          environmentalProperties: [{ name: 'mlbom:co2eq:tCO2eq', value: '0.0015' }],
        },
      },
    },
    {
      kind: 'model',
      key: 'local:lone.pt',
      name: 'lone.pt',
      licenses: [{ value: 'my custom license', url: 'https://example.org/license' }],
      files: [
        {
          path: 'lone.pt',
          format: 'pytorch-zip',
          size: 3,
          sha256: 'c'.repeat(64),
          scanStatus: 'unsafe',
          findings: [
            {
              ruleId: 'MLBOM-PICKLE-CRITICAL-GLOBAL',
              severity: 'critical',
              title: 'pickle imports os.system',
              detail: 'GLOBAL os.system',
              location: 'archive/data.pkl@12',
            },
          ],
        },
      ],
      occurrences: [{ location: 'train.py', line: 12 }],
    },
  ],
  datasets: [
    {
      kind: 'dataset',
      key: 'hf-dataset:stanfordnlp/imdb',
      name: 'stanfordnlp/imdb',
      url: 'https://huggingface.co/datasets/stanfordnlp/imdb',
    },
  ],
  packages: [torch, transformers],
  relations: [
    { type: 'trained-on', from: 'local:tiny-bert', to: 'hf-dataset:stanfordnlp/imdb' },
    { type: 'trained-on', from: 'local:tiny-bert', to: 'hf-dataset:unknown/elsewhere' },
    { type: 'depends-on', from: 'local:tiny-bert', to: torch.key },
    { type: 'depends-on', from: 'local:tiny-bert', to: transformers.key },
    {
      type: 'derived-from',
      from: 'local:tiny-bert',
      ancestor: {
        key: 'pkg:huggingface/google-bert/bert-base-uncased',
        name: 'bert-base-uncased',
        group: 'google-bert',
        purl: 'pkg:huggingface/google-bert/bert-base-uncased',
      },
      relation: 'finetune',
    },
  ],
};

function render(spec: SpecVersion, format: OutputFormat, reproducible = true): string {
  const bom = buildBom(mergeInventories([sample]), { specVersion: spec, timestamp: reproducible ? null : new Date() });
  return serializeBom(bom, { format, reproducible });
}

describe('buildBom + serializeBom', () => {
  for (const spec of ['1.5', '1.6', '1.7'] as const) {
    for (const format of ['json', 'xml'] as const) {
      it(`writes a schema-valid CycloneDX ${spec} ${format} BOM`, async () => {
        const result = await validateBom(render(spec, format));
        expect(result.issues).toEqual([]);
        expect(result.valid).toBe(true);
        expect(result.specVersion).toBe(spec);
      });
    }
  }

  it('maps models, files, datasets, packages and lineage', () => {
    const bom = JSON.parse(render('1.6', 'json'));
    const model = bom.components.find((c: { 'bom-ref': string }) => c['bom-ref'] === 'local:tiny-bert');
    expect(model.type).toBe('machine-learning-model');
    expect(model.licenses).toEqual([{ license: { id: 'Apache-2.0' } }]);
    expect(model.components.map((f: { name: string }) => f.name)).toEqual(['config.json', 'model.safetensors']);
    expect(model.modelCard.modelParameters.datasets).toEqual([
      { ref: 'hf-dataset:stanfordnlp/imdb' },
      { ref: 'hf-dataset:unknown/elsewhere' },
    ]);
    expect(model.pedigree.ancestors[0].purl).toBe('pkg:huggingface/google-bert/bert-base-uncased');
    expect(model.tags).toEqual(['bert', 'text-classification']);
    const placeholder = bom.components.find(
      (c: { 'bom-ref': string }) => c['bom-ref'] === 'hf-dataset:unknown/elsewhere',
    );
    expect(placeholder.type).toBe('data');
    expect(placeholder.properties).toContainEqual({ name: 'mlbom:unresolved', value: 'true' });
    const deps = bom.dependencies.find((d: { ref: string }) => d.ref === 'local:tiny-bert');
    expect(deps.dependsOn).toEqual(['pkg:pypi/torch@2.1.0', 'pkg:pypi/transformers']);
    const lone = bom.components.find((c: { 'bom-ref': string }) => c['bom-ref'] === 'local:lone.pt');
    expect(lone.hashes).toEqual([{ alg: 'SHA-256', content: 'c'.repeat(64) }]);
    expect(lone.licenses).toEqual([{ license: { name: 'my custom license', url: 'https://example.org/license' } }]);
    const torchComponent = bom.components.find((c: { name: string }) => c.name === 'torch');
    expect(torchComponent.type).toBe('framework');
  });

  it('writes findings as vulnerabilities affecting the file, and code references as occurrences', () => {
    const bom = JSON.parse(render('1.6', 'json'));
    expect(bom.vulnerabilities).toEqual([
      expect.objectContaining({
        id: 'MLBOM-PICKLE-CRITICAL-GLOBAL',
        source: { name: 'mlbom' },
        ratings: [{ severity: 'critical', method: 'other' }],
        affects: [{ ref: 'local:lone.pt#lone.pt' }],
        detail: 'GLOBAL os.system (at archive/data.pkl@12)',
      }),
    ]);
    const lone = bom.components.find((c: { 'bom-ref': string }) => c['bom-ref'] === 'local:lone.pt');
    expect(lone.evidence).toEqual({ occurrences: [{ location: 'train.py', line: 12 }] });
    expect(lone.components[0].properties).toContainEqual({ name: 'mlbom:scan:status', value: 'unsafe' });
    expect(
      JSON.parse(render('1.5', 'json')).components.find((c: { name: string }) => c.name === 'lone.pt').evidence,
    ).toEqual({
      occurrences: [{ location: 'train.py' }],
    });
  });

  it('writes CO2 figures as environmentalConsiderations from 1.6, as component properties in 1.5', () => {
    const co2 = { name: 'mlbom:co2eq:tCO2eq', value: '0.0015' };
    const model = (spec: SpecVersion) =>
      JSON.parse(render(spec, 'json')).components.find((c: { name: string }) => c.name === 'tiny-bert');
    expect(model('1.6').modelCard.considerations.environmentalConsiderations).toEqual({ properties: [co2] });
    expect(model('1.6').properties).not.toContainEqual(co2);
    expect(model('1.5').modelCard.considerations.environmentalConsiderations).toBeUndefined();
    expect(model('1.5').properties).toContainEqual(co2);
    expect(render('1.7', 'xml').replace(/>\s+</g, '><')).toContain(
      '<environmentalConsiderations><properties><property name="mlbom:co2eq:tCO2eq">0.0015</property></properties></environmentalConsiderations>',
    );
  });

  it('drops tags for CycloneDX 1.5, which has none', () => {
    const bom = JSON.parse(render('1.5', 'json'));
    expect(bom.components.some((c: { tags?: unknown }) => c.tags !== undefined)).toBe(false);
  });

  it('gives byte-identical reproducible output and a content-derived serial', () => {
    expect(render('1.6', 'json')).toBe(render('1.6', 'json'));
    expect(render('1.6', 'xml')).toBe(render('1.6', 'xml'));
    const serial = JSON.parse(render('1.6', 'json')).serialNumber;
    expect(serial).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(render('1.6', 'json', false)).serialNumber).not.toBe(serial);
  });

  it('rejects a source result outside the asset model', () => {
    expect(() => mergeInventories([{ models: [{ kind: 'model', key: '', name: 'x' }] } as Inventory])).toThrow(
      /asset model at models\.0\.key/,
    );
  });

  it('merges the same model found twice into one component', () => {
    const first = sample.models?.[1];
    if (!first) throw new Error('fixture');
    const merged = mergeInventories([{ models: [first] }, { models: [{ ...first, tags: ['extra'] }] }]);
    expect(merged.models).toHaveLength(1);
    expect(merged.models[0]?.tags).toEqual(['extra']);
  });
});

describe('validateBom', () => {
  it('reports schema errors with their JSON path', async () => {
    const bom = JSON.parse(render('1.6', 'json'));
    bom.components[0].modelCard = { modelParameters: { approach: { type: 'guessing' } } };
    const result = await validateBom(JSON.stringify(bom));
    expect(result.valid).toBe(false);
    expect(result.issues.map((i) => i.path).join(' ')).toContain('/components/0');
  });

  it('reports XSD errors with their line', async () => {
    const xml = render('1.6', 'xml').replace('<task>text-classification</task>', '<task>x</task><bogus/>');
    const result = await validateBom(xml);
    expect(result.valid).toBe(false);
    expect(result.issues[0]?.path).toMatch(/^line \d+$/);
  });

  it('rejects tags in a 1.5 BOM', async () => {
    const bom = JSON.parse(render('1.5', 'json'));
    bom.components[0].tags = ['x'];
    expect((await validateBom(JSON.stringify(bom))).valid).toBe(false);
  });

  it('refuses an unknown spec version', async () => {
    await expect(validateBom('{"bomFormat":"CycloneDX","specVersion":"0.9"}')).rejects.toThrow(/unsupported/);
  });
});
