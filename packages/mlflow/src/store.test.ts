import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMlbomError } from '@mlbom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlflow, readMlmodelDirectory } from './index.js';
import { isMlrunsStore, registeredModelFilter } from './store.js';
import {
  M1,
  M2,
  parse,
  propertiesOf,
  propertyOf,
  R1,
  R2,
  R3,
  R4,
  R5,
  recordingContext,
  rejection,
  store,
} from './test-utils.js';

const fraud2 = `pkg:mlflow/fraud-clf@2?model_uuid=b1c2d3e4f5a6478899aabbccddeeff02&run_id=${R2}`;

describe('mlruns file store', () => {
  it('inventories every registered model version with runs, datasets and artifacts', async () => {
    const { ctx, messages } = recordingContext();
    const inv = parse(await mlflow().collect(store, ctx));
    expect(inv.models.map((m) => `${m.name}@${m.version}`)).toEqual([
      `churn-onnx@${M2}`,
      'churn-xgb@1',
      'defect-detector@1',
      'fraud-clf@1',
      'fraud-clf@2',
      'sentiment-distilbert@1',
    ]);
    // A file store has no repository URL: the purl has none, and no machine path leaks into it.
    const v2 = inv.models.find((m) => m.key === fraud2);
    expect(v2?.purl).toBe(fraud2);
    expect(v2?.description).toBe('Tuned C and max_iter');
    expect(v2?.authors).toEqual(['alice']);
    expect(propertiesOf(v2!, 'mlbom:mlflow:alias')).toEqual(['champion']);
    expect(propertyOf(v2!, 'mlbom:mlflow:stage')).toBe('Production');
    expect(propertyOf(v2!, 'mlbom:mlflow:tag:validated')).toBe('true');
    expect(propertyOf(v2!, 'mlbom:mlflow:model-tag:team')).toBe('risk');
    expect(propertyOf(v2!, 'mlbom:mlflow:param:C')).toBe('0.5');
    expect(propertyOf(v2!, 'mlbom:mlflow:run:git-commit')).toBe('1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4');
    expect(propertyOf(v2!, 'mlbom:mlflow:run:source-name')).toBe('train.py');
    expect(propertyOf(v2!, 'mlbom:mlflow:run-tag:team')).toBe('risk');
    expect(propertyOf(v2!, 'mlbom:mlflow:created')).toBe('2024-06-10T06:16:50.000Z');
    // The absolute file: path recorded on another machine is found again inside the store.
    expect(propertyOf(v2!, 'mlbom:mlflow:artifact-uri')).toBe(`1/${R2}/artifacts/model`);
    expect(JSON.stringify(inv)).not.toContain(store);
    // Latest value per metric: highest step wins over a later timestamp.
    expect(v2?.card?.performanceMetrics).toEqual([
      { type: 'accuracy', value: '0.94', slice: 'step 4' },
      { type: 'auc', value: '0.97', slice: 'step 0' },
    ]);
    expect(v2?.card?.inputs).toEqual([
      '{"type":"double","name":"amount","required":true}',
      '{"type":"string","name":"merchant","required":true}',
    ]);
    // Every file listed, hashed (local files cost no download), the pickle by its content.
    expect(v2?.files.map((f) => [f.path, f.format])).toEqual([
      ['MLmodel', 'config'],
      ['conda.yaml', 'config'],
      ['input_example.json', 'config'],
      ['model.pkl', 'pickle'],
      ['python_env.yaml', 'config'],
      ['requirements.txt', 'requirements'],
    ]);
    for (const f of v2?.files ?? []) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v2?.files.find((f) => f.path === 'model.pkl')?.size).toBe(741);

    // The deleted run's version is still listed, marked.
    const v1 = inv.models.find((m) => m.name === 'fraud-clf' && m.version === '1');
    expect(propertyOf(v1!, 'mlbom:mlflow:run:deleted')).toBe('true');
    expect(messages.some((m) => m.level === 'warn' && m.message.includes(R1) && m.message.includes('deleted'))).toBe(
      true,
    );

    // Datasets: one component per dataset, shared by both versions, with context, digest, schema, profile.
    expect(inv.datasets.map((d) => d.key)).toEqual([
      'hf-dataset:stanfordnlp/imdb',
      'mlflow-dataset:churn-train@1a2b3c4d',
      'mlflow-dataset:defect-images@0f1e2d3c',
      'mlflow-dataset:transactions-holdout@e5f6a7b8',
      'mlflow-dataset:transactions@a1b2c3d4',
    ]);
    const transactions = inv.datasets.find((d) => d.name === 'transactions')!;
    expect(transactions.url).toBe('s3://fraud-data/train/2024-06.parquet');
    expect(propertyOf(transactions, 'mlbom:mlflow:dataset:digest')).toBe('a1b2c3d4');
    expect(propertyOf(transactions, 'mlbom:mlflow:dataset:context')).toBe('training');
    expect(propertyOf(transactions, 'mlbom:mlflow:dataset:columns')).toBe('amount,merchant,label');
    expect(propertyOf(transactions, 'mlbom:mlflow:dataset:profile:num_rows')).toBe('120000');
    const holdout = inv.datasets.find((d) => d.name === 'transactions-holdout')!;
    expect(propertyOf(holdout, 'mlbom:mlflow:dataset:context')).toBe('evaluation');
    const imdb = inv.datasets.find((d) => d.key === 'hf-dataset:stanfordnlp/imdb')!;
    expect(imdb.version).toBe('e6281661ce1c48d982bc483cf8a173c1bbeb5d31');
    expect(imdb.url).toBe('https://huggingface.co/datasets/stanfordnlp/imdb');
    expect(propertyOf(imdb, 'mlbom:mlflow:dataset:split')).toBe('train');
    expect(inv.relations).toContainEqual({
      type: 'trained-on',
      from: fraud2,
      to: 'mlflow-dataset:transactions@a1b2c3d4',
    });
    expect(inv.relations).toContainEqual({
      type: 'trained-on',
      from: fraud2,
      to: 'mlflow-dataset:transactions-holdout@e5f6a7b8',
    });

    // Frameworks from the flavors and environment files, linked from the model.
    const deps = inv.relations.flatMap((r) => (r.type === 'depends-on' && r.from === fraud2 ? [r.to] : []));
    expect(deps).toEqual(
      expect.arrayContaining([
        'pkg:pypi/scikit-learn@1.5.2',
        'pkg:pypi/mlflow@2.16.2',
        'pkg:generic/python@3.10.12',
        'pkg:pypi/numpy@1.26.4',
        'pkg:conda/pip',
      ]),
    );
    const sklearn = inv.packages.find((p) => p.key === 'pkg:pypi/scikit-learn@1.5.2');
    expect(sklearn?.role).toBe('framework');
    expect(inv.packages.find((p) => p.key === 'pkg:generic/python@3.10.12')?.role).toBe('framework');

    // The transformers model descends from its Hub base, pinned to the revision.
    const sentiment = inv.models.find((m) => m.name === 'sentiment-distilbert')!;
    const derived = inv.relations.find((r) => r.type === 'derived-from' && r.from === sentiment.key);
    expect(derived).toMatchObject({
      ancestor: {
        purl: 'pkg:huggingface/distilbert/distilbert-base-uncased@12040accade4e8a0f71eabdb258fecc2e7e948be',
        group: 'distilbert',
        name: 'distilbert-base-uncased',
      },
    });
    expect(sentiment.card?.task).toBe('text-classification');
    expect(sentiment.card?.modelArchitecture).toBe('DistilBertForSequenceClassification');
    expect(propertyOf(sentiment, 'mlbom:mlflow:param:optimizer:name')).toBe('adamw');

    // The MLflow 3 logged model: its params and dataset-scoped metrics come along.
    const churn = inv.models.find((m) => m.name === 'churn-xgb')!;
    expect(propertyOf(churn, 'mlbom:mlflow:model-id')).toBe(M1);
    expect(propertyOf(churn, 'mlbom:mlflow:param:max_depth')).toBe('6');
    expect(churn.card?.performanceMetrics).toContainEqual({
      type: 'auc',
      value: '0.88',
      slice: 'step 0, dataset churn-eval',
    });
    expect(inv.packages.map((p) => p.key)).toContain('pkg:pypi/xgboost@2.1.1');
    // A logged model no version was registered from comes after the registry, keyed by its model_id.
    const onnx = inv.models.find((m) => m.name === 'churn-onnx')!;
    expect(onnx.purl).toBe(`pkg:mlflow/churn-onnx@${M2}?model_uuid=b1c2d3e4f5a6478899aabbccddeeff06&run_id=${R5}`);
    expect(propertyOf(onnx, 'mlbom:mlflow:param:opset')).toBe('13');
    expect(propertyOf(onnx, 'mlbom:mlflow:run-id')).toBe(R5);
    expect(propertyOf(onnx, 'mlbom:mlflow:logged-model-tag:owner')).toBe('growth-team');
    expect(onnx.card?.performanceMetrics).toContainEqual({
      type: 'auc',
      value: '0.87',
      slice: 'step 0, dataset churn-eval',
    });
    expect(onnx.authors).toEqual(['dave']);
    expect(inv.relations).toContainEqual({
      type: 'trained-on',
      from: onnx.key,
      to: 'mlflow-dataset:churn-train@1a2b3c4d',
    });
    // What the weights file records: parameters on the file and the model, its producer as a framework.
    const weights = onnx.files.find((f) => f.path === 'model.onnx')!;
    expect(weights.format).toBe('onnx');
    expect(propertyOf(weights, 'mlbom:parameterCount')).toBe('58');
    expect(propertyOf(onnx, 'mlbom:parameterCount')).toBe('58');
    expect(propertyOf(onnx, 'mlbom:dtype')).toBe('F32');
    expect(onnx.card?.inputs).toEqual(['input: float32[batch,4]']);
    expect(inv.relations).toContainEqual({ type: 'depends-on', from: onnx.key, to: 'pkg:pypi/torch@1.13.0' });
    const torch = inv.packages.find((p) => p.key === 'pkg:pypi/torch@1.13.0')!;
    expect(torch.role).toBe('framework');
    expect(propertyOf(torch as { properties: Array<{ name: string; value: string }> }, 'mlbom:evidence')).toBe(
      'model.onnx: onnx producer_name/producer_version',
    );
    // ...but a pickle the scanner flags names no model class.
    const defect = inv.models.find((m) => m.name === 'defect-detector')!;
    expect(defect.card?.modelArchitecture).not.toBe('posix.system');
    expect(propertyOf(defect, 'mlbom:parameterCount')).toBe('8');
  });

  it('reads models:/ and runs:/ targets against a file: tracking URI', async () => {
    const source = mlflow({ trackingUri: pathToFileURL(store).href });
    const byAlias = parse(await source.collect('models:/fraud-clf@champion', recordingContext().ctx));
    expect(byAlias.models.map((m) => m.key)).toEqual([fraud2]);
    const latest = parse(await source.collect('models:/fraud-clf/latest', recordingContext().ctx));
    expect(latest.models[0]?.version).toBe('2');
    const staged = parse(await source.collect('models:/fraud-clf/Archived', recordingContext().ctx));
    expect(staged.models[0]?.version).toBe('1');
    const run = parse(await source.collect(`runs:/${R4}/model`, recordingContext().ctx));
    expect(run.models[0]).toMatchObject({ key: `mlflow-run:${R4}/model`, name: 'resnet-defects/model' });
    expect(run.models[0]?.files.map((f) => f.path)).toContain('data/model.pth');
    expect(run.models[0]?.files.find((f) => f.path === 'data/model.pth')?.format).toBe('pytorch-zip');
    const logged = parse(await source.collect(`models:/${M1}`, recordingContext().ctx));
    expect(logged.models[0]).toMatchObject({
      key: `pkg:mlflow/model@${M1}?model_uuid=b1c2d3e4f5a6478899aabbccddeeff05&run_id=${R5}`,
      name: 'model',
      version: M1,
    });
    const unregistered = parse(await source.collect(`models:/${M2}`, recordingContext().ctx));
    expect(unregistered.models.map((m) => m.name)).toEqual(['churn-onnx']);
    expect(propertiesOf(logged.models[0]!, 'mlbom:mlflow:registered-as')).toEqual(['churn-xgb/1']);
  });

  it('names what it cannot find', async () => {
    const source = mlflow({ trackingUri: store });
    for (const target of [
      'models:/no-such-model/1',
      'models:/fraud-clf/9',
      'models:/fraud-clf@nope',
      `runs:/${R3}x/model`,
    ]) {
      const error = await rejection(source.collect(target, recordingContext().ctx));
      expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
      expect((error as Error).message).toContain(target);
    }
    const noServer = await rejection(mlflow().collect('models:/fraud-clf/1', recordingContext().ctx));
    expect((noServer as Error).message).toMatch(
      /models:\/fraud-clf\/1: no MLflow tracking server given \(set MLFLOW_TRACKING_URI/,
    );
  });

  it('filters the registry like MLflow search does', async () => {
    const source = mlflow({ trackingUri: store });
    const inv = parse(await source.collect("mlflow-registry:name LIKE 'fraud%'", recordingContext().ctx));
    expect(inv.models.map((m) => m.name)).toEqual(['fraud-clf', 'fraud-clf']);
    const filter = registeredModelFilter("name ILIKE '%DISTIL%' AND tags.domain = 'nlp'");
    expect(filter({ name: 'sentiment-distilbert', tags: [{ key: 'domain', value: 'nlp' }], aliases: [] })).toBe(true);
    expect(filter({ name: 'sentiment-distilbert', tags: [], aliases: [] })).toBe(false);
    expect(() => registeredModelFilter('name IN (1, 2)')).toThrow(/unsupported MLflow filter/);
  });

  it('recognises an mlruns folder and nothing else', () => {
    expect(isMlrunsStore(store)).toBe(true);
    expect(isMlrunsStore(join(store, 'models'))).toBe(false);
    expect(isMlrunsStore(join(store, '..', 'formats'))).toBe(false);
    expect(isMlrunsStore(join(store, 'no-such-dir'))).toBe(false);
  });

  describe('a broken store', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mlbom-mlflow-store-'));
      await cp(store, dir, { recursive: true });
      // One version's artifacts are gone, another's MLmodel is not YAML: the rest still comes out.
      await rm(join(dir, '3', R4, 'artifacts'), { recursive: true });
      await writeFile(join(dir, '2', R3, 'artifacts', 'model', 'MLmodel'), 'flavors: [unclosed\n');
      await writeFile(join(dir, 'models', 'churn-xgb', 'version-1', 'meta.yaml'), ': not: yaml: [');
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('lists every version, each with what went wrong', async () => {
      const { ctx } = recordingContext();
      const inv = parse(await mlflow().collect(dir, ctx));
      expect(inv.models).toHaveLength(6);
      const defect = inv.models.find((m) => m.name === 'defect-detector')!;
      expect(defect.problems.map((p) => p.code)).toContain('ARTIFACTS_UNREADABLE');
      const sentiment = inv.models.find((m) => m.name === 'sentiment-distilbert')!;
      expect(sentiment.problems.map((p) => p.code)).toContain('MLMODEL_INVALID');
      const churn = inv.models.find((m) => m.name === 'churn-xgb')!;
      expect(churn.problems.map((p) => p.code)).toEqual(['VERSION_UNREADABLE']);
      expect(inv.models.filter((m) => m.problems.length === 0).map((m) => m.name)).toEqual([
        'churn-onnx',
        'fraud-clf',
        'fraud-clf',
      ]);
    });
  });
});

describe('readMlmodelDirectory', () => {
  it('reads a local MLflow model folder as the local source would call it', async () => {
    const dir = join(store, '2', R3, 'artifacts', 'model');
    const inv = parse(await readMlmodelDirectory(dir, { key: 'local:models/sentiment' }));
    expect(inv.models).toHaveLength(1);
    const model = inv.models[0]!;
    expect(model.key).toBe('local:models/sentiment');
    expect(model.name).toBe('model');
    expect(model.files.map((f) => f.path)).toEqual([
      'MLmodel',
      'components/tokenizer/tokenizer_config.json',
      'conda.yaml',
      'model_card.md',
      'python_env.yaml',
      'requirements.txt',
    ]);
    expect(model.files.every((f) => f.sha256 !== undefined)).toBe(true);
    expect(model.card?.task).toBe('text-classification');
    expect(inv.packages.map((p) => p.key)).toEqual(
      expect.arrayContaining(['pkg:pypi/transformers@4.44.0', 'pkg:pypi/torch@2.3.1', 'pkg:generic/python@3.11.9']),
    );
    expect(inv.relations.some((r) => r.type === 'derived-from')).toBe(true);
  });

  it('throws for a folder that does not exist', async () => {
    const error = await rejection(readMlmodelDirectory(join(store, 'nope')));
    expect(isMlbomError(error) && error.code).toBe('NOT_FOUND');
  });
});
