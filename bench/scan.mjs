// Benchmark: scanner throughput on the labelled corpus (test/fixtures/scanner) and the format
// fixtures, in-process on the built package. Prints files/s; nothing here asserts on time.
//
//   node bench/scan.mjs                 # 20 rounds
//   node bench/scan.mjs --rounds 100
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scanFile, shouldScan } from '../packages/scanner/dist/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const root = new URL('..', import.meta.url).pathname;
const dirs = [join(root, 'test/fixtures/scanner'), join(root, 'test/fixtures/formats')];

async function walk(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

const files = [];
for (const d of dirs) files.push(...(await walk(d)));
let bytes = 0;
for (const f of files) bytes += (await stat(f)).size;

// Warm-up round (JIT, page cache).
for (const f of files) await scanFile(f);

let scanned = 0;
let read = 0;
const started = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) {
  for (const f of files) {
    const result = await scanFile(f);
    scanned++;
    read += result.bytesRead;
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const { readFile } = await import('node:fs/promises');
let selected = 0;
for (const f of files) {
  const head = (await readFile(f)).subarray(0, 512);
  if (shouldScan(f, head)) selected++;
}
console.log(
  `scanner: ${files.length} files (${(bytes / 1024).toFixed(0)} KiB, ${selected} selected by shouldScan) x ${rounds} rounds: ` +
    `${(scanned / seconds).toFixed(0)} files/s, ${(read / 1024 / 1024 / seconds).toFixed(1)} MiB/s read, ` +
    `${((seconds / scanned) * 1000).toFixed(2)} ms/file`,
);
