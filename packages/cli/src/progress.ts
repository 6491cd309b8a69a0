import type { Progress } from '@mlbom/core';

const MIN_BYTES_FOR_BAR = 256 * 1024 * 1024;
const REDRAW_MS = 200;

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * A one-line progress bar on a TTY stderr, shown only when there is enough work to be worth it.
 * No output at all when stderr is not a TTY (CI logs stay clean).
 */
export function ttyProgress(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) return { add() {}, advance() {}, done() {} };
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  let drawn = false;
  const draw = (force = false) => {
    const now = Date.now();
    if (total < MIN_BYTES_FOR_BAR || (!force && now - lastDraw < REDRAW_MS)) return;
    lastDraw = now;
    const width = 30;
    const ratio = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(ratio * width);
    stream.write(
      `\r\x1b[2Khashing [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0)}% ${formatBytes(done)}/${formatBytes(total)}`,
    );
    drawn = true;
  };
  return {
    add(bytes) {
      total += bytes;
    },
    advance(bytes) {
      done += bytes;
      draw();
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
