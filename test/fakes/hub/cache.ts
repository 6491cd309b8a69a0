import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { gitBlobSha1, sha256Hex } from './content.js';
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
