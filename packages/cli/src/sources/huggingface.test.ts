import { describe, expect, it } from 'vitest';
import { hubCacheDir, huggingFacePlugin, tokenFilePath } from './huggingface.js';

describe('Hugging Face cache directory', () => {
  it("follows the Python client's order", () => {
    const home = { HOME: '/home/u' };
    expect(hubCacheDir(home)).toBe('/home/u/.cache/huggingface/hub');
    expect(hubCacheDir({ ...home, XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/huggingface/hub');
    expect(hubCacheDir({ ...home, XDG_CACHE_HOME: '/xdg', HF_HOME: '~/hf' })).toBe('/home/u/hf/hub');
    expect(hubCacheDir({ ...home, HF_HOME: '/hf', HUGGINGFACE_HUB_CACHE: '/legacy' })).toBe('/legacy');
    expect(hubCacheDir({ ...home, HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' })).toBe('/new');
    expect(hubCacheDir({ ...home, HF_HUB_CACHE: '  ' })).toBe('/home/u/.cache/huggingface/hub');
  });

  it("finds the login token file in the Python client's order", () => {
    const home = { HOME: '/home/u' };
    expect(tokenFilePath(home)).toBe('/home/u/.cache/huggingface/token');
    expect(tokenFilePath({ ...home, XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/huggingface/token');
    expect(tokenFilePath({ ...home, HF_HOME: '~/hf' })).toBe('/home/u/hf/token');
    expect(tokenFilePath({ ...home, HF_HOME: '/hf', HF_TOKEN_PATH: '/secrets/hf' })).toBe('/secrets/hf');
  });

  it('turns --hf-cache into a cache target, giving back a target commander took as its value', () => {
    const env = { HOME: '/home/u' };
    expect(huggingFacePlugin.impliedTargets?.({}, env)).toEqual([]);
    expect(huggingFacePlugin.impliedTargets?.({ hfCache: true }, env)).toEqual([
      'hf-cache:/home/u/.cache/huggingface/hub',
    ]);
    expect(huggingFacePlugin.impliedTargets?.({ hfCache: '/data/hub' }, env)).toEqual(['hf-cache:/data/hub']);
    expect(huggingFacePlugin.impliedTargets?.({ hfCache: 'hf://acme/x' }, env)).toEqual([
      'hf-cache:/home/u/.cache/huggingface/hub',
      'hf://acme/x',
    ]);
  });
});
