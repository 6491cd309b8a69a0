import { lstat, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileByteSource, fsError, MlbomError, mapPool, type Severity } from '@mlbom/core';
import { DEFAULT_EXCLUDED_DIRS, DEFAULT_EXCLUDED_FILES } from '@mlbom/local';
import {
  type FileReport,
  renderScanJson,
  renderScanText,
  SEVERITY_RANK,
  scanIfRelevant,
  summarizeScan,
  toSarif,
  worstSeverity,
} from '@mlbom/scanner';
import { type Command, Option } from 'commander';
import { Glob } from 'glob';

/**
 * `mlbom scan PATH...`: scans model files for serialization attacks and prints the findings only
 * (text, JSON or SARIF 2.1.0). Exit 1 when a finding reaches `--fail-on`, 2 for bad usage or a
 * path that does not exist, 0 otherwise.
 */

export type FailOn = Severity | 'none';
export type ScanOutputFormat = 'text' | 'json' | 'sarif';

interface ScanFlags {
  format: ScanOutputFormat;
  failOn: FailOn;
  outputFile?: string;
  quiet: boolean;
}

const CONCURRENCY = 4;

/** Lists the files under a directory, skipping VCS, dependency and cache folders. */
async function listFiles(root: string, signal: AbortSignal | undefined): Promise<string[]> {
  const glob = new Glob('**', {
    cwd: root,
    dot: true,
    nodir: true,
    follow: false,
    absolute: false,
    posix: true,
    ...(signal ? { signal } : {}),
    ignore: {
      ignored: (p) => DEFAULT_EXCLUDED_FILES.includes(p.name),
      childrenIgnored: (p) => DEFAULT_EXCLUDED_DIRS.includes(p.name),
    },
  });
  const files: string[] = [];
  for await (const f of glob) files.push(f as string);
  return files.sort();
}

async function scanOne(
  path: string,
  absolute: string,
  signal: AbortSignal | undefined,
  warn: (message: string) => void,
): Promise<FileReport | undefined> {
  // The walk lists symbolic links as they are: one to a file is scanned (a Hugging Face cache links
  // its blobs), one to a directory is not followed, and a broken one is said so.
  const target = await stat(absolute).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && (await lstat(absolute).catch(() => undefined))?.isSymbolicLink())
      return 'broken' as const;
    throw fsError(err, path);
  });
  if (target === 'broken') {
    warn(`${path}: broken symbolic link; skipped`);
    return undefined;
  }
  if (target.isDirectory()) return undefined;
  const source = await fileByteSource(absolute);
  try {
    const result = await scanIfRelevant(source, { path, ...(signal ? { signal } : {}) });
    return result && { path, absolute, result };
  } finally {
    await source.close();
  }
}

export interface ScanCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
  version: string;
  cwd?: string;
}

/** Adds `scan` to the program; `setExitCode` receives 1 when a finding reaches the threshold. */
export function registerScanCommand(program: Command, io: ScanCommandIo, setExitCode: (code: number) => void): Command {
  return program
    .command('scan')
    .description('scan model files for code that loading them would run (pickle, PyTorch, Keras, SavedModel, GGUF...)')
    .argument('<paths...>', 'files or directories to scan')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity')
        .choices(['critical', 'high', 'medium', 'low', 'none'])
        .default('high'),
    )
    .option('-o, --output-file <file>', 'write the report to a file instead of stdout')
    .option('-q, --quiet', 'no summary on stderr', false)
    .action(async (paths: string[], flags: ScanFlags) => {
      const cwd = io.cwd ?? process.cwd();
      const targets: Array<{ path: string; absolute: string; named?: boolean }> = [];
      for (const given of paths) {
        const absolute = resolve(cwd, given);
        let info: Awaited<ReturnType<typeof stat>>;
        try {
          info = await stat(absolute);
        } catch (err) {
          throw fsError(err, given);
        }
        if (info.isDirectory()) {
          const prefix = given.replace(/[\\/]+$/, '');
          for (const f of await listFiles(absolute, io.signal)) {
            targets.push({ path: prefix === '.' ? f : `${prefix}/${f}`, absolute: resolve(absolute, f) });
          }
        } else if (info.isFile()) targets.push({ path: given, absolute, named: true });
        else throw new MlbomError('INVALID_INPUT', `${given}: not a file or directory`);
      }
      const warn = (m: string) => io.stderr.write(`mlbom: warning: ${m}\n`);
      const scanned = await mapPool(targets, CONCURRENCY, async (t) => {
        try {
          const report = await scanOne(t.path, t.absolute, io.signal, warn);
          // A file named on the command line is never left out without a word.
          if (!report && t.named)
            warn(`${t.path}: no format that can carry code (by name and first bytes); not scanned`);
          return report;
        } catch (err) {
          if (io.signal?.aborted) throw err;
          warn(err instanceof Error ? err.message : String(err));
          return undefined;
        }
      });
      const reports = scanned.filter((r): r is FileReport => r !== undefined);
      for (const r of reports) for (const p of r.result.problems) warn(`${r.path}: ${p.code}: ${p.message}`);
      const text =
        flags.format === 'json'
          ? renderScanJson(reports, io.version)
          : flags.format === 'sarif'
            ? `${JSON.stringify(toSarif(reports, io.version, cwd), null, 2)}\n`
            : renderScanText(reports);
      if (flags.outputFile) {
        try {
          await writeFile(resolve(cwd, flags.outputFile), text);
        } catch (err) {
          throw fsError(err, flags.outputFile, 'write');
        }
      } else io.stdout.write(text);
      const s = summarizeScan(reports);
      if (!flags.quiet) {
        const f = s.findings;
        io.stderr.write(
          `mlbom: scanned ${s.files} file(s): ${s.unsafe} unsafe, ${s.error} not fully analysed, ${s.clean} clean; ` +
            `findings: ${f.critical} critical, ${f.high} high, ${f.medium} medium, ${f.low} low\n`,
        );
      }
      const worst = worstSeverity(reports);
      if (flags.failOn !== 'none' && worst && SEVERITY_RANK[worst] >= SEVERITY_RANK[flags.failOn]) setExitCode(1);
    });
}
