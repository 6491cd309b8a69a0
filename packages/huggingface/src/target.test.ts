import { describe, expect, it } from 'vitest';
import { canHandleTarget, isRepoId, modelPurl, parseTarget } from './target.js';

describe('parseTarget', () => {
  it('reads org models, legacy ids, datasets and revisions', () => {
    expect(parseTarget('hf://acme/chat-ft')).toEqual({ kind: 'repo', type: 'model', id: 'acme/chat-ft' });
    expect(parseTarget('hf://bert-base-uncased')).toEqual({ kind: 'repo', type: 'model', id: 'bert-base-uncased' });
    expect(parseTarget('hf://acme/chat-ft@v1.0')).toEqual({
      kind: 'repo',
      type: 'model',
      id: 'acme/chat-ft',
      revision: 'v1.0',
    });
    expect(parseTarget('hf://datasets/acme/reviews@main')).toEqual({
      kind: 'repo',
      type: 'dataset',
      id: 'acme/reviews',
      revision: 'main',
    });
    expect(parseTarget('hf://models/acme/x')).toMatchObject({ type: 'model', id: 'acme/x' });
    expect(parseTarget('hf://acme/x@refs%2Fpr%2F1')).toMatchObject({ revision: 'refs/pr/1' });
    expect(parseTarget('hf-cache:/tmp/hub')).toEqual({ kind: 'cache', dir: '/tmp/hub' });
  });

  it.each([
    'hf://',
    'hf://a/b/c',
    'hf://a--b/c',
    'hf://-bad/name',
    'hf://a/b@',
    'hf://a/b@x y',
    'hf://spaces/a/b',
    'hf-cache:',
    './models',
  ])('rejects %s naming it', (target) => {
    expect(() => parseTarget(target)).toThrow(target);
  });

  it('claims hf:// and hf-cache: targets only', () => {
    expect(canHandleTarget('hf://acme/x')).toBe(true);
    expect(canHandleTarget('hf-cache:/x')).toBe(true);
    expect(canHandleTarget('models/hf')).toBe(false);
    expect(canHandleTarget('models:/fraud/1')).toBe(false);
  });
});

describe('modelPurl', () => {
  it('uses the full lowercase commit and no namespace for legacy ids', () => {
    const commit = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';
    expect(modelPurl('acme/chat-ft', commit)).toBe(`pkg:huggingface/acme/chat-ft@${commit.toLowerCase()}`);
    expect(modelPurl('bert-base-uncased', commit)).toBe(`pkg:huggingface/bert-base-uncased@${commit.toLowerCase()}`);
    expect(modelPurl('acme/x')).toBe('pkg:huggingface/acme/x');
  });

  it('knows repo ids', () => {
    expect(isRepoId('gpt2')).toBe(true);
    expect(isRepoId('a/b.c_d-e')).toBe(true);
    expect(isRepoId('a/b/c')).toBe(false);
    expect(isRepoId('../x')).toBe(false);
  });
});
