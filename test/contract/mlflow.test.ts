import { join } from 'node:path';
import { mlflow } from '@mlbom/mlflow';
import { afterAll } from 'vitest';
import { repoRoot } from '../cli.js';
import { fixtureStore, startFakeMlflow } from '../fakes/mlflow/server.js';
import { testSource } from './source-contract.js';

const fake = await startFakeMlflow();
afterAll(() => fake.close());

testSource('mlflow (tracking server)', () => mlflow({ trackingUri: fake.url }), {
  goodTarget: () => 'mlflow-registry:',
  badTarget: () => 'models:/no-such-model/1',
  foreignTarget: 'hf://google-bert/bert-base-uncased',
});

testSource('mlflow (mlruns file store)', () => mlflow(), {
  goodTarget: () => fixtureStore,
  badTarget: () => join(repoRoot, 'no-such-dir', 'mlruns'),
  // A plain folder of models is the local source's.
  foreignTarget: join(repoRoot, 'examples'),
});
