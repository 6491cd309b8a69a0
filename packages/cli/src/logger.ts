import type { Logger } from '@mlbom/core';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Logs go to stderr only: stdout carries the BOM. */
export function stderrLogger(level: LogLevel, write: (line: string) => void): Logger & { warnings: number } {
  const logger = {
    warnings: 0,
    debug: (m: string) => order[level] <= order.debug && write(`mlbom: debug: ${m}\n`),
    info: (m: string) => order[level] <= order.info && write(`mlbom: ${m}\n`),
    warn: (m: string) => {
      logger.warnings++;
      if (order[level] <= order.warn) write(`mlbom: warning: ${m}\n`);
    },
    error: (m: string) => order[level] <= order.error && write(`mlbom: error: ${m}\n`),
  };
  return logger as Logger & { warnings: number };
}
