import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultContext } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { artifactFormat, isModelFile } from './artifact-format.js';
import { parseMlflowUri, registryTarget } from './index.js';
import { resolveMlflowOptions } from './options.js';
import { filterLiteral, proxyPath, restBackend } from './rest.js';
import { canHandleMlflow } from './source.js';
import { store } from './test-utils.js';
import { keySegment, latestMetrics, safeUri } from './util.js';

describe('targets', () => {
  it('parses MLflow model and run URIs and the registry marker', () => {
    expect(parseMlflowUri('models:/fraud-clf/3')).toEqual({ kind: 'model-version', name: 'fraud-clf', version: '3' });
    expect(parseMlflowUri('models:/fraud clf@champion')).toEqual({
      kind: 'model-alias',
      name: 'fraud clf',
      alias: 'champion',
    });
    expect(parseMlflowUri('models:/fraud-clf/latest')).toEqual({ kind: 'model-latest', name: 'fraud-clf' });
    expect(parseMlflowUri('models:/fraud-clf/Production')).toEqual({
      kind: 'model-latest',
      name: 'fraud-clf',
      stage: 'Production',
    });
    expect(parseMlflowUri('models:/fraud-clf')).toEqual({ kind: 'model-latest', name: 'fraud-clf' });
    expect(parseMlflowUri('models:/m-5f1c0b2a9e3d4c7f')).toEqual({
      kind: 'logged-model',
      modelId: 'm-5f1c0b2a9e3d4c7f',
    });
    expect(parseMlflowUri('runs:/8f61417c/model/sub')).toEqual({
      kind: 'run-artifact',
      runId: '8f61417c',
      path: 'model/sub',
    });
    expect(parseMlflowUri("mlflow-registry:name LIKE 'fraud%'")).toEqual({
      kind: 'registry',
      filter: "name LIKE 'fraud%'",
    });
    expect(parseMlflowUri('mlflow-registry:')).toEqual({ kind: 'registry' });
    expect(registryTarget(" name = 'x' ")).toBe("mlflow-registry:name = 'x'");
    expect(parseMlflowUri('./mlruns')).toBeUndefined();
    expect(() => parseMlflowUri('models:/')).toThrow(/models:\/: not an MLflow model URI/);
    expect(() => parseMlflowUri('runs:/abc/../x')).toThrow(/not an MLflow run URI/);
  });

  it('claims MLflow URIs and mlruns folders, not other paths or URIs', () => {
    expect(canHandleMlflow('models:/x/1')).toBe(true);
    expect(canHandleMlflow('runs:/abc/model')).toBe(true);
    expect(canHandleMlflow('mlflow-registry:')).toBe(true);
    expect(canHandleMlflow('models:/')).toBe(true); // ours, to report it as malformed
    expect(canHandleMlflow(store)).toBe(true);
    expect(canHandleMlflow(pathToFileURL(store).href)).toBe(true);
    expect(canHandleMlflow(join(store, '1'))).toBe(false);
    expect(canHandleMlflow(join(store, '..', 'formats'))).toBe(false);
    expect(canHandleMlflow('.')).toBe(false);
    expect(canHandleMlflow('hf://google-bert/bert-base-uncased')).toBe(false);
    expect(canHandleMlflow('https://mlflow.example.com')).toBe(false);
    expect(canHandleMlflow('')).toBe(false);
  });
});

describe('helpers', () => {
  it('keeps credentials and signed query strings out of URIs', () => {
    expect(safeUri('https://user:pw@host/a?sig=1')).toBe('https://host/a');
    expect(safeUri('s3://bucket/key')).toBe('s3://bucket/key');
    expect(safeUri('/local/path')).toBe('/local/path');
    expect(safeUri('mlflow-artifacts:/1/run/artifacts')).toBe('mlflow-artifacts:/1/run/artifacts');
  });

  it('makes property names from MLflow keys', () => {
    expect(keySegment('optimizer/lr')).toBe('optimizer:lr');
    expect(keySegment('my param (x)')).toBe('my_param__x_');
    expect(keySegment('///')).toBe('_');
  });

  it('picks the latest metric value as MLflow does', () => {
    const latest = latestMetrics([
      { key: 'a', value: 1, step: 2, timestampMs: 10 },
      { key: 'a', value: 2, step: 1, timestampMs: 99 },
      { key: 'a', value: 3, step: 2, timestampMs: 11 },
      { key: 'b', value: Number.NaN, step: 0 },
    ]);
    expect(latest.map((m) => [m.key, m.value])).toEqual([
      ['a', 3],
      ['b', Number.NaN],
    ]);
  });

  it('quotes filter literals and reads proxy paths', () => {
    expect(filterLiteral('fraud-clf')).toBe("'fraud-clf'");
    expect(filterLiteral("it's")).toBe('"it\'s"');
    expect(proxyPath('mlflow-artifacts:/1/abc/artifacts/model')).toBe('1/abc/artifacts/model');
    expect(proxyPath('mlflow-artifacts://host:5000/1/abc')).toBe('1/abc');
    expect(proxyPath('s3://x')).toBeUndefined();
  });

  it('names artifact formats from names and first bytes', () => {
    expect(artifactFormat('data/model.pth', new Uint8Array([0x50, 0x4b, 3, 4]))).toBe('pytorch-zip');
    expect(artifactFormat('data/model.pth', new Uint8Array([0x80, 2]))).toBe('pytorch-legacy');
    expect(artifactFormat('data/model.pth')).toBe('unknown');
    expect(artifactFormat('MLmodel')).toBe('config');
    expect(artifactFormat('model.pkl')).toBe('pickle');
    expect(artifactFormat('tf/saved_model.pb')).toBe('tf-savedmodel');
    expect(isModelFile('model.pkl')).toBe(true);
    expect(isModelFile('model.ubj')).toBe(true);
    expect(isModelFile('input_example.json')).toBe(false);
    expect(artifactFormat('model.cloudpickle')).toBe('pickle');
    expect(artifactFormat('python_model.dill')).toBe('pickle');
    expect(artifactFormat('MODEL_CARD.md')).toBe('model-card');
    expect(artifactFormat('components/tokenizer/tokenizer.json')).toBe('tokenizer');
    expect(artifactFormat('model.safetensors.index.json')).toBe('safetensors-index');
    expect(artifactFormat('requirements.txt')).toBe('requirements');
    expect(artifactFormat('tf/variables/variables.data-00000-of-00001')).toBe('tf-savedmodel');
    expect(artifactFormat('conda.yaml')).toBe('config');
    expect(artifactFormat('model.xgb')).toBe('unknown');
    expect(isModelFile('python_model.cloudpickle')).toBe(true);
    expect(isModelFile('model.safetensors')).toBe(true);
    expect(isModelFile('components/tokenizer/tokenizer_config.json')).toBe(true);
    expect(isModelFile('requirements.txt')).toBe(false);
  });

  it('hashes a REST text artifact only when it was read whole', async () => {
    const body = 'x'.repeat(2000);
    const fetch = (async () => new Response(body, { status: 200 })) as typeof globalThis.fetch;
    const backend = restBackend({
      trackingUri: 'http://mlflow.invalid',
      options: resolveMlflowOptions({ retries: 0 }),
      ctx: defaultContext({ fetch }),
      tempDir: async () => tmpdir(),
    });
    const tree = backend.runArtifacts({ runId: 'r1', params: [], metrics: [], tags: [], datasetInputs: [] }, 'model');
    const whole = await tree.readText('requirements.txt', 4000);
    expect(whole).toEqual({ text: body, size: 2000, sha256: createHash('sha256').update(body).digest('hex') });
    const prefix = await tree.readText('requirements.txt', 1000);
    expect(prefix?.size).toBe(2000);
    expect(prefix?.text).toBe(body.slice(0, 1000));
    expect(prefix?.sha256).toBeUndefined();
  });

  it('validates options without echoing secrets', () => {
    expect(resolveMlflowOptions({ username: 'u', password: 'p', token: 't' }).auth).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(resolveMlflowOptions({ username: 'u', token: 't' }).auth).toEqual({ kind: 'bearer', token: 't' });
    expect(() => resolveMlflowOptions({ concurrency: 0 })).toThrow(/mlflow source: invalid concurrency/);
    expect(() => resolveMlflowOptions({ password: 123 } as never)).toThrow(/invalid password/);
    expect(() => resolveMlflowOptions({ password: 123 } as never)).not.toThrow(/123/);
  });
});
