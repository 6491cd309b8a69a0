import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli, withTempDir } from '../cli.js';

const corpus = join(repoRoot, 'test', 'fixtures', 'scanner');
const fixture = (rel: string) => join(corpus, rel);

interface Label {
  expected: 'benign' | 'malicious' | 'malformed';
}

interface SarifLog {
  $schema: string;
  version: string;
  runs: Array<{
    tool: {
      driver: {
        name: string;
        version: string;
        rules: Array<{
          id: string;
          name: string;
          shortDescription: { text: string };
          defaultConfiguration: { level: string };
          properties: Record<string, unknown>;
        }>;
      };
    };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string } } }>;
    }>;
    originalUriBaseIds?: Record<string, { uri: string }>;
  }>;
}

describe('mlbom scan', () => {
  it('prints the findings of a malicious pickle and exits 1', async () => {
    const run = await runCli(['scan', fixture('malicious/os_system_p0.pkl')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('MLBOM-PICKLE-CRITICAL-GLOBAL');
    expect(run.stdout).toContain("os.system('echo pwned')");
    expect(run.stderr).toMatch(/scanned 1 file\(s\): 1 unsafe/);
  });

  it('says so when a file named on the command line is not scanned', async () => {
    const run = await runCli(['scan', 'README.md', fixture('malicious/os_system_p0.pkl')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('README.md: no format that can carry code (by name and first bytes); not scanned');
    expect(run.stdout).not.toContain('README.md');
  });

  it('prints nothing and exits 0 on benign framework files', async () => {
    const run = await runCli(['scan', fixture('benign'), join(repoRoot, 'examples')]);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(0);
  });

  it('gates on --fail-on', async () => {
    const high = fixture('malicious/webbrowser_open.pkl');
    expect((await runCli(['scan', high])).code).toBe(1);
    expect((await runCli(['scan', '--fail-on', 'critical', high])).code).toBe(0);
    expect((await runCli(['scan', '--fail-on', 'none', fixture('malicious/os_system_p0.pkl')])).code).toBe(0);
    expect((await runCli(['scan', '--fail-on', 'medium', fixture('malformed/truncated.pkl')])).code).toBe(1);
  });

  it('exits 2 for bad usage and missing paths', async () => {
    expect((await runCli(['scan'])).code).toBe(2);
    expect((await runCli(['scan', '--format', 'xml', corpus])).code).toBe(2);
    expect((await runCli(['scan', '--fail-on', 'severe', corpus])).code).toBe(2);
    const missing = await runCli(['scan', join(corpus, 'does-not-exist.pkl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  });

  it('writes JSON covering the whole corpus, with every label honoured', async () => {
    const labels = JSON.parse(await readFile(join(corpus, 'labels.json'), 'utf8')) as Record<string, Label>;
    const run = await runCli(['scan', '--format', 'json', '.'], { cwd: corpus });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      files: Array<{ path: string; status: string; findings: Array<{ severity: string }> }>;
      summary: { files: number };
    };
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    for (const [file, label] of Object.entries(labels)) {
      const got = byPath.get(file);
      expect({ file, scanned: got !== undefined }).toEqual({ file, scanned: true });
      if (label.expected === 'benign') expect({ file, status: got?.status }).toEqual({ file, status: 'clean' });
      if (label.expected === 'malicious') expect({ file, status: got?.status }).toEqual({ file, status: 'unsafe' });
      if (label.expected === 'malformed') expect({ file, status: got?.status }).toEqual({ file, status: 'error' });
    }
    expect(report.summary.files).toBe(Object.keys(labels).length);
  });

  it('writes valid SARIF 2.1.0 (to a file with -o)', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'scan.sarif');
      const run = await runCli(['scan', '--format', 'sarif', '-o', out, 'malicious'], { cwd: corpus });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      const log = JSON.parse(await readFile(out, 'utf8')) as SarifLog;
      expect(log.version).toBe('2.1.0');
      expect(log.$schema).toMatch(/sarif-2\.1\.0/);
      expect(log.runs).toHaveLength(1);
      const runLog = log.runs[0] as SarifLog['runs'][number];
      const rules = runLog.tool.driver.rules;
      expect(runLog.tool.driver.name).toBe('mlbom');
      expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
      for (const rule of rules) {
        expect(rule.id).toMatch(/^MLBOM-[A-Z0-9-]+$/);
        expect(rule.name).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(rule.shortDescription.text.length).toBeGreaterThan(0);
        expect(['error', 'warning', 'note', 'none']).toContain(rule.defaultConfiguration.level);
        expect(Number(rule.properties['security-severity'])).toBeGreaterThanOrEqual(0);
      }
      expect(runLog.results.length).toBeGreaterThan(60);
      for (const result of runLog.results) {
        expect(rules[result.ruleIndex]?.id).toBe(result.ruleId);
        expect(['error', 'warning', 'note', 'none']).toContain(result.level);
        expect(result.message.text.length).toBeGreaterThan(0);
        const loc = result.locations[0]?.physicalLocation.artifactLocation;
        expect(loc?.uri).toMatch(/^malicious\//);
        expect(loc?.uriBaseId).toBe('%SRCROOT%');
      }
      expect(runLog.originalUriBaseIds?.['%SRCROOT%']?.uri).toMatch(/^file:\/\/.*\/$/);
    });
  });

  it('walks directories, skipping .git and node_modules, and writes nothing', async () => {
    await withTempDir(async (dir) => {
      for (const sub of ['.git', 'node_modules/pkg', 'models']) await mkdir(join(dir, sub), { recursive: true });
      const evil = fixture('malicious/posix_system_p2.pkl');
      await copyFile(evil, join(dir, '.git', 'evil.pkl'));
      await copyFile(evil, join(dir, 'node_modules', 'pkg', 'evil.pkl'));
      await copyFile(evil, join(dir, 'models', 'weights.bin'));
      await copyFile(fixture('malicious/zip_traversal.zip'), join(dir, 'models', 'bundle.zip'));
      await writeFile(join(dir, 'models', 'README.md'), '# a model\n');
      // Links: to a file (followed, as in a Hugging Face cache), to a directory (not), and a broken one.
      await symlink('weights.bin', join(dir, 'models', 'linked.bin'));
      await symlink('../node_modules', join(dir, 'models', 'deps'));
      await symlink('gone.bin', join(dir, 'models', 'dangling.bin'));
      const before = await readdir(dir, { recursive: true });
      const run = await runCli(['scan', '--format', 'json', '.'], { cwd: dir });
      const report = JSON.parse(run.stdout) as { files: Array<{ path: string }> };
      expect(report.files.map((f) => f.path).sort()).toEqual([
        'models/bundle.zip',
        'models/linked.bin',
        'models/weights.bin',
      ]);
      expect(run.stderr).toContain('models/dangling.bin: broken symbolic link; skipped');
      expect(run.stderr).not.toMatch(/EISDIR|models\/deps/);
      expect((await readdir(dir, { recursive: true })).sort()).toEqual(before.sort());
      expect(await readdir('/etc')).not.toContain('pwned');
    });
  });
});
