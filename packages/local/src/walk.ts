import * as fs from 'node:fs';
import { existsSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { abortedError, type Logger, MlbomError, type Problem } from '@mlbom/core';
import { Glob, Ignore, type Path } from 'glob';

/** Directory names never descended into. */
export const DEFAULT_EXCLUDED_DIRS: readonly string[] = [
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
  '.nox',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  '.ipynb_checkpoints',
];
/**
 * Multi-segment paths never descended into (matched at any depth): what `hf download --local-dir`
 * keeps beside the files (download metadata, Xet chunks, locks, a `.gitignore`), and cache locks.
 */
export const DEFAULT_EXCLUDED_PATHS: readonly string[] = ['.cache/huggingface', '.locks'];
/** File names never listed. */
export const DEFAULT_EXCLUDED_FILES: readonly string[] = ['.DS_Store', 'Thumbs.db'];

export interface WalkedFile {
  /** Path relative to the scan root, with forward slashes. */
  rel: string;
  /** The path to open: the file itself, or for a symlink the file it resolves to. */
  open: string;
  /** For a symlink inside the root: its target relative to the root (posix). */
  symlinkTarget?: string | undefined;
  /** Why the file cannot be read at all (dangling symlink, loop, link leaving the root). */
  problem?: Problem | undefined;
  /** False when `include` patterns were given and the file matches none (still used to group models). */
  included: boolean;
}

export interface WalkOptions {
  include: string[];
  exclude: string[];
  maxFileCount: number;
  signal: AbortSignal;
  logger: Logger;
}

export interface WalkResult {
  files: WalkedFile[];
  /** Problems not tied to one file (a directory that could not be listed, a link leaving the root). */
  problems: Problem[];
}

/**
 * Gitignore-like expansion: a pattern without `/` matches a name at any depth, and a pattern that
 * matches a directory matches everything below it.
 */
function expandPatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    if (pattern === '') continue;
    const bases = pattern.includes('/') ? [pattern.replace(/^\//, '')] : [pattern, `**/${pattern}`];
    for (const base of bases) out.push(base, `${base}/**`);
  }
  return out;
}

function matcher(patterns: readonly string[]): Ignore | undefined {
  if (patterns.length === 0) return undefined;
  return new Ignore(expandPatterns(patterns), { dot: true, platform: process.platform });
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function isInside(child: string, root: string): boolean {
  return child === root || child.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** A virtualenv or conda environment: never part of a model. */
function isEnvironment(dir: string): boolean {
  return existsSync(join(dir, 'pyvenv.cfg')) || existsSync(join(dir, 'conda-meta', 'history'));
}

/**
 * Lists the files under `root` (which must be a readable directory), never following directory
 * symlinks; a file symlink is kept only when it resolves inside the root.
 */
export async function walk(root: string, rootReal: string, options: WalkOptions): Promise<WalkResult> {
  const { logger, signal } = options;
  const problems: Problem[] = [];
  const user = matcher(options.exclude);
  const include = matcher(options.include);
  const excludedPaths = DEFAULT_EXCLUDED_PATHS.map((p) => `/${p}`);

  const ignore = {
    ignored(p: Path): boolean {
      if (DEFAULT_EXCLUDED_FILES.includes(p.name)) return true;
      return user?.ignored(p) ?? false;
    },
    childrenIgnored(p: Path): boolean {
      const relPosix = p.relativePosix();
      if (relPosix === '') return false; // the root itself was asked for explicitly
      if (DEFAULT_EXCLUDED_DIRS.includes(p.name)) return true;
      const rel = `/${relPosix}`;
      if (excludedPaths.some((x) => rel.endsWith(x))) return true;
      if (user?.childrenIgnored(p) || user?.ignored(p)) return true;
      return isEnvironment(p.fullpath());
    },
  };

  // path-scurry swallows readdir errors; wrap readdir to report directories that cannot be listed.
  const reportReaddir = (path: string, error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return;
    const subject = toPosix(relative(root, path)) || '.';
    logger.warn(`${path}: cannot list directory (${error.code ?? error.message}); its files are not in the BOM`);
    problems.push({
      code: error.code === 'EACCES' || error.code === 'EPERM' ? 'PERMISSION_DENIED' : 'FILE_UNREADABLE',
      message: `cannot list directory (${error.code ?? error.message})`,
      subject,
    });
  };
  const fsOverride = {
    readdir: (
      path: string,
      opts: { withFileTypes: true },
      cb: (er: NodeJS.ErrnoException | null, entries?: fs.Dirent[]) => unknown,
    ) => {
      fs.readdir(path, opts, (er, entries) => {
        if (er) reportReaddir(path, er);
        cb(er, entries);
      });
    },
  };

  const glob = new Glob('**', {
    cwd: root,
    dot: true,
    follow: false,
    withFileTypes: true,
    ignore,
    signal,
    fs: fsOverride,
  });

  const files: WalkedFile[] = [];
  const symlinks: Path[] = [];
  try {
    for await (const p of glob) {
      if (p.isFile()) {
        files.push({ rel: p.relativePosix(), open: p.fullpath(), included: include?.ignored(p) ?? true });
      } else if (p.isSymbolicLink()) {
        symlinks.push(p);
      } else continue;
      if (files.length + symlinks.length > options.maxFileCount) {
        throw new MlbomError(
          'INVALID_INPUT',
          `${root}: more than ${options.maxFileCount} files; narrow the scan with include/exclude or raise maxFileCount`,
        );
      }
    }
  } catch (error) {
    if (error instanceof MlbomError) throw error;
    if (signal.aborted) throw abortedError(root, signal);
    throw new MlbomError('FILE_UNREADABLE', `${root}: cannot walk the directory (${String(error)})`, { cause: error });
  }
  if (signal.aborted) throw abortedError(root, signal);

  for (const p of symlinks) {
    const rel = p.relativePosix();
    const included = include?.ignored(p) ?? true;
    let target: string;
    try {
      target = await realpath(p.fullpath());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      files.push({
        rel,
        open: p.fullpath(),
        included,
        problem: {
          code: 'FILE_UNREADABLE',
          message: code === 'ELOOP' ? 'symbolic link loop' : `symbolic link cannot be resolved (${code})`,
          subject: rel,
        },
      });
      continue;
    }
    if (!isInside(target, rootReal)) {
      files.push({
        rel,
        open: p.fullpath(),
        included,
        problem: {
          code: 'SYMLINK_OUTSIDE_ROOT',
          message:
            'symbolic link leads outside the scanned directory; not followed (scan the directory it points into)',
          subject: rel,
        },
      });
      continue;
    }
    const stat = await lstat(target).catch(() => undefined);
    if (stat?.isDirectory()) {
      logger.debug(`${p.fullpath()}: symbolic link to a directory; not followed`);
      continue;
    }
    if (!stat?.isFile()) {
      logger.debug(`${p.fullpath()}: symbolic link to something that is not a regular file; skipped`);
      continue;
    }
    files.push({ rel, open: target, included, symlinkTarget: toPosix(relative(rootReal, target)) });
  }

  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, problems };
}
