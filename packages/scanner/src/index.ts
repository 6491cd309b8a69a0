export { classifyGlobal, type GlobalSeverity, type Verdict } from './classify.js';
export type { PickleLimits } from './pickle.js';
export * from './report.js';
export {
  ALLOWED_GLOBALS,
  ALLOWED_PATTERNS,
  DENY_RULES,
  type DenyRule,
  INTEGRITY_RULES,
  RULES,
  type RuleId,
} from './rules.js';
export {
  DEFAULT_SCAN_LIMITS,
  isChatTemplateFile,
  SCAN_HEAD_BYTES,
  type ScanFormat,
  type ScanLimits,
  type ScanOptions,
  type ScanResult,
  type ScanStatus,
  scan,
  scanFile,
  scanIfRelevant,
  shouldScan,
} from './scan.js';
