// Benchmark: `mlbom generate` on a folder of large weight files against `sha256sum` run on both
// cores over the same files, plus peak memory on one 2 GiB file. Prints figures and ratios; the
// baseline is measured in the same run. Not a test: nothing here asserts on time.
//
//   pnpm bench                       # 4 x 512 MiB shards + one 2 GiB file
//   node bench/hashing.mjs --shard-mib 128 --big-mib 512 --runs 3

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, safetensorsHeader, timed } from './lib.mjs';

const { values } = parseArgs({
  options: {
    'shard-mib': { type: 'string', default: '512' },
    shards: { type: 'string', default: '4' },
    'big-mib': { type: 'string', default: '2048' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: join(tmpdir(), 'mlbom-bench') },
    keep: { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const shardBytes = Number(values['shard-mib']) * MiB;
const shardCount = Number(values.shards);
const bigBytes = Number(values['big-mib']) * MiB;
const runs = Number(values.runs);
const cores = availableParallelism();
const measure = new URL('./measure-cli.mjs', import.meta.url).pathname;

/** A valid safetensors file holding one U8 tensor of `bytes` bytes, written in 8 MiB blocks. */
async function writeSafetensors(path, bytes, seed) {
  const out = createWriteStream(path);
  out.write(safetensorsHeader(bytes));
  const block = Buffer.alloc(8 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  for (let written = 0; written < bytes; written += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, bytes - written));
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const run = timed;
const lastJson = (text) => JSON.parse(text.trim().split('\n').at(-1));

async function setup() {
  await rm(values.dir, { recursive: true, force: true });
  const shardsDir = join(values.dir, 'sharded-model');
  const bigDir = join(values.dir, 'big-model');
  await mkdir(shardsDir, { recursive: true });
  await mkdir(bigDir, { recursive: true });
  await writeFile(
    join(shardsDir, 'config.json'),
    JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }),
  );
  const shardFiles = [];
  for (let i = 1; i <= shardCount; i++) {
    const file = join(
      shardsDir,
      `model-${String(i).padStart(5, '0')}-of-${String(shardCount).padStart(5, '0')}.safetensors`,
    );
    await writeSafetensors(file, shardBytes, i);
    shardFiles.push(file);
  }
  const bigFile = join(bigDir, 'model.safetensors');
  await writeSafetensors(bigFile, bigBytes, 99);
  return { shardsDir, shardFiles, bigDir, bigFile };
}

async function main() {
  process.stderr.write(`generating bench files in ${values.dir} ...\n`);
  const { shardsDir, shardFiles, bigDir, bigFile } = await setup();
  const totalBytes = (await Promise.all(shardFiles.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);

  // Warm the page cache so both sides hash from memory, not disk.
  await run('sh', ['-c', `cat ${shardFiles.map((f) => `'${f}'`).join(' ')} > /dev/null`]);

  const baseline = [];
  const mlbom = [];
  for (let i = 0; i < runs; i++) {
    baseline.push(
      (
        await run('sh', [
          '-c',
          `printf '%s\\0' ${shardFiles.map((f) => `'${f}'`).join(' ')} | xargs -0 -P${cores} -n1 sha256sum`,
        ])
      ).seconds,
    );
    mlbom.push((await run(process.execPath, [measure, 'generate', shardsDir, '-o', '/dev/null'])).seconds);
  }
  const base = median(baseline);
  const ours = median(mlbom);
  const gib = totalBytes / 1024 ** 3;

  await run('sh', ['-c', `cat '${bigFile}' > /dev/null`]);
  const big = await run(process.execPath, [measure, 'generate', bigDir, '-o', '/dev/null']);
  const { maxRssBytes } = lastJson(big.stderr);
  const bigBaseline = (await run('sha256sum', [bigFile])).seconds;

  const report = {
    cores,
    runs,
    shards: `${shardCount} x ${values['shard-mib']} MiB (${gib.toFixed(2)} GiB)`,
    sha256sumParallelSeconds: Number(base.toFixed(3)),
    mlbomGenerateSeconds: Number(ours.toFixed(3)),
    ratio: Number((ours / base).toFixed(3)),
    ratioTarget: 1.15,
    sha256sumMiBps: Number((totalBytes / MiB / base).toFixed(0)),
    mlbomMiBps: Number((totalBytes / MiB / ours).toFixed(0)),
    bigFile: `${values['big-mib']} MiB`,
    bigFileMlbomSeconds: Number(big.seconds.toFixed(3)),
    bigFileSha256sumSeconds: Number(bigBaseline.toFixed(3)),
    bigFilePeakRssMiB: Number((maxRssBytes / MiB).toFixed(1)),
    peakRssTargetMiB: 200,
  };
  console.log(JSON.stringify(report, null, 2));
  console.log(
    `mlbom generate ${ours.toFixed(2)} s vs sha256sum x${cores} ${base.toFixed(2)} s over ${gib.toFixed(2)} GiB: ratio ${report.ratio} (target <= 1.15); peak RSS on a ${values['big-mib']} MiB file: ${report.bigFilePeakRssMiB} MiB (target < 200)`,
  );
  if (!values.keep) await rm(values.dir, { recursive: true, force: true });
}

await main();
