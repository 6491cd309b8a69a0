import type { Finding, Problem, Severity } from '@mlbom/core';
import { INTEGRITY_RULES, RULES, type RuleId } from './rules.js';

export const MAX_FINDINGS = 500;

interface Entry {
  finding: Finding;
  count: number;
}

/** Collects the findings of one scan: deduplicated per rule, subject and member, and capped. */
export class Collector {
  private readonly entries = new Map<string, Entry>();
  private dropped = 0;
  readonly problems: Problem[] = [];
  /** Set when some part of the file could not be analysed. */
  incomplete = false;

  constructor(
    /** The file, for problems. */
    readonly subject: string,
    readonly maxFindings = MAX_FINDINGS,
  ) {}

  /**
   * Records a finding. `key` identifies what was found (e.g. `os.system`); the same rule, key and
   * member are reported once with a count.
   */
  add(
    ruleId: RuleId,
    key: string,
    detail: string,
    location: string | undefined,
    options: { severity?: Severity; title?: string; count?: number } = {},
  ): void {
    if (INTEGRITY_RULES.has(ruleId) && ruleId !== 'MLBOM-PICKLE-TRAILING-DATA') this.incomplete = true;
    const member = location?.replace(/@\d+$/, '') ?? '';
    const id = `${ruleId}\n${key}\n${member}`;
    const existing = this.entries.get(id);
    const count = options.count ?? 1;
    if (existing) {
      existing.count += count;
      return;
    }
    if (this.entries.size >= this.maxFindings) {
      this.dropped++;
      return;
    }
    const rule = RULES[ruleId];
    this.entries.set(id, {
      finding: {
        ruleId,
        severity: options.severity ?? rule.severity,
        title: options.title ?? rule.title,
        detail: detail.length > 2000 ? `${detail.slice(0, 1997)}...` : detail,
        ...(location ? { location } : {}),
      },
      count,
    });
  }

  problem(code: string, message: string): void {
    if (this.problems.length < 100) this.problems.push({ code, message, subject: this.subject });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Findings, most severe first, then in the order found. */
  findings(): Finding[] {
    const order: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
    const out = [...this.entries.values()].map(({ finding, count }) =>
      count > 1 ? { ...finding, detail: `${finding.detail} (${count} occurrences)` } : finding,
    );
    out.sort((a, b) => order[a.severity] - order[b.severity]);
    if (this.dropped > 0) {
      const worst = out[out.length - 1];
      if (worst) worst.detail += `; ${this.dropped} more findings not listed`;
    }
    return out;
  }

  /** Whether any threat (not an integrity note) was found. */
  hasThreat(): boolean {
    for (const { finding } of this.entries.values()) {
      if (!INTEGRITY_RULES.has(finding.ruleId as RuleId)) return true;
    }
    return false;
  }
}
