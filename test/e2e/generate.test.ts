import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateBom } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { allComponents, type Bom, type Component, property } from '../bom.js';
import { repoRoot, runCli, withTempDir } from '../cli.js';

const example = join(repoRoot, 'examples', 'tiny-bert');

function sha256sum(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] ?? '';
}

describe('mlbom generate on the bundled example', () => {
  it('prints only a valid BOM on stdout with the expected components and links', async () => {
    const run = await runCli(['generate', 'examples/tiny-bert']);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const bom = JSON.parse(run.stdout) as Bom;
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    expect(bom.specVersion).toBe('1.6');

    const models = bom.components.filter((c) => c.type === 'machine-learning-model');
    expect(models).toHaveLength(1);
    const model = models[0] as Component;
    expect(model.licenses).toEqual([{ license: { id: 'Apache-2.0' } }]);
    const params = model.modelCard?.modelParameters;
    expect(params?.task).toBe('text-classification');
    expect(params?.architectureFamily).toBe('bert');
    expect(params?.modelArchitecture).toBe('BertForSequenceClassification');
    expect(model.modelCard?.quantitativeAnalysis?.performanceMetrics?.map((m) => m.type)).toContain('accuracy');

    const fileNames = (model.components ?? []).map((f) => f.name);
    expect(fileNames).toEqual(
      expect.arrayContaining(['model.safetensors', 'config.json', 'README.md', 'requirements.txt']),
    );
    const weights = model.components?.find((f) => f.name === 'model.safetensors') as Component;
    expect(weights.type).toBe('file');
    expect(property(weights, 'mlbom:format')).toBe('safetensors');

    // The dataset named by the card is a real component and the model card's ref resolves to it.
    const refs = new Set(allComponents(bom.components).map((c) => c['bom-ref']));
    const datasetRefs = params?.datasets?.map((d) => d.ref) ?? [];
    expect(datasetRefs.length).toBeGreaterThan(0);
    for (const ref of datasetRefs) expect(refs.has(ref)).toBe(true);
    const dataset = bom.components.find((c) => c['bom-ref'] === datasetRefs[0]);
    expect(dataset?.type).toBe('data');

    expect(model.pedigree?.ancestors?.[0]?.purl).toBe('pkg:huggingface/google-bert/bert-base-uncased');
    expect(property(model.pedigree?.ancestors?.[0] as Component, 'mlbom:relation')).toBe('finetune');

    const torch = bom.components.find((c) => c.name === 'torch');
    expect(torch).toMatchObject({ type: 'framework', version: '2.1.0', purl: 'pkg:pypi/torch@2.1.0' });
    const numpy = bom.components.find((c) => c.name === 'numpy');
    expect(numpy?.type).toBe('library');
    const modelDeps = bom.dependencies?.find((d) => d.ref === model['bom-ref']);
    expect(modelDeps?.dependsOn).toContain('pkg:pypi/torch@2.1.0');

    // Every ref in the BOM names a component that exists.
    for (const dep of bom.dependencies ?? []) {
      expect(refs.has(dep.ref) || dep.ref === bom.metadata.component?.['bom-ref']).toBe(true);
      for (const target of dep.dependsOn ?? []) expect(refs.has(target)).toBe(true);
    }
  });

  it('records SHA-256 hashes equal to sha256sum', async () => {
    const bom = JSON.parse((await runCli(['generate', 'examples/tiny-bert'])).stdout) as Bom;
    const model = bom.components.find((c) => c.type === 'machine-learning-model') as Component;
    expect(model.components?.length).toBeGreaterThan(3);
    for (const file of model.components ?? []) {
      expect(file.hashes).toEqual([{ alg: 'SHA-256', content: sha256sum(join(example, file.name)) }]);
    }
  });

  for (const spec of ['1.5', '1.6', '1.7']) {
    for (const format of ['json', 'xml']) {
      it(`writes a schema-valid CycloneDX ${spec} ${format} BOM that mlbom validate accepts`, async () => {
        await withTempDir(async (dir) => {
          const out = join(dir, `bom.${format}`);
          const run = await runCli(['generate', 'examples/tiny-bert', '--spec-version', spec, '-o', out]);
          expect(run.code).toBe(0);
          expect(run.stdout).toBe('');
          const text = await readFile(out, 'utf8');
          const result = await validateBom(text);
          expect(result.issues).toEqual([]);
          expect(result).toMatchObject({ valid: true, specVersion: spec, format });
          const check = await runCli(['validate', out]);
          expect(check.code).toBe(0);
        });
      });
    }
  }

  it('gives byte-identical output across runs with --output-reproducible', async () => {
    for (const format of ['json', 'xml']) {
      const args = ['generate', 'examples', '--output-reproducible', '--output-format', format];
      const first = await runCli(args);
      const second = await runCli(args);
      expect(first.code).toBe(0);
      expect(first.stdout.length).toBeGreaterThan(1000);
      expect(second.stdout).toBe(first.stdout);
      expect(first.stdout).not.toMatch(/timestamp/);
    }
  });

  it('skips hashing with --no-hash but still lists sizes', async () => {
    const bom = JSON.parse((await runCli(['generate', 'examples/tiny-bert', '--no-hash'])).stdout) as Bom;
    const model = bom.components.find((c) => c.type === 'machine-learning-model') as Component;
    for (const file of model.components ?? []) {
      expect(file.hashes).toBeUndefined();
      expect(Number(property(file, 'mlbom:size'))).toBeGreaterThan(0);
    }
  });
});

describe('mlbom generate on an MLflow model folder', () => {
  it('reads MLmodel flavors, signature and lineage through the MLflow reader', async () => {
    const run = await runCli(['generate', 'test/fixtures/mlruns/2/3c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1/artifacts']);
    expect(run.code).toBe(0);
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    const bom = JSON.parse(run.stdout) as Bom;
    const models = bom.components.filter((c) => c.type === 'machine-learning-model');
    expect(models.map((m) => m['bom-ref'])).toEqual([
      'local:test/fixtures/mlruns/2/3c7d8e9f0a1b42c3d4e5f6a7b8c9d0e1/artifacts/model',
    ]);
    expect(models[0]?.pedigree?.ancestors?.[0]?.purl).toMatch(
      /^pkg:huggingface\/distilbert\/distilbert-base-uncased@[0-9a-f]{40}$/,
    );
    expect(bom.components.find((c) => c.name === 'transformers')).toMatchObject({
      type: 'framework',
      version: '4.44.0',
    });
    expect(models[0]?.components?.map((f) => f.name)).toContain('MLmodel');
  });
});

describe('mlbom generate security scan', () => {
  it('reports hidden code as vulnerabilities on the file, and --no-scan skips it', async () => {
    const target = 'test/fixtures/scanner/malicious';
    const run = await runCli(['generate', target, '--spec-version', '1.6']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/security finding/);
    const bom = JSON.parse(run.stdout) as Bom;
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    const vulnerabilities = bom.vulnerabilities ?? [];
    const files = new Map(
      bom.components.flatMap((c) => c.components ?? []).map((f) => [f['bom-ref'] as string, f] as const),
    );
    for (const v of vulnerabilities) {
      expect(v.id).toMatch(/^MLBOM-/);
      const file = files.get(v.affects[0]?.ref ?? '');
      expect(file, v.affects[0]?.ref).toBeDefined();
      expect(property(file as Component, 'mlbom:scan:status')).toMatch(/^(unsafe|error)$/);
    }

    // Every labelled malicious model file is in the BOM with a HIGH or CRITICAL vulnerability on it.
    // Plain archives and odd extensions are no model files to `generate`; `mlbom scan` covers them.
    const labels = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/scanner/labels.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const notModels = /\.(zip|tar|tar\.gz|cfg)$/;
    const expected = Object.keys(labels).filter((p) => p.startsWith('malicious/') && !notModels.test(p));
    expect(expected.length).toBeGreaterThan(75);
    const refOf = (path: string) => {
      const full = `local:${target}/${path.slice('malicious/'.length)}`;
      const slash = full.lastIndexOf('/');
      // A lone file is its own model; a file in a model folder (SavedModel) is nested under the folder's key.
      return [`${full}#${full.slice(slash + 1)}`, `${full.slice(0, slash)}#${full.slice(slash + 1)}`];
    };
    for (const path of expected) {
      const ref = refOf(path).find((r) => files.has(r));
      expect(ref, path).toBeDefined();
      const severities = vulnerabilities
        .filter((v) => v.affects.some((a) => a.ref === ref))
        .map((v) => v.ratings[0]?.severity);
      expect(
        severities.some((s) => s === 'high' || s === 'critical'),
        path,
      ).toBe(true);
    }

    const skipped = await runCli(['generate', target, '--no-scan']);
    expect(skipped.code).toBe(0);
    const plain = JSON.parse(skipped.stdout) as Bom;
    expect(plain.vulnerabilities ?? []).toEqual([]);
  });

  it('gates on --fail-on after writing the BOM', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'bom.json');
      const high = 'test/fixtures/scanner/malicious/io_fileio.pkl';
      const failed = await runCli(['generate', high, '--fail-on', 'high', '-o', out]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/1 scan finding\(s\) at or above high/);
      expect((await validateBom(await readFile(out, 'utf8'))).valid).toBe(true);
      expect((await runCli(['generate', high, '--fail-on', 'critical'])).code).toBe(0);
      expect((await runCli(['generate', 'test/fixtures/scanner/benign', '--fail-on', 'low'])).code).toBe(0);
      const contradictory = await runCli(['generate', high, '--fail-on', 'high', '--no-scan']);
      expect(contradictory.code).toBe(2);
      expect(contradictory.stderr).toMatch(/--fail-on needs the scan/);
    });
  });

  it('marks ordinary framework files clean', async () => {
    const run = await runCli(['generate', 'test/fixtures/scanner/benign']);
    expect(run.code).toBe(0);
    const bom = JSON.parse(run.stdout) as Bom;
    expect(bom.vulnerabilities ?? []).toEqual([]);
    const statuses = bom.components.flatMap((c) => c.components ?? []).map((f) => property(f, 'mlbom:scan:status'));
    expect(statuses.filter((s) => s === 'clean').length).toBeGreaterThan(10);
  });
});

describe('mlbom generate on bad input', () => {
  it('exits 2 naming a missing path', async () => {
    const run = await runCli(['generate', 'no/such/dir']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('no/such/dir');
  });

  it('exits 2 on bad usage', async () => {
    expect((await runCli(['generate', '--spec-version', '1.2'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
  });

  it('writes a valid, empty inventory for an empty directory and warns', async () => {
    await withTempDir(async (dir) => {
      const run = await runCli(['generate', dir]);
      expect(run.code).toBe(0);
      const bom = JSON.parse(run.stdout) as Bom;
      expect(bom.components ?? []).toEqual([]);
      expect(run.stderr).toMatch(/warning/);
    });
  });

  it('lists a truncated weights file with a problem instead of failing', async () => {
    await withTempDir(async (dir) => {
      const full = await readFile(join(example, 'model.safetensors'));
      await writeFile(join(dir, 'cut.safetensors'), full.subarray(0, 20));
      const run = await runCli(['generate', dir]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/cut\.safetensors/);
      const bom = JSON.parse(run.stdout) as Bom;
      const file = bom.components.flatMap((c) => c.components ?? []).find((f) => f.name === 'cut.safetensors');
      expect(file).toBeDefined();
      expect(property(file as Component, 'mlbom:problem')).toMatch(/FORMAT_INVALID/);
    });
  });

  it('does not hang on a symlink loop and does not follow links out of the root', async () => {
    await withTempDir(async (dir) => {
      const root = join(dir, 'root');
      await mkdir(join(root, 'models'), { recursive: true });
      await copyFile(join(example, 'model.safetensors'), join(root, 'models', 'a.safetensors'));
      await symlink('..', join(root, 'models', 'loop'));
      await mkdir(join(dir, 'outside'));
      await copyFile(join(example, 'model.safetensors'), join(dir, 'outside', 'secret.safetensors'));
      await symlink(join(dir, 'outside'), join(root, 'escape'));
      const run = await runCli(['generate', root]);
      expect(run.code).toBe(0);
      const bom = JSON.parse(run.stdout) as Bom;
      const names = bom.components.map((c) => c.name);
      expect(names).toContain('a.safetensors');
      expect(run.stdout).not.toContain('secret.safetensors');
    });
  });

  it('records an unreadable file as a warning and a problem, not a crash', async () => {
    await withTempDir(async (dir) => {
      await copyFile(join(example, 'model.safetensors'), join(dir, 'ok.safetensors'));
      // A dangling symlink named like a model: listed, unreadable, and must not abort the inventory.
      await symlink(join(dir, 'missing-target.bin'), join(dir, 'broken.pt'));
      const run = await runCli(['generate', dir]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/broken\.pt/);
      const bom = JSON.parse(run.stdout) as Bom;
      expect(bom.components.map((c) => c.name)).toContain('ok.safetensors');
      const broken = bom.components.flatMap((c) => c.components ?? []).find((f) => f.name === 'broken.pt');
      expect(property(broken as Component, 'mlbom:problem')).toBeDefined();
    });
  });
});

describe('mlbom validate', () => {
  it('exits 1 and prints each error with its path for an invalid BOM', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'bad.json');
      await writeFile(
        path,
        JSON.stringify({
          bomFormat: 'CycloneDX',
          specVersion: '1.6',
          version: 1,
          components: [{ type: 'model', name: 'x' }],
        }),
      );
      const run = await runCli(['validate', path]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('/components/0');
    });
  });

  it('exits 2 for a missing file', async () => {
    const run = await runCli(['validate', 'does-not-exist.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('does-not-exist.json');
  });
});
