import type { Logger } from '@mlbom/core';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Logs go to stderr only: stdout carries the BOM. */
export function stderrLogger(level: LogLevel, write: (line: string) => void): Logger {
  const at = (wanted: LogLevel, prefix: string) => (m: string) => {
    if (order[level] <= order[wanted]) write(`mlbom: ${prefix}${m}\n`);
  };
  return {
    debug: at('debug', 'debug: '),
    info: at('info', ''),
    warn: at('warn', 'warning: '),
    error: at('error', 'error: '),
  };
}
