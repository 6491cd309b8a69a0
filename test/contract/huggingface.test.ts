import { huggingface } from '@mlbom/huggingface';
import { afterAll } from 'vitest';
import { hubFixtures, startFakeHub } from '../fakes/hub/index.js';
import { testSource } from './source-contract.js';

const hub = await startFakeHub({ repos: hubFixtures() });
afterAll(() => hub.close());

testSource('huggingface', () => huggingface({ hubUrl: hub.url }), {
  goodTarget: () => 'hf://acme/chat-ft',
  badTarget: () => 'hf://acme/no-such-model',
  foreignTarget: 'models/bert',
});
