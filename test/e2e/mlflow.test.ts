import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { validateBom } from '@mlbom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bom, type Component, property } from '../bom.js';
import { repoRoot, runCli } from '../cli.js';
import { type FakeMlflow, fixtureStore, startFakeMlflow } from '../fakes/mlflow/server.js';

const SECRET = 'hunter2-s3cret';
const TOKEN = 'mlflow-token-0123456789';
const properties = (c: Component, name: string) =>
  (c.properties ?? []).filter((p) => p.name === name).map((p) => p.value);
const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...extra });

let open: FakeMlflow;
let basic: FakeMlflow;
beforeAll(async () => {
  open = await startFakeMlflow();
  basic = await startFakeMlflow({ auth: { username: 'ci-bot', password: SECRET } });
});
afterAll(async () => {
  await open.close();
  await basic.close();
});

describe('mlbom generate --mlflow-registry against a tracking server', () => {
  it('writes a valid BOM linking every model version to its run, datasets, frameworks and files', async () => {
    const run = await runCli(['generate', '--mlflow-registry', '--output-reproducible'], {
      env: env({ MLFLOW_TRACKING_URI: open.url }),
    });
    expect(run.code).toBe(0);
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    // The deleted run is reported, not fatal.
    expect(run.stderr).toMatch(/models:\/fraud-clf\/1: run 1f5a2c3d4e5f60718293a4b5c6d7e8f9 was deleted/);
    const bom = JSON.parse(run.stdout) as Bom;
    const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]));
    const models = bom.components.filter((c) => c.type === 'machine-learning-model');
    expect(models.map((m) => `${m.name}@${m.version}`).sort()).toEqual([
      'churn-onnx@m-7c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6',
      'churn-xgb@1',
      'defect-detector@1',
      'fraud-clf@1',
      'fraud-clf@2',
      'sentiment-distilbert@1',
    ]);
    for (const m of models) {
      expect(m.purl).toMatch(/^pkg:mlflow\//);
      expect(m.purl).toContain(`repository_url=${encodeURIComponent(open.url)}`);
      expect(m['bom-ref']).toBe(m.purl);
    }

    const champion = models.find(
      (m) => properties(m, 'mlbom:mlflow:alias').includes('champion') && m.name === 'fraud-clf',
    )!;
    expect(champion.version).toBe('2');
    expect(champion.author).toBe('alice');
    expect(property(champion, 'mlbom:mlflow:param:C')).toBe('0.5');
    expect(champion.modelCard?.quantitativeAnalysis?.performanceMetrics).toContainEqual({
      type: 'accuracy',
      value: '0.94',
      slice: 'step 4',
    });
    expect(champion.modelCard?.modelParameters?.inputs?.[0]?.format).toBe(
      '{"type":"double","name":"amount","required":true}',
    );
    // Datasets are real data components the model card refers to.
    const datasetRefs = champion.modelCard?.modelParameters?.datasets?.map((d) => d.ref) ?? [];
    expect(datasetRefs.sort()).toEqual([
      'mlflow-dataset:transactions-holdout@e5f6a7b8',
      'mlflow-dataset:transactions@a1b2c3d4',
    ]);
    for (const ref of datasetRefs) expect(byRef.get(ref)?.type).toBe('data');
    expect(byRef.get('mlflow-dataset:transactions@a1b2c3d4')?.data?.[0]?.contents?.url).toBe(
      's3://fraud-data/train/2024-06.parquet',
    );
    // Frameworks with versions, linked in the dependency graph.
    const deps = bom.dependencies?.find((d) => d.ref === champion['bom-ref'])?.dependsOn ?? [];
    expect(deps).toEqual(
      expect.arrayContaining(['pkg:pypi/scikit-learn@1.5.2', 'pkg:pypi/mlflow@2.16.2', 'pkg:generic/python@3.10.12']),
    );
    expect(byRef.get('pkg:pypi/scikit-learn@1.5.2')).toMatchObject({ type: 'framework', version: '1.5.2' });

    const deleted = models.find((m) => m.name === 'fraud-clf' && m.version === '1')!;
    expect(property(deleted, 'mlbom:mlflow:run:deleted')).toBe('true');

    const sentiment = models.find((m) => m.name === 'sentiment-distilbert')!;
    expect(sentiment.pedigree?.ancestors?.[0]?.purl).toBe(
      'pkg:huggingface/distilbert/distilbert-base-uncased@12040accade4e8a0f71eabdb258fecc2e7e948be',
    );
    expect(sentiment.modelCard?.modelParameters?.task).toBe('text-classification');
    expect(sentiment.modelCard?.modelParameters?.datasets).toEqual([{ ref: 'hf-dataset:stanfordnlp/imdb' }]);
    expect(byRef.get('hf-dataset:stanfordnlp/imdb')).toMatchObject({
      type: 'data',
      version: 'e6281661ce1c48d982bc483cf8a173c1bbeb5d31',
    });

    // Model artifacts are nested file components with size and SHA-256.
    const defect = models.find((m) => m.name === 'defect-detector')!;
    const pkl = defect.components?.find((f) => f.name === 'model.pkl');
    expect(pkl).toMatchObject({ type: 'file', 'bom-ref': `${defect['bom-ref']}#model.pkl` });
    expect(pkl?.hashes).toEqual([
      { alg: 'SHA-256', content: '1756da84f5d8fd5c77b837a080e9dc3c9a3564c02f3d17f695ca24f5423c8747' },
    ]);
    expect(property(pkl!, 'mlbom:size')).toBe('42');
    expect(property(pkl!, 'mlbom:format')).toBe('pickle');
    // ...and scanned: the malicious pickle is a vulnerability affecting that file component.
    expect(property(pkl!, 'mlbom:scan:status')).toBe('unsafe');
    const vulnerability = bom.vulnerabilities?.find((v) => v.affects.some((a) => a.ref === pkl?.['bom-ref']));
    expect(vulnerability?.id).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(run.stderr).toContain('posix.system');
    const fraudPickle = champion.components?.find((f) => f.name === 'model.pkl');
    expect(property(fraudPickle!, 'mlbom:scan:status')).toBe('clean');

    const churn = models.find((m) => m.name === 'churn-xgb')!;
    expect(property(churn, 'mlbom:mlflow:model-id')).toBe('m-6a0b1c2d3e4f45a6b7c8d9e0f1a2b3c4');
    expect(byRef.get('pkg:pypi/xgboost@2.1.1')?.type).toBe('framework');

    // An MLflow 3 logged model no version was registered from, with what its ONNX file records.
    const onnx = models.find((m) => m.name === 'churn-onnx')!;
    expect(onnx.purl).toMatch(/^pkg:mlflow\/churn-onnx@m-7c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6\?/);
    expect(property(onnx, 'mlbom:mlflow:run-id')).toBe('5e9f0a1b2c3d44e5f6a7b8c9d0e1f2a3');
    expect(property(onnx, 'mlbom:parameterCount')).toBe('58');
    expect(bom.dependencies?.find((d) => d.ref === onnx['bom-ref'])?.dependsOn).toContain('pkg:pypi/torch@1.13.0');
    expect(byRef.get('pkg:pypi/torch@1.13.0')?.type).toBe('framework');
  });

  it('filters the registry and reads single versions by alias', async () => {
    const filtered = await runCli(['generate', '--mlflow-registry', '--filter', "name LIKE 'fraud%'"], {
      env: env({ MLFLOW_TRACKING_URI: open.url }),
    });
    expect(filtered.code).toBe(0);
    const bom = JSON.parse(filtered.stdout) as Bom;
    expect(bom.components.filter((c) => c.type === 'machine-learning-model').map((c) => c.name)).toEqual([
      'fraud-clf',
      'fraud-clf',
    ]);
    const alias = await runCli(
      ['generate', '--tracking-uri', open.url, 'models:/sentiment-distilbert@prod', '--output-format', 'xml'],
      {
        env: env({}),
      },
    );
    expect(alias.code).toBe(0);
    expect((await validateBom(alias.stdout)).issues).toEqual([]);
    expect(alias.stdout).toContain(
      'pkg:huggingface/distilbert/distilbert-base-uncased@12040accade4e8a0f71eabdb258fecc2e7e948be',
    );
    const logged = await runCli(['generate', 'models:/m-7c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6'], {
      env: env({ MLFLOW_TRACKING_URI: open.url }),
    });
    expect(logged.code).toBe(0);
    const loggedBom = JSON.parse(logged.stdout) as Bom;
    expect(loggedBom.components.filter((c) => c.type === 'machine-learning-model').map((c) => c.purl)).toEqual([
      `pkg:mlflow/churn-onnx@m-7c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6?model_uuid=b1c2d3e4f5a6478899aabbccddeeff06&repository_url=${encodeURIComponent(open.url)}&run_id=5e9f0a1b2c3d44e5f6a7b8c9d0e1f2a3`,
    ]);
  });

  it('authenticates from the environment and never prints the secret', async () => {
    const ok = await runCli(['generate', 'models:/fraud-clf/2', '-v'], {
      env: env({
        MLFLOW_TRACKING_URI: basic.url,
        MLFLOW_TRACKING_USERNAME: 'ci-bot',
        MLFLOW_TRACKING_PASSWORD: SECRET,
        MLFLOW_TRACKING_TOKEN: TOKEN,
      }),
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(SECRET);
    expect(ok.stdout + ok.stderr).not.toContain(TOKEN);

    const denied = await runCli(['generate', '--mlflow-registry'], {
      env: env({ MLFLOW_TRACKING_URI: basic.url, MLFLOW_TRACKING_TOKEN: TOKEN }),
    });
    expect(denied.code).toBe(2);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/access denied \(HTTP 403\)/);
    expect(denied.stderr).toContain('MLFLOW_TRACKING_USERNAME');
    expect(denied.stderr).toContain('MLFLOW_TRACKING_TOKEN');
    expect(denied.stderr).not.toContain(TOKEN);

    const inUri = await runCli(['generate', 'models:/fraud-clf/2'], {
      env: env({ MLFLOW_TRACKING_URI: basic.url.replace('http://', `http://ci-bot:${SECRET}@`) }),
    });
    expect(inUri.code).toBe(0);
    expect(inUri.stdout + inUri.stderr).not.toContain(SECRET);
  });

  it('fails clearly for an unknown model, a missing server and a stray --filter', async () => {
    const unknown = await runCli(['generate', 'models:/no-such-model/1'], {
      env: env({ MLFLOW_TRACKING_URI: open.url }),
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/models:\/no-such-model\/1: not found .*RESOURCE_DOES_NOT_EXIST/);
    const noServer = await runCli(['generate', 'models:/x/1'], { env: env({}) });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('set MLFLOW_TRACKING_URI or pass --tracking-uri');
    const stray = await runCli(['generate', '--filter', "name = 'x'"], { env: env({}) });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--filter applies to --mlflow-registry');
  });
});

describe('mlbom generate against a tracking server over TLS', () => {
  const tlsDir = join(repoRoot, 'test', 'fixtures', 'tls');
  const pem = (name: string) => readFileSync(join(tlsDir, name), 'utf8');
  const generate = (server: FakeMlflow, extra: Record<string, string>) =>
    runCli(['generate', 'models:/fraud-clf@champion'], { env: env({ MLFLOW_TRACKING_URI: server.url, ...extra }) });

  it('trusts the CA in MLFLOW_TRACKING_SERVER_CERT_PATH, or none with MLFLOW_TRACKING_INSECURE_TLS', async () => {
    const server = await startFakeMlflow({ tls: { key: pem('server.key'), cert: pem('server.pem') } });
    try {
      const untrusted = await generate(server, {});
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(/models:\/fraud-clf@champion.*certificate/i);
      const trusted = await generate(server, { MLFLOW_TRACKING_SERVER_CERT_PATH: join(tlsDir, 'ca.pem') });
      expect(trusted.stderr).toBe('');
      expect(trusted.code).toBe(0);
      expect((JSON.parse(trusted.stdout) as Bom).components.some((c) => c.name === 'fraud-clf')).toBe(true);
      const insecure = await generate(server, { MLFLOW_TRACKING_INSECURE_TLS: 'true' });
      expect(insecure.code).toBe(0);
      const both = await generate(server, {
        MLFLOW_TRACKING_INSECURE_TLS: 'true',
        MLFLOW_TRACKING_SERVER_CERT_PATH: join(tlsDir, 'ca.pem'),
      });
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('cannot both be set');
      // TLS settings only matter to MLflow targets.
      const local = await runCli(['generate', 'examples/tiny-bert'], {
        env: env({ MLFLOW_TRACKING_SERVER_CERT_PATH: join(tlsDir, 'missing.pem') }),
      });
      expect(local.code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('presents the client certificate in MLFLOW_TRACKING_CLIENT_CERT_PATH to a server that requires one', async () => {
    const server = await startFakeMlflow({
      tls: { key: pem('server.key'), cert: pem('server.pem'), clientCa: pem('ca.pem') },
    });
    try {
      const ca = { MLFLOW_TRACKING_SERVER_CERT_PATH: join(tlsDir, 'ca.pem') };
      expect((await generate(server, ca)).code).toBe(2);
      const withCert = await generate(server, { ...ca, MLFLOW_TRACKING_CLIENT_CERT_PATH: join(tlsDir, 'client.pem') });
      expect(withCert.stderr).toBe('');
      expect(withCert.code).toBe(0);
      const missing = await generate(server, { ...ca, MLFLOW_TRACKING_CLIENT_CERT_PATH: join(tlsDir, 'nope.pem') });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('MLFLOW_TRACKING_CLIENT_CERT_PATH');
    } finally {
      await server.close();
    }
  });
});

describe('mlbom generate on an mlruns file store', () => {
  it('reads the same registry from the folder', async () => {
    const run = await runCli(['generate', relative(repoRoot, fixtureStore), '--spec-version', '1.5'], { env: env({}) });
    expect(run.code).toBe(0);
    expect((await validateBom(run.stdout)).issues).toEqual([]);
    const bom = JSON.parse(run.stdout) as Bom;
    const models = bom.components.filter((c) => c.type === 'machine-learning-model');
    expect(models).toHaveLength(6);
    expect(models.every((m) => m.purl?.startsWith('pkg:mlflow/') && !m.purl.includes('repository_url'))).toBe(true);
    // No path of this machine in the BOM (the store recorded another machine's paths: found again inside it).
    expect(run.stdout).not.toContain(repoRoot);
  });
});
