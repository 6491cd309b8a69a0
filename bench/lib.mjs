// Shared by the benchmarks: timing a command, medians, and safetensors headers.
import { spawn } from 'node:child_process';

/** Runs a command; resolves with its wall time and stderr, rejects on a non-zero exit. */
export function timed(command, args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ seconds, stderr });
    });
  });
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The 8-byte length and JSON header (space-padded to 8 bytes) of a safetensors file with one U8 tensor. */
export function safetensorsHeader(dataBytes, metadata = { format: 'pt' }, minLength = 0) {
  const json = JSON.stringify({
    __metadata__: metadata,
    weight: { dtype: 'U8', shape: [dataBytes], data_offsets: [0, dataBytes] },
  });
  const length = Math.max(Math.ceil(json.length / 8) * 8, minLength);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return Buffer.concat([prefix, Buffer.from(json.padEnd(length, ' '))]);
}
