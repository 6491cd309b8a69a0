import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hubCacheLayout } from './cache.js';
import { localDirIdentity, parseDownloadMetadata, readLocalDirDownload } from './local-dir.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlbom-hf-local-dir-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const commit = 'ab'.repeat(20);
const sha = 'cd'.repeat(32);

describe('hf download --local-dir metadata', () => {
  it('parses the three lines, unquoting the ETag, and refuses what is not one', () => {
    expect(parseDownloadMetadata('m.bin', `${commit}\n"${sha}"\n1732500000.25\n`)).toEqual({
      path: 'm.bin',
      commit,
      etag: sha,
      timestamp: 1732500000.25,
    });
    expect(parseDownloadMetadata('c.json', `${commit.toUpperCase()}\r\nW/"${'e'.repeat(40)}"\r\n`)).toEqual({
      path: 'c.json',
      commit,
      etag: 'e'.repeat(40),
    });
    expect(parseDownloadMetadata('x', 'main\nabc\n1\n')).toBeUndefined();
    expect(parseDownloadMetadata('x', `${commit}\nnot-an-etag\n1\n`)).toBeUndefined();
    expect(parseDownloadMetadata('x', '')).toBeUndefined();
  });

  it('reads nested metadata, picking the commit most files were downloaded at', async () => {
    const dir = await tempDir();
    const meta = join(dir, '.cache', 'huggingface', 'download');
    await mkdir(join(meta, 'onnx'), { recursive: true });
    const other = 'ef'.repeat(20);
    await writeFile(join(meta, 'a.json.metadata'), `${commit}\n${'1'.repeat(40)}\n1\n`);
    await writeFile(join(meta, 'onnx', 'model.onnx.metadata'), `${commit}\n${sha}\n2\n`);
    await writeFile(join(meta, 'b.json.metadata'), `${other}\n${'2'.repeat(40)}\n3\n`);
    await writeFile(join(meta, 'broken.metadata'), 'garbage');
    await writeFile(join(meta, 'b.json.lock'), '');
    const download = await readLocalDirDownload(dir);
    expect(download?.commit).toBe(commit);
    expect(download?.otherCommits).toEqual([other]);
    expect([...(download?.files.keys() ?? [])].sort()).toEqual(['a.json', 'b.json', 'onnx/model.onnx']);
    expect(await readLocalDirDownload(join(dir, 'nowhere'))).toBeUndefined();
  });

  it('takes the repo id from the card only when it reads org/name', () => {
    const download = { commit, otherCommits: [], files: new Map() };
    expect(localDirIdentity(download, 'acme/tiny')).toEqual({
      group: 'acme',
      name: 'tiny',
      revision: commit,
      purl: `pkg:huggingface/acme/tiny@${commit}`,
    });
    for (const name of [undefined, '', 'tiny', 'My fine-tuned model', 'a/b/c', '../x']) {
      expect(localDirIdentity(download, name)).toBeUndefined();
    }
  });
});

describe('Hub cache layout', () => {
  it('recognises a cache, a repo folder and a snapshot by their names, and nothing else', async () => {
    const cache = await tempDir();
    const snapshot = join(cache, 'models--acme--x', 'snapshots', commit);
    await mkdir(snapshot, { recursive: true });
    await mkdir(join(cache, 'datasets--acme--d', 'snapshots'), { recursive: true });
    await mkdir(join(cache, '.locks'));
    await writeFile(join(cache, 'version.txt'), '1');
    expect(await hubCacheLayout(cache)).toEqual({ kind: 'cache' });
    expect(await hubCacheLayout(join(cache, 'models--acme--x'))).toEqual({ kind: 'repo', type: 'model', id: 'acme/x' });
    expect(await hubCacheLayout(snapshot)).toEqual({ kind: 'snapshot', type: 'model', id: 'acme/x', commit });
    expect(await hubCacheLayout(join(cache, 'models--acme--x', 'snapshots'))).toBeUndefined();
    await symlink(snapshot, join(cache, 'link'));
    await writeFile(join(cache, 'notes.txt'), 'x');
    expect(await hubCacheLayout(cache)).toBeUndefined();
    await mkdir(join(cache, 'models--acme--nosnap'));
    expect(await hubCacheLayout(join(cache, 'models--acme--nosnap'))).toBeUndefined();

    // An unfinished download (a repo folder with no snapshots/) beside a complete one is still a cache.
    const other = await tempDir();
    await mkdir(join(other, 'models--acme--x', 'snapshots', commit), { recursive: true });
    await mkdir(join(other, 'models--acme--partial', 'blobs'), { recursive: true });
    expect(await hubCacheLayout(other)).toEqual({ kind: 'cache' });
    await rm(join(other, 'models--acme--x'), { recursive: true });
    expect(await hubCacheLayout(other)).toBeUndefined();
  });
});
