import { stat, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileByteSource, fsError, MlbomError, mapPool, type Severity } from '@mlbom/core';
import { DEFAULT_EXCLUDED_DIRS, DEFAULT_EXCLUDED_FILES } from '@mlbom/local';
import { RULES, type RuleId, type ScanResult, scan, shouldScan } from '@mlbom/scanner';
import { type Command, Option } from 'commander';
import { Glob } from 'glob';
import type * as Sarif from 'sarif';

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

interface FileReport {
  /** As given on the command line or relative to the directory given. */
  path: string;
  /** Absolute path. */
  absolute: string;
  result: ScanResult;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
const SEVERITY_LEVEL: Record<Severity, Sarif.ReportingConfiguration.level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};
/** GitHub code scanning's `security-severity` scale (CVSS-like). */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};
const HEAD_BYTES = 512;
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
): Promise<FileReport | undefined> {
  const source = await fileByteSource(absolute);
  try {
    const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
    if (!shouldScan(path, head)) return undefined;
    const result = await scan(source, { path, ...(signal ? { signal } : {}) });
    return { path, absolute, result };
  } finally {
    await source.close();
  }
}

function worstSeverity(reports: FileReport[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const r of reports) {
    for (const f of r.result.findings) {
      if (!worst || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
    }
  }
  return worst;
}

function textReport(reports: FileReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (r.result.findings.length === 0) continue;
    lines.push(`${r.path}: ${r.result.status} (${r.result.format})`);
    for (const f of r.result.findings) {
      lines.push(`  ${f.severity.toUpperCase().padEnd(8)} ${f.ruleId}  ${f.title}`);
      lines.push(`           ${f.detail}${f.location ? ` [at ${f.location}]` : ''}`);
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function jsonReport(reports: FileReport[], version: string): string {
  return `${JSON.stringify(
    {
      tool: { name: 'mlbom', version },
      files: reports.map((r) => ({
        path: r.path,
        status: r.result.status,
        format: r.result.format,
        bytesRead: r.result.bytesRead,
        findings: r.result.findings,
        problems: r.result.problems,
      })),
      summary: summary(reports),
    },
    null,
    2,
  )}\n`;
}

function summary(reports: FileReport[]) {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const r of reports) for (const f of r.result.findings) bySeverity[f.severity]++;
  return {
    files: reports.length,
    unsafe: reports.filter((r) => r.result.status === 'unsafe').length,
    error: reports.filter((r) => r.result.status === 'error').length,
    clean: reports.filter((r) => r.result.status === 'clean').length,
    findings: bySeverity,
  };
}

function ruleName(id: string): string {
  return id
    .replace(/^MLBOM-/, '')
    .toLowerCase()
    .split('-')
    .map((w) => (w[0]?.toUpperCase() ?? '') + w.slice(1))
    .join('');
}

function artifactUri(report: FileReport, cwd: string): string {
  const rel = relative(cwd, report.absolute);
  if (!rel.startsWith('..') && !isAbsolute(rel)) return encodeURI(rel.split(sep).join('/'));
  return pathToFileURL(report.absolute).href;
}

/** SARIF 2.1.0: one run, every rule the scanner knows, one result per finding. */
export function sarifReport(reports: FileReport[], version: string, cwd: string): Sarif.Log {
  const ruleIds = Object.keys(RULES) as RuleId[];
  const rules: Sarif.ReportingDescriptor[] = ruleIds.map((id) => {
    const rule = RULES[id];
    return {
      id,
      name: ruleName(id),
      shortDescription: { text: rule.title },
      fullDescription: { text: `${rule.title} (default severity: ${rule.severity}). See docs/taxonomy.md.` },
      defaultConfiguration: { level: SEVERITY_LEVEL[rule.severity] },
      help: { text: 'Do not load this file before reviewing the finding; prefer safetensors or GGUF for weights.' },
      properties: {
        tags: ['security', 'machine-learning', 'supply-chain'],
        'security-severity': SECURITY_SEVERITY[rule.severity],
        precision: 'high',
      },
    };
  });
  const results: Sarif.Result[] = [];
  for (const r of reports) {
    for (const f of r.result.findings) {
      const ruleIndex = ruleIds.indexOf(f.ruleId as RuleId);
      results.push({
        ruleId: f.ruleId,
        ...(ruleIndex >= 0 ? { ruleIndex } : {}),
        level: SEVERITY_LEVEL[f.severity],
        message: { text: `${f.title}: ${f.detail}` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: artifactUri(r, cwd), uriBaseId: '%SRCROOT%' } },
            ...(f.location ? { logicalLocations: [{ fullyQualifiedName: f.location, kind: 'member' }] } : {}),
          },
        ],
        partialFingerprints: { 'mlbomFinding/v1': `${f.ruleId}:${r.path}:${f.location ?? ''}` },
        properties: {
          severity: f.severity,
          'security-severity': SECURITY_SEVERITY[f.severity],
          scanStatus: r.result.status,
        },
      });
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'mlbom', version, semanticVersion: version, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : `${cwd}${sep}`).href } },
        results,
        invocations: [{ executionSuccessful: true }],
      },
    ],
  };
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
      const targets: Array<{ path: string; absolute: string }> = [];
      for (const given of paths) {
        const absolute = resolve(cwd, given);
        let info: Awaited<ReturnType<typeof stat>>;
        try {
          info = await stat(absolute);
        } catch (err) {
          throw fsError(err, given);
        }
        if (info.isDirectory()) {
          for (const f of await listFiles(absolute, io.signal)) {
            const prefix = given.replace(/[\\/]+$/, '');
            targets.push({ path: prefix === '.' ? f : `${prefix}/${f}`, absolute: resolve(absolute, f) });
          }
        } else if (info.isFile()) targets.push({ path: given, absolute });
        else throw new MlbomError('INVALID_INPUT', `${given}: not a file or directory`);
      }
      const warn = (m: string) => io.stderr.write(`mlbom: warning: ${m}\n`);
      const scanned = await mapPool(targets, CONCURRENCY, async (t) => {
        try {
          return await scanOne(t.path, t.absolute, io.signal);
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
          ? jsonReport(reports, io.version)
          : flags.format === 'sarif'
            ? `${JSON.stringify(sarifReport(reports, io.version, cwd), null, 2)}\n`
            : textReport(reports);
      if (flags.outputFile) {
        try {
          await writeFile(resolve(cwd, flags.outputFile), text);
        } catch (err) {
          throw fsError(err, flags.outputFile, 'write');
        }
      } else io.stdout.write(text);
      const s = summary(reports);
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
