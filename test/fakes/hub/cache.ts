import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesContent, fakeCommit, gitBlobSha1, sha256Hex, textContent } from './content.js';
import type { FakeRepo } from './server.js';

/**
 * Writes repos into a Hugging Face cache layout, as the Python client does: `blobs/` named by
 * sha256 (LFS) or git sha1, `snapshots/<commit>/<path>` as relative symlinks into `blobs/`,
 * `refs/<name>` holding the commit, plus `.locks` and `.no_exist` folders the walker must skip.
 * Files larger than 1 MiB (the generated multi-GB shards) are not written.
 */
export async function writeFakeCache(cacheDir: string, repos: FakeRepo[], options: { missingBlob?: string } = {}) {
  await mkdir(join(cacheDir, '.locks'), { recursive: true });
  for (const repo of repos) {
    const folder = `${repo.type === 'model' ? 'models' : 'datasets'}--${repo.id.replace('/', '--')}`;
    const repoDir = join(cacheDir, folder);
    const commit = repo.refs.main as string;
    await mkdir(join(repoDir, 'blobs'), { recursive: true });
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), commit);
    await mkdir(join(repoDir, '.no_exist', commit), { recursive: true });
    await writeFile(join(repoDir, '.no_exist', commit, 'adapter_config.json'), '');
    for (const file of repo.files) {
      if (file.content.size > 1024 * 1024) continue;
      const bytes = file.content.read(0, file.content.size);
      const blobName = file.lfs ? (file.sha256 ?? sha256Hex(bytes)) : gitBlobSha1(bytes);
      const blob = join(repoDir, 'blobs', blobName);
      if (options.missingBlob !== `${repo.id}/${file.path}`) await writeFile(blob, bytes);
      const link = join(repoDir, 'snapshots', commit, file.path);
      await mkdir(dirname(link), { recursive: true });
      await symlink(relative(dirname(link), blob), link);
    }
  }
}

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
const fixtureBytes = (path: string) => bytesContent(new Uint8Array(readFileSync(join(fixtures, path))));

/** Commit of the cache-only repo {@link poisonedCacheRepo}. */
export const POISONED_COMMIT = fakeCommit('acme/poisoned-cache');

/**
 * A model that exists only in a local cache (never on the fake hub): a PyTorch zip whose pickle runs
 * `posix.system` when loaded (the scanner's `torch_zip_payload.pt`) as `pytorch_model.bin`, a benign
 * safetensors file and a benign PyTorch checkpoint, all LFS blobs.
 */
export function poisonedCacheRepo(): FakeRepo {
  return {
    type: 'model',
    id: 'acme/poisoned-cache',
    refs: { main: POISONED_COMMIT },
    info: {},
    files: [
      { path: 'README.md', content: textContent('---\nlicense: mit\n---\n# poisoned\n') },
      { path: 'pytorch_model.bin', content: fixtureBytes('scanner/malicious/torch_zip_payload.pt'), lfs: true },
      { path: 'model.safetensors', content: fixtureBytes('formats/model.safetensors'), lfs: true },
      { path: 'training_args.pt', content: fixtureBytes('formats/model.pt'), lfs: true },
      {
        // A chat template that escapes the Jinja sandbox (harmless payload): template injection.
        path: 'tokenizer_config.json',
        content: textContent(
          JSON.stringify({ chat_template: "{{ cycler.__init__.__globals__.os.popen('echo pwned').read() }}" }),
        ),
      },
    ],
  };
}
