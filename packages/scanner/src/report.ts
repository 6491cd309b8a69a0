import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Severity } from '@mlbom/core';
import type * as Sarif from 'sarif';
import { RULES, type RuleId } from './rules.js';
import type { ScanResult } from './scan.js';

/** One scanned file, as a report lists it. */
export interface FileReport {
  /** As given on the command line or relative to the directory given. */
  path: string;
  /** Absolute path. */
  absolute: string;
  result: ScanResult;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
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
export function worstSeverity(reports: FileReport[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const r of reports) {
    for (const f of r.result.findings) {
      if (!worst || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
    }
  }
  return worst;
}

export function renderScanText(reports: FileReport[]): string {
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

export function renderScanJson(reports: FileReport[], version: string): string {
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
      summary: summarizeScan(reports),
    },
    null,
    2,
  )}\n`;
}

export function summarizeScan(reports: FileReport[]) {
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
export function toSarif(reports: FileReport[], version: string, cwd: string): Sarif.Log {
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
