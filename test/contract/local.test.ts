import { join } from 'node:path';
import { local } from '@mlbom/local';
import { repoRoot } from '../cli.js';
import { testSource } from './source-contract.js';

testSource('local', () => local(), {
  goodTarget: () => join(repoRoot, 'examples'),
  badTarget: () => join(repoRoot, 'no-such-dir'),
  foreignTarget: 'hf://google-bert/bert-base-uncased',
});
