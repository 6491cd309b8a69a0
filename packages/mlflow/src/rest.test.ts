import { isMlbomError, type ParsedInventory } from '@mlbom/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMlflowOptions, Fault } from '../../../test/fakes/mlflow/server.js';
import { type MlflowOptions, mlflow } from './index.js';
import {
  type FakeMlflow,
  M1,
  M2,
  parse,
  propertyOf,
  R1,
  R2,
  R3,
  R4,
  R5,
  recordingContext,
  rejection,
  startFakeMlflow,
  store,
} from './test-utils.js';

const fakes: FakeMlflow[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

async function server(options: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const fake = await startFakeMlflow(options);
  fakes.push(fake);
  return fake;
}

async function collect(fake: FakeMlflow, target: string, options: MlflowOptions = {}) {
  const recorded = recordingContext();
  const inventory = parse(await mlflow({ trackingUri: fake.url, ...options }).collect(target, recorded.ctx));
  return { inventory, messages: recorded.messages };
}

/** What is the same whether read over REST or from the file store: drops where it came from. */
function comparable(inventory: ParsedInventory, url: string): unknown {
  const text = JSON.stringify(inventory)
    .replaceAll(`&repository_url=${encodeURIComponent(url)}`, '')
    .replaceAll(`?repository_url=${encodeURIComponent(url)}&`, '?');
  const parsed = JSON.parse(text) as ParsedInventory;
  for (const model of parsed.models) {
    model.properties = model.properties.filter(
      (p) => !['mlbom:mlflow:artifact-uri', 'mlbom:mlflow:source'].includes(p.name),
    );
    model.externalReferences = [];
    // The server lists only the model files it downloaded with a hash; the store hashes everything.
    for (const file of model.files) delete file.sha256;
  }
  return parsed;
}

describe('MLflow REST API', () => {
  it('inventories the registry, following pagination, as the file store with the same content does', async () => {
    const fake = await server();
    const { inventory } = await collect(fake, 'mlflow-registry:');
    expect(inventory.models).toHaveLength(6);
    const fromStore = parse(await mlflow({ trackingUri: store }).collect(store, recordingContext().ctx));
    expect(comparable(inventory, fake.url)).toEqual(comparable(fromStore, fake.url));

    // Paged listings were followed (2 items a page).
    const searches = fake.requests.filter((r) => r.path.endsWith('registered-models/search'));
    expect(searches.map((r) => r.query.page_token !== undefined)).toEqual([false, true]);
    // purl: repository_url is the server, without credentials; model_uuid and run_id from MLmodel / the version.
    const v2 = inventory.models.find((m) => m.name === 'fraud-clf' && m.version === '2')!;
    expect(v2.purl).toBe(
      `pkg:mlflow/fraud-clf@2?model_uuid=b1c2d3e4f5a6478899aabbccddeeff02&repository_url=${encodeURIComponent(fake.url)}&run_id=${R2}`,
    );
    expect(v2.externalReferences).toEqual([
      { type: 'website', url: `${fake.url}/#/models/fraud-clf/versions/2`, comment: 'MLflow model version' },
    ]);
    expect(propertyOf(v2, 'mlbom:mlflow:artifact-uri')).toBe(`mlflow-artifacts:/1/${R2}/artifacts/model`);
  });

  it('downloads only the model files (to hash and scan) and the metadata it reads', async () => {
    const fake = await server();
    const { inventory } = await collect(fake, 'mlflow-registry:');
    const downloaded = fake.downloads.map((d) => d.replace(/^[a-z-]+:/, ''));
    const names = downloaded.map((d) => d.slice(d.lastIndexOf('/') + 1));
    expect(new Set(names)).toEqual(
      new Set([
        'MLmodel',
        'requirements.txt',
        'conda.yaml',
        'python_env.yaml',
        'model.pkl',
        'model.pth',
        'model.ubj',
        'model.onnx',
        // A chat template runs when the tokenizer is loaded: scanned like model code.
        'tokenizer_config.json',
      ]),
    );
    const defect = inventory.models.find((m) => m.name === 'defect-detector')!;
    const files = Object.fromEntries(defect.files.map((f) => [f.path, f]));
    expect(files['model.pkl']).toMatchObject({ format: 'pickle', size: 42 });
    expect(files['model.pkl']?.sha256).toBe('1756da84f5d8fd5c77b837a080e9dc3c9a3564c02f3d17f695ca24f5423c8747');
    expect(files['data/model.pth']).toMatchObject({ format: 'pytorch-zip', size: 1531 });
    // Listed with the size the server gave, not downloaded.
    expect(files['data/pickle_module_info.txt']).toMatchObject({ size: 29 });
    expect(files['data/pickle_module_info.txt']?.sha256).toBeUndefined();
  });

  it('scans the downloaded model files with @mlbom/scanner: the malicious pickle is flagged, the others are clean', async () => {
    const fake = await server();
    const { inventory, messages } = await collect(fake, 'mlflow-registry:');
    const scanned = inventory.models.flatMap((m) =>
      m.files.filter((f) => f.scanStatus).map((f) => `${m.name}@${m.version}/${f.path} ${f.scanStatus}`),
    );
    expect(scanned.sort()).toEqual([
      'defect-detector@1/data/model.pth clean',
      'defect-detector@1/model.pkl unsafe',
      'fraud-clf@1/model.pkl clean',
      'fraud-clf@2/model.pkl clean',
      'sentiment-distilbert@1/components/tokenizer/tokenizer_config.json clean',
    ]);
    const pkl = inventory.models.find((m) => m.name === 'defect-detector')?.files.find((f) => f.path === 'model.pkl');
    expect(pkl?.findings.map((f) => [f.ruleId, f.severity])).toEqual([['MLBOM-PICKLE-CRITICAL-GLOBAL', 'critical']]);
    expect(messages.some((m) => m.level === 'warn' && m.message.includes('posix.system'))).toBe(true);

    const off = await collect(fake, 'models:/defect-detector/1', { scan: false });
    expect(off.inventory.models[0]?.files.some((f) => f.scanStatus !== undefined)).toBe(false);
  });

  it('scans downloaded model files with the injected scanner', async () => {
    const fake = await server();
    const scanned: string[] = [];
    const source = mlflow(
      { trackingUri: fake.url },
      {
        scan: async (bytes, { path }) => {
          scanned.push(path);
          const head = new TextDecoder().decode(await bytes.read(0, 64));
          return head.includes('posix\nsystem')
            ? {
                status: 'unsafe',
                findings: [
                  {
                    ruleId: 'MLBOM-PICKLE-CRITICAL-GLOBAL',
                    severity: 'critical',
                    title: 'posix.system',
                    detail: 'GLOBAL posix system',
                  },
                ],
              }
            : { status: 'clean', findings: [] };
        },
      },
    );
    const inventory = parse(await source.collect('models:/defect-detector/1', recordingContext().ctx));
    expect(scanned.sort()).toEqual(['data/model.pth', 'model.pkl']);
    const files = inventory.models[0]!.files;
    expect(files.find((f) => f.path === 'model.pkl')).toMatchObject({ scanStatus: 'unsafe' });
    expect(files.find((f) => f.path === 'model.pkl')?.findings[0]?.ruleId).toBe('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(files.find((f) => f.path === 'data/model.pth')?.scanStatus).toBe('clean');
  });

  it('downloads each artifact once, the metadata it reads included, even when nothing is hashed', async () => {
    const fake = await server();
    const { inventory } = await collect(fake, 'models:/fraud-clf/2', { hash: false, artifacts: 'all' });
    expect(fake.downloads.filter((d) => d.endsWith('MLmodel'))).toHaveLength(1);
    expect(fake.downloads.filter((d) => d.endsWith('model.pkl'))).toHaveLength(1);
    expect(fake.downloads).toHaveLength(new Set(fake.downloads).size);
    expect(inventory.models[0]?.files.every((f) => f.sha256 === undefined)).toBe(true);
  });

  it('reads single versions by number, alias, run and logged-model id', async () => {
    const fake = await server();
    const alias = await collect(fake, 'models:/fraud-clf@champion');
    expect(alias.inventory.models.map((m) => m.version)).toEqual(['2']);
    const run = await collect(fake, `runs:/${R4}/model`);
    expect(run.inventory.models[0]?.key).toBe(`mlflow-run:${R4}/model`);
    expect(fake.requests.some((r) => r.path === '/api/2.0/mlflow/artifacts/list')).toBe(true);
    expect(fake.downloads).toContain('run:model/MLmodel');
    const logged = await collect(fake, `models:/${M1}`);
    expect(logged.inventory.models[0]).toMatchObject({
      key: `pkg:mlflow/model@${M1}?model_uuid=b1c2d3e4f5a6478899aabbccddeeff05&repository_url=${encodeURIComponent(fake.url)}&run_id=${R5}`,
      name: 'model',
      version: M1,
    });
    expect(propertyOf(logged.inventory.models[0]!, 'mlbom:mlflow:registered-as')).toBe('churn-xgb/1');
    expect(logged.inventory.packages.map((p) => p.key)).toContain('pkg:pypi/xgboost@2.1.1');
  });

  it('lists the MLflow 3 logged models no registered version covers, following pagination', async () => {
    const fake = await server({ pageSize: 1 });
    // Without registrations on the logged model, the version's model_id alone tells it is covered.
    delete ((fake.registry.loggedModels.get(M1) as { info: Record<string, unknown> }).info as Record<string, unknown>)
      .registrations;
    const { inventory } = await collect(fake, 'mlflow-registry:');
    const logged = inventory.models.filter((m) => m.version?.startsWith('m-'));
    expect(logged.map((m) => m.key)).toEqual([
      `pkg:mlflow/churn-onnx@${M2}?model_uuid=b1c2d3e4f5a6478899aabbccddeeff06&repository_url=${encodeURIComponent(fake.url)}&run_id=${R5}`,
    ]);
    expect(inventory.models.filter((m) => propertyOf(m, 'mlbom:mlflow:model-id') === M1)).toHaveLength(1);
    const searches = fake.requests.filter((r) => r.path === '/api/2.0/mlflow/logged-models/search');
    expect(searches.length).toBe(2);
    expect(searches.every((r) => r.method === 'POST')).toBe(true);
    expect(fake.requests.filter((r) => r.path === '/api/2.0/mlflow/experiments/search').length).toBe(5);

    // With a filter: only the experiments of the versions listed.
    const churn = await collect(fake, "mlflow-registry:name = 'churn-xgb'");
    expect(churn.inventory.models.map((m) => m.name)).toEqual(['churn-onnx', 'churn-xgb']);
    const fraud = await collect(fake, "mlflow-registry:name LIKE 'fraud%'");
    expect(fraud.inventory.models.map((m) => m.name)).toEqual(['fraud-clf', 'fraud-clf']);
  });

  it('treats a server without logged models (MLflow 2) as having none, and a failing search as a problem', async () => {
    const mlflow2 = await server({
      faults: [{ match: '/logged-models/search', status: 404, errorCode: 'ENDPOINT_NOT_FOUND' }],
    });
    const old = await collect(mlflow2, 'mlflow-registry:');
    expect(old.inventory.models).toHaveLength(5);
    expect(old.inventory.problems).toEqual([]);
    expect(old.messages.filter((m) => m.level === 'warn' && m.message.includes('logged'))).toEqual([]);

    const failing = await server({ faults: [{ match: '/logged-models/search', status: 500 }] });
    const broken = await collect(failing, 'mlflow-registry:', { retries: 0 });
    expect(broken.inventory.models).toHaveLength(5);
    expect(broken.inventory.problems.map((p) => p.code)).toEqual(['LOGGED_MODELS_UNREADABLE']);

    // No experiments/search: the experiments of the versions are searched instead.
    const noExperiments = await server({ faults: [{ match: '/experiments/search', status: 404 }] });
    const fallback = await collect(noExperiments, 'mlflow-registry:');
    expect(fallback.inventory.models.map((m) => m.name)).toContain('churn-onnx');
  });

  it('describes downloaded model files from the bytes already downloaded', async () => {
    const fake = await server();
    const { inventory } = await collect(fake, `models:/${M2}`, { scan: false });
    const model = inventory.models[0]!;
    const onnx = model.files.find((f) => f.path === 'model.onnx')!;
    expect(onnx.format).toBe('onnx');
    expect(propertyOf(onnx, 'mlbom:onnx:producer')).toBe('pytorch 1.13.0');
    expect(propertyOf(model, 'mlbom:parameterCount')).toBe('58');
    expect(inventory.packages.find((p) => p.key === 'pkg:pypi/torch@1.13.0')?.role).toBe('framework');
    // One download of the file, for hash and description together.
    expect(fake.downloads.filter((d) => d.endsWith('model.onnx'))).toHaveLength(1);

    const pth = await collect(fake, 'models:/defect-detector/1');
    const file = pth.inventory.models[0]!.files.find((f) => f.path === 'data/model.pth')!;
    expect(propertyOf(file, 'mlbom:pytorch:archive')).toBe('whole-module');
    expect(fake.downloads.filter((d) => d.endsWith('data/model.pth'))).toHaveLength(1);
  });

  it('reads a logged model whose artifacts are not behind the proxy through the logged-model routes', async () => {
    const fake = await server();
    const model = fake.registry.loggedModels.get(M1) as { info: Record<string, unknown> };
    model.info.artifact_uri = `s3://bucket/4/models/${M1}/artifacts`;
    const logged = await collect(fake, `models:/${M1}`);
    expect(logged.inventory.models[0]?.files.map((f) => f.path)).toContain('model.ubj');
    expect(fake.downloads).toContain('logged-model:MLmodel');
    expect(fake.requests.some((r) => r.path.endsWith('/artifacts/directories'))).toBe(true);
  });

  it('reads MLmodel through model-versions/get-artifact when the artifacts cannot be listed', async () => {
    const fake = await server();
    const version = fake.registry.versions.get('fraud-clf')?.find((v) => v.version === '2') as Record<string, unknown>;
    version.source = 's3://fraud-models/clf/v2';
    delete version.run_id;
    const { inventory } = await collect(fake, 'models:/fraud-clf/2');
    const model = inventory.models[0]!;
    expect(model.problems.map((p) => p.code)).toEqual(['ARTIFACTS_UNREADABLE']);
    expect(model.files.map((f) => f.path)).toEqual(['MLmodel', 'conda.yaml', 'python_env.yaml', 'requirements.txt']);
    expect(model.purl).toContain('model_uuid=b1c2d3e4f5a6478899aabbccddeeff02');
    expect(inventory.packages.map((p) => p.key)).toContain('pkg:pypi/scikit-learn@1.5.2');
    expect(fake.downloads).toContain('model-version:MLmodel');
    expect(propertyOf(model, 'mlbom:mlflow:source')).toBe('s3://fraud-models/clf/v2');
  });

  it('names an unknown model or version', async () => {
    const fake = await server();
    for (const target of ['models:/no-such-model/1', 'models:/fraud-clf/9', 'models:/fraud-clf@nope']) {
      const error = await rejection(collect(fake, target));
      expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
      expect((error as Error).message).toContain(target);
      expect((error as Error).message).toContain('RESOURCE_DOES_NOT_EXIST');
    }
  });

  it('lists a version whose run was purged, marked as such', async () => {
    const fake = await server({ purgedRuns: [R3] });
    const { inventory, messages } = await collect(fake, 'models:/sentiment-distilbert/1');
    const model = inventory.models[0]!;
    expect(propertyOf(model, 'mlbom:mlflow:run:deleted')).toBe('true');
    expect(model.problems.map((p) => p.code)).toEqual(['RUN_NOT_FOUND']);
    expect(model.files.map((f) => f.path)).toContain('MLmodel');
    expect(messages.some((m) => m.level === 'warn' && m.message.includes(R3))).toBe(true);
  });

  it('never lets one broken version abort the registry inventory', async () => {
    const faults: Fault[] = [
      { match: `/api/2.0/mlflow-artifacts/artifacts?path=2%2F${R3}`, status: 500 },
      { match: 'get-download-uri?name=churn-xgb', status: 500 },
      { match: `/1/${R2}/artifacts/model/model.pkl`, status: 500 },
      { match: `runs/get?run_id=${R1}`, status: 400, errorCode: 'INVALID_PARAMETER_VALUE' },
      { match: 'name%3D%27defect-detector%27', status: 503, retryAfter: '0' },
    ];
    const fake = await server({ faults });
    const { inventory } = await collect(fake, 'mlflow-registry:', { retries: 1 });
    expect(inventory.models.map((m) => `${m.name}@${m.version}`)).toEqual([
      `churn-onnx@${M2}`,
      'churn-xgb@1',
      'fraud-clf@1',
      'fraud-clf@2',
      'sentiment-distilbert@1',
    ]);
    const problems = Object.fromEntries(
      inventory.models.map((m) => [`${m.name}@${m.version}`, m.problems.map((p) => p.code)]),
    );
    expect(problems['sentiment-distilbert@1']).toEqual(['ARTIFACTS_UNREADABLE']);
    expect(problems['fraud-clf@1']).toEqual(['RUN_UNREADABLE']);
    const pkl = inventory.models.find((m) => m.version === '2')?.files.find((f) => f.path === 'model.pkl');
    expect(pkl?.problems.map((p) => p.code)).toEqual(['FILE_UNREADABLE']);
    expect(inventory.problems).toEqual([
      expect.objectContaining({ code: 'MODEL_UNREADABLE', subject: 'defect-detector' }),
    ]);
    // Bounded retries: each failing call was tried twice (retries: 1), not forever.
    const tries = fake.requests.filter(
      (r) => r.path === '/api/2.0/mlflow-artifacts/artifacts' && r.query.path === `2/${R3}/artifacts/model`,
    );
    expect(tries).toHaveLength(2);
    // No download URI: the version's own storage location is used instead.
    expect(problems['churn-xgb@1']).toEqual([]);
  });

  it('retries 5xx and 429 answers, honouring Retry-After', async () => {
    const fake = await server({
      faults: [
        { match: 'registered-models/search', status: 503, times: 2, retryAfter: '0' },
        { match: 'model-versions/get?', status: 429, times: 1, retryAfter: '0' },
      ],
    });
    const { inventory } = await collect(fake, 'models:/fraud-clf/2');
    expect(inventory.models).toHaveLength(1);
    expect(fake.requests.filter((r) => r.path.endsWith('model-versions/get'))).toHaveLength(2);
    const registry = await collect(fake, "mlflow-registry:name = 'fraud-clf'");
    expect(registry.inventory.models).toHaveLength(2);
  });

  it('gives up after the retries when the server keeps failing, and on timeouts', async () => {
    const failing = await server({ faults: [{ match: 'registered-models/search', status: 502, retryAfter: '0' }] });
    const error = await rejection(collect(failing, 'mlflow-registry:', { retries: 2 }));
    expect(isMlbomError(error) && error.code).toBe('SOURCE_FAILED');
    expect((error as Error).message).toContain('mlflow-registry:');
    expect(failing.requests.filter((r) => r.path.endsWith('registered-models/search'))).toHaveLength(3);

    const slow = await server({ delayMs: 400 });
    const timeout = await rejection(collect(slow, 'models:/fraud-clf/1', { retries: 0, timeoutMs: 100 }));
    expect((timeout as Error).message).toMatch(/models:\/fraud-clf\/1: request to .* failed \(timed out\)/);
  });

  describe('authentication', () => {
    const secret = 's3cr3t-pa55word';
    const token = 'dapi-0123456789abcdef-token';

    it('sends basic auth, and basic wins over a token', async () => {
      const fake = await server({ auth: { username: 'alice', password: secret } });
      const { inventory } = await collect(fake, 'models:/fraud-clf/2', { username: 'alice', password: secret, token });
      expect(inventory.models).toHaveLength(1);
      expect(new Set(fake.requests.map((r) => r.authorization))).toEqual(
        new Set([`Basic ${Buffer.from(`alice:${secret}`).toString('base64')}`]),
      );
      expect(JSON.stringify(inventory)).not.toContain(secret);
    });

    it('sends a bearer token', async () => {
      const fake = await server({ auth: { token } });
      const { inventory } = await collect(fake, 'models:/fraud-clf@champion', { token });
      expect(inventory.models).toHaveLength(1);
      expect(fake.requests.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
    });

    it('takes credentials from the tracking URI without putting them anywhere', async () => {
      const fake = await server({ auth: { username: 'alice', password: secret } });
      const uri = fake.url.replace('http://', `http://alice:${secret}@`);
      const recorded = recordingContext();
      const inventory = parse(await mlflow({ trackingUri: uri }).collect('mlflow-registry:', recorded.ctx));
      expect(inventory.models).toHaveLength(6);
      expect(JSON.stringify(inventory)).not.toContain(secret);
      expect(JSON.stringify(recorded.messages)).not.toContain(secret);
      expect(inventory.models[0]?.purl).toContain(encodeURIComponent(fake.url));
    });

    it('says which variables to set on 401 and 403, never printing the secret', async () => {
      const fake = await server({ auth: { token } });
      const missing = await rejection(collect(fake, 'models:/fraud-clf/1'));
      expect(isMlbomError(missing) && missing.code).toBe('AUTH');
      expect((missing as Error).message).toMatch(/models:\/fraud-clf\/1: access denied \(HTTP 401\)/);
      expect((missing as Error).message).toContain('MLFLOW_TRACKING_TOKEN');
      expect((missing as Error).message).toContain('MLFLOW_TRACKING_USERNAME');
      const wrong = await rejection(collect(fake, 'mlflow-registry:', { token: `${token}-wrong` }));
      expect((wrong as Error).message).toMatch(/access denied \(HTTP 403\).*PERMISSION_DENIED/);
      expect((wrong as Error).message).not.toContain(token);
    });
  });

  it('stops with ABORTED', async () => {
    const fake = await server();
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      mlflow({ trackingUri: fake.url }).collect(
        'mlflow-registry:',
        recordingContext({ signal: controller.signal }).ctx,
      ),
    );
    expect(isMlbomError(error) && error.code).toBe('ABORTED');
  });

  it('rejects tracking URIs it cannot use', async () => {
    for (const uri of ['databricks', 'ftp://host/x']) {
      const error = await rejection(mlflow({ trackingUri: uri }).collect('models:/x/1', recordingContext().ctx));
      expect(isMlbomError(error) && error.code).toBe('INVALID_INPUT');
      expect((error as Error).message).toContain('models:/x/1');
    }
    expect(R3).toHaveLength(32);
  });
});
