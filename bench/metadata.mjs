// Benchmark: reading metadata does not depend on file size. Builds two directories of 20 sparse
// weight files each (10 safetensors + 10 GGUF, valid headers, holes for data), one at 100 MB and
// one at 10 GB per file, and times `mlbom generate --no-hash` on each with the built CLI. Prints
// both medians and their ratio. Sparse files take no disk space. Not a test: nothing asserts on time.
//
//   pnpm bench                                  # 20 x 100 MB vs 20 x 10 GB
//   node bench/metadata.mjs --small-mb 100 --large-mb 10000 --files 20 --runs 5

import { mkdir, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, safetensorsHeader, timed } from './lib.mjs';

const { values } = parseArgs({
  options: {
    'small-mb': { type: 'string', default: '100' },
    'large-mb': { type: 'string', default: '10000' },
    files: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    dir: { type: 'string', default: join(tmpdir(), 'mlbom-bench-metadata') },
    keep: { type: 'boolean', default: false },
  },
});
const MB = 1000 * 1000;
const fileCount = Number(values.files);
const runs = Number(values.runs);
const bin = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;

/** A safetensors header describing one U8 tensor that fills the file up to `size` bytes. */
function fillingSafetensorsHeader(size, seed) {
  const metadata = { format: 'pt', seed: String(seed) };
  // The header's length depends on the data size it states; grow it until the two agree.
  for (let length = 8; ; length += 8) {
    const header = safetensorsHeader(size - 8 - length, metadata, length);
    if (header.length === 8 + length) return header;
  }
}

const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const gstr = (s) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

/** A GGUF v3 header with typical metadata and one F32 tensor whose data fills the file to `size`. */
function ggufHeader(size, seed) {
  const kv = [
    Buffer.concat([gstr('general.architecture'), u32(8), gstr('llama')]),
    Buffer.concat([gstr('general.name'), u32(8), gstr(`bench model ${seed}`)]),
    Buffer.concat([gstr('general.file_type'), u32(4), u32(0)]),
    Buffer.concat([gstr('llama.context_length'), u32(4), u32(4096)]),
    Buffer.concat([gstr('tokenizer.ggml.model'), u32(8), gstr('llama')]),
  ];
  const build = (elements) => {
    const head = Buffer.concat([
      Buffer.from('GGUF'),
      u32(3),
      u64(1),
      u64(kv.length),
      ...kv,
      gstr('weight'),
      u32(1),
      u64(elements),
      u32(0),
      u64(0),
    ]);
    return Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  };
  const probe = build(1);
  return build(Math.floor((size - probe.length) / 4));
}

async function writeSparse(path, header, size) {
  const handle = await open(path, 'w');
  try {
    await handle.write(header, 0, header.length, 0);
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

async function setup(dir, size) {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < fileCount; i++) {
    const name = String(i).padStart(2, '0');
    if (i % 2 === 0) await writeSparse(join(dir, `model-${name}.safetensors`), fillingSafetensorsHeader(size, i), size);
    else await writeSparse(join(dir, `model-${name}.gguf`), ggufHeader(size, i), size);
  }
}

const run = async (args) => (await timed(process.execPath, [bin, ...args])).seconds;

async function main() {
  await rm(values.dir, { recursive: true, force: true });
  const small = join(values.dir, 'small');
  const large = join(values.dir, 'large');
  const smallBytes = Number(values['small-mb']) * MB;
  const largeBytes = Number(values['large-mb']) * MB;
  process.stderr.write(
    `writing ${fileCount} sparse files of ${values['small-mb']} MB and of ${values['large-mb']} MB in ${values.dir} ...\n`,
  );
  await setup(small, smallBytes);
  await setup(large, largeBytes);
  const apparent = (await stat(join(large, 'model-00.safetensors'))).size;

  const times = { small: [], large: [] };
  await run(['generate', small, '--no-hash', '-o', '/dev/null']); // warm-up (module loading)
  for (let i = 0; i < runs; i++) {
    times.small.push(await run(['generate', small, '--no-hash', '-o', '/dev/null']));
    times.large.push(await run(['generate', large, '--no-hash', '-o', '/dev/null']));
  }
  const a = median(times.small);
  const b = median(times.large);
  const report = {
    files: `${fileCount} (half safetensors, half GGUF), sparse`,
    runs,
    smallFileBytes: smallBytes,
    largeFileBytes: apparent,
    smallMedianSeconds: Number(a.toFixed(3)),
    largeMedianSeconds: Number(b.toFixed(3)),
    ratio: Number((b / a).toFixed(3)),
  };
  console.log(JSON.stringify(report, null, 2));
  console.log(
    `mlbom generate --no-hash over ${fileCount} files: ${a.toFixed(3)} s at ${values['small-mb']} MB each vs ${b.toFixed(3)} s at ${values['large-mb']} MB each (ratio ${report.ratio}; ${(largeBytes / smallBytes).toFixed(0)}x the bytes)`,
  );
  if (!values.keep) await rm(values.dir, { recursive: true, force: true });
}

await main();
