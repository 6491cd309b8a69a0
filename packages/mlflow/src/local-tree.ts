import { createHash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileByteSource, fsError, hashFile, MlbomError, type SourceContext } from '@mlbom/core';
import type { ArtifactEntry, ArtifactTree } from './types.js';
import { compare } from './util.js';

function checkRelative(path: string): void {
  if (path.split('/').some((part) => part === '..' || part === '') || path.startsWith('/')) {
    throw new MlbomError('INVALID_INPUT', `${path}: not a path inside the artifact folder`);
  }
}

/**
 * A local artifact folder (a file store's run or model artifacts, or a folder holding an `MLmodel`).
 * Symbolic links are listed but never followed.
 */
export function localTree(
  root: string,
  ctx: Pick<SourceContext, 'signal' | 'progress'>,
  location: string = root,
): ArtifactTree {
  return {
    location,
    local: true,
    async list(limit) {
      const files: ArtifactEntry[] = [];
      const walk = async (dir: string, rel: string): Promise<boolean> => {
        if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${root}: aborted`);
        let entries: import('node:fs').Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (error) {
          throw fsError(error, dir, 'list');
        }
        entries.sort((a, b) => compare(a.name, b.name));
        for (const entry of entries) {
          const childRel = rel ? `${rel}/${entry.name}` : entry.name;
          const full = join(dir, entry.name);
          if (entry.isDirectory()) {
            if (!(await walk(full, childRel))) return false;
          } else if (entry.isFile() || entry.isSymbolicLink()) {
            if (files.length >= limit) return false;
            const info = await lstat(full).catch(() => undefined);
            files.push({ path: childRel, ...(info?.isFile() ? { size: info.size } : {}) });
          }
        }
        return true;
      };
      const complete = await walk(root, '');
      return { files: files.sort((a, b) => compare(a.path, b.path)), truncated: !complete };
    },
    async readText(path, maxBytes) {
      checkRelative(path);
      const full = join(root, path);
      const info = await lstat(full).catch(() => undefined);
      if (!info) return undefined;
      if (!info.isFile()) throw new MlbomError('FILE_UNREADABLE', `${full}: not a regular file`);
      const handle = await open(full, 'r').catch((error: unknown) => {
        throw fsError(error, full);
      });
      try {
        const buffer = Buffer.alloc(Math.min(info.size, maxBytes));
        let filled = 0;
        while (filled < buffer.length) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        const sha256 =
          info.size <= maxBytes
            ? createHash('sha256').update(buffer.subarray(0, filled)).digest('hex')
            : (await hashFile(full, { signal: ctx.signal })).sha256;
        return { text: buffer.toString('utf8', 0, filled), size: info.size, sha256 };
      } catch (error) {
        if (error instanceof MlbomError) throw error;
        throw fsError(error, full);
      } finally {
        await handle.close().catch(() => {});
      }
    },
    async fetch(path, options) {
      checkRelative(path);
      const full = join(root, path);
      const info = await lstat(full).catch((error: unknown) => {
        throw fsError(error, full);
      });
      if (!info.isFile())
        throw new MlbomError('FILE_UNREADABLE', `${full}: not a regular file (links are not followed)`);
      const sha256 = options.hash
        ? (await hashFile(full, { signal: ctx.signal, onProgress: (n) => ctx.progress.advance(n) })).sha256
        : undefined;
      const bytes = await fileByteSource(full);
      const head = await bytes.read(0, 64);
      if (!options.keep) await bytes.close();
      return {
        size: info.size,
        head: new Uint8Array(head),
        ...(sha256 ? { sha256 } : {}),
        ...(options.keep ? { bytes } : {}),
        async release() {
          if (options.keep) await bytes.close().catch(() => {});
        },
      };
    },
  };
}
