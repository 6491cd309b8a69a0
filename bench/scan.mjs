// Benchmark: scanner throughput on the labelled corpus (test/fixtures/scanner) and the format
// fixtures, in-process on the built package, then one scan of a 1 GiB PyTorch zip (the real
// data.pkl of the benign state_dict fixture plus a sparse 1 GiB storage). Prints figures; nothing
// here asserts on time.
//
//   node bench/scan.mjs                 # 20 rounds
//   node bench/scan.mjs --rounds 100
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';
import { fileByteSource } from '../packages/core/dist/index.js';
import { readLocalHeader, readZipDirectory } from '../packages/formats/dist/index.js';
import { scan, scanFile, shouldScan } from '../packages/scanner/dist/index.js';

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

/** A stored (uncompressed) zip of `members`; a member with `zeros` is that many zero bytes, left sparse. */
async function writeStoredZip(path, members) {
  const handle = await open(path, 'w');
  const central = [];
  let offset = 0;
  const write = async (bytes) => {
    await handle.write(bytes, 0, bytes.length, offset);
    offset += bytes.length;
  };
  for (const m of members) {
    const name = Buffer.from(m.name);
    const size = m.data ? m.data.length : m.zeros;
    let crc = 0;
    if (m.data) crc = crc32(m.data);
    else
      for (let left = size, chunk = Buffer.alloc(64 << 20); left > 0; left -= chunk.length) {
        crc = crc32(left >= chunk.length ? chunk : chunk.subarray(0, left), crc);
      }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const at = offset;
    await write(Buffer.concat([local, name]));
    if (m.data) await write(m.data);
    else offset += size;
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(size, 20);
    entry.writeUInt32LE(size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(at, 42);
    central.push(Buffer.concat([entry, name]));
  }
  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  await write(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(directoryOffset, 16);
  await write(end);
  await handle.close();
}

const fixture = await fileByteSource(join(root, 'test/fixtures/scanner/benign/state_dict.pt'));
const { entries } = await readZipDirectory(fixture);
const members = [];
for (const entry of entries) {
  if (entry.directory || entry.method !== 0) continue;
  const header = await readLocalHeader(fixture, entry);
  // The fixture's small storages become one 1 GiB storage; the pickles and records stay as torch wrote them.
  if (/\/data\/\d+$/.test(entry.name)) continue;
  members.push({ name: entry.name, data: Buffer.from(await fixture.read(header.dataOffset, entry.size)) });
}
await fixture.close();
const storage = entries.find((e) => /\/data\/\d+$/.test(e.name));
members.push({ name: storage.name, zeros: 1024 ** 3 });
const dir = await mkdtemp(join(tmpdir(), 'mlbom-bench-scan-'));
try {
  const big = join(dir, 'big.pt');
  await writeStoredZip(big, members);
  const times = [];
  let last;
  for (let r = 0; r < 5; r++) {
    const source = await fileByteSource(big);
    const t = process.hrtime.bigint();
    const result = await scan(source, { path: 'big.pt' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    last = { status: result.status, read: source.bytesRead, size: source.size };
    await source.close();
  }
  times.sort((a, b) => a - b);
  console.log(
    `scanner: 1 GiB PyTorch zip (${(last.size / 1024 ** 3).toFixed(2)} GiB, ${members.length} members): ${last.status}, ` +
      `${last.read} bytes read (${((last.read / last.size) * 100).toExponential(1)}% of the file), median ${times[2].toFixed(1)} ms over 5 scans`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
