import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Severity } from '@mlbom/core';
import { describe, expect, it } from 'vitest';
import { type ScanResult, scanFile } from './scan.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const corpus = join(repo, 'test', 'fixtures', 'scanner');
const formats = join(repo, 'test', 'fixtures', 'formats');

interface Label {
  expected: 'benign' | 'malicious' | 'malformed';
  technique: string;
  minSeverity?: Severity;
  ref?: string;
}

const rank: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

function worst(result: ScanResult): Severity | undefined {
  return result.findings.reduce<Severity | undefined>(
    (w, f) => (!w || rank[f.severity] > rank[w] ? f.severity : w),
    undefined,
  );
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

describe('labelled corpus (test/fixtures/scanner/labels.json)', async () => {
  const labels = JSON.parse(await readFile(join(corpus, 'labels.json'), 'utf8')) as Record<string, Label>;
  const results = new Map<string, ScanResult>();
  for (const file of Object.keys(labels)) results.set(file, await scanFile(join(corpus, file), { path: file }));

  it('prints the detection table', () => {
    const rows = Object.entries(labels).map(([file, l]) => {
      const r = results.get(file) as ScanResult;
      const got = worst(r) ?? 'none';
      const rules = [...new Set(r.findings.map((f) => f.ruleId.replace(/^MLBOM-/, '')))].join(',');
      return `| ${file} | ${l.technique}${l.ref ? ` (${l.ref})` : ''} | ${l.expected}${l.minSeverity ? ` >= ${l.minSeverity}` : ''} | ${r.status} ${got} | ${rules} |`;
    });
    console.log(
      ['| file | technique | expected | got | rules |', '| --- | --- | --- | --- | --- |', ...rows].join('\n'),
    );
    expect(rows.length).toBe(Object.keys(labels).length);
  });

  it('finds nothing in benign framework files', () => {
    const benign = Object.entries(labels).filter(([, l]) => l.expected === 'benign');
    expect(benign.length).toBeGreaterThanOrEqual(20);
    for (const [file] of benign) {
      const r = results.get(file) as ScanResult;
      expect({ file, findings: r.findings, status: r.status }).toEqual({ file, findings: [], status: 'clean' });
    }
  });

  it('flags every malicious file at HIGH or above (and at its labelled minimum)', () => {
    const malicious = Object.entries(labels).filter(([, l]) => l.expected === 'malicious');
    expect(malicious.length).toBeGreaterThanOrEqual(60);
    for (const [file, l] of malicious) {
      const r = results.get(file) as ScanResult;
      const w = worst(r);
      expect({ file, status: r.status }).toEqual({ file, status: 'unsafe' });
      expect({ file, ok: w !== undefined && rank[w] >= rank.high && rank[w] >= rank[l.minSeverity ?? 'high'] }).toEqual(
        { file, ok: true },
      );
    }
  });

  it('reports malformed files as not fully analysed, never clean', () => {
    for (const [file, l] of Object.entries(labels).filter(([, x]) => x.expected === 'malformed')) {
      const r = results.get(file) as ScanResult;
      expect({ file, status: r.status }).toEqual({ file, status: 'error' });
      expect(rank[worst(r) ?? 'info']).toBeGreaterThanOrEqual(rank[l.minSeverity ?? 'medium']);
    }
  });

  it('reads only what it needs', () => {
    for (const [file, r] of results) expect({ file, within: r.bytesRead <= 200_000 }).toEqual({ file, within: true });
  });
});

describe('format fixtures (test/fixtures/formats)', () => {
  it('are clean, except the pickle named .safetensors', async () => {
    for (const path of await walk(formats)) {
      const rel = path.slice(formats.length + 1);
      const r = await scanFile(path, { path: rel });
      if (rel === 'fake.safetensors') {
        expect(r.findings.map((f) => f.ruleId)).toEqual(['MLBOM-FORMAT-MISMATCH']);
      } else expect({ rel, findings: r.findings }).toEqual({ rel, findings: [] });
    }
  });
});
