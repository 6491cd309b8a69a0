// HDF5 is parsed by jsfive (pure JS, public domain, from NIST), not by hand. jsfive works on an
// in-memory buffer and is synchronous, so a crafted file could make it loop or allocate without
// end: it runs in a worker thread with a heap limit and a deadline, and only the first 64 MiB of
// the file are given to it (Keras writes its attributes and most object headers first).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type ByteSource, createLimiter } from '@mlbom/core';
import { DtypeTally, formatError, readExact } from './util.js';

export const HDF5_LIMITS = {
  maxBytes: 64 * 1024 * 1024,
  timeoutMs: 15_000,
  heapMb: 512,
  /** Parser workers at once, process-wide: each may hold `maxBytes` plus a `heapMb` heap. */
  maxWorkers: 2,
  maxNodes: 100_000,
  maxAttributeChars: 4 * 1024 * 1024,
};

export type Hdf5Attribute = string | number | boolean | (string | number | boolean)[];

export interface Hdf5Summary {
  /** The root group's attributes (strings, numbers, or short arrays of them). */
  attributes: Record<string, Hdf5Attribute>;
  /** Datasets visited (path, shape, numpy dtype), when the walk completed. */
  datasets: { path: string; shape: number[]; dtype: string }[];
  /** Set when the whole tree was walked; undefined when it was not (see `walkError`). */
  parameterCount?: number | undefined;
  parametersByDtype?: Record<string, number> | undefined;
  /** Why the dataset walk stopped (e.g. metadata past the bytes read). */
  walkError?: string | undefined;
  /** True when only a prefix of the file was given to the parser. */
  partial: boolean;
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hdf5 = require(workerData.jsfive);
const limits = workerData.limits;
const message = (e) => (e && e.message) ? String(e.message) : String(e);
const plain = (v) => {
  if (typeof v === 'string') return v.length > limits.maxAttributeChars ? v.slice(0, limits.maxAttributeChars) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const out = [];
    for (const x of Array.from(v).slice(0, 64)) { const p = plain(x); if (p !== undefined && !Array.isArray(p)) out.push(p); }
    return out;
  }
  return undefined;
};
let file;
try {
  file = new hdf5.File(workerData.buffer, 'file');
} catch (e) {
  parentPort.postMessage({ error: message(e) });
  return;
}
const attributes = {};
let attrError;
try {
  for (const [k, v] of Object.entries(file.attrs)) { const p = plain(v); if (p !== undefined) attributes[k] = p; }
} catch (e) { attrError = message(e); }
const datasets = [];
let walkError;
let nodes = 0;
const walk = (group, path, depth) => {
  if (depth > 32) throw new Error('groups nested too deep');
  for (const key of group.keys) {
    if (++nodes > limits.maxNodes) throw new Error('more than ' + limits.maxNodes + ' objects');
    const child = group.get(key);
    const p = path + '/' + key;
    if (child instanceof hdf5.Group) walk(child, p, depth + 1);
    else if (child && Array.isArray(child.shape)) datasets.push({ path: p, shape: child.shape.map(Number), dtype: String(child.dtype) });
  }
};
try { walk(file, '', 0); } catch (e) { walkError = message(e); }
parentPort.postMessage({ attributes, attrError, datasets, walkError });
`;

interface WorkerResult {
  error?: string;
  attributes?: Record<string, Hdf5Attribute>;
  attrError?: string;
  datasets?: { path: string; shape: number[]; dtype: string }[];
  walkError?: string;
}

const workerSlot = createLimiter(HDF5_LIMITS.maxWorkers);

function runWorker(buffer: ArrayBuffer, name: string): Promise<WorkerResult> {
  const jsfive = createRequire(import.meta.url).resolve('jsfive');
  return new Promise((resolve, reject) => {
    const worker = new Worker(`(() => {${WORKER_SOURCE}})()`, {
      eval: true,
      workerData: { buffer, jsfive, limits: HDF5_LIMITS },
      transferList: [buffer],
      resourceLimits: { maxOldGenerationSizeMb: HDF5_LIMITS.heapMb, maxYoungGenerationSizeMb: 64 },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() => reject(formatError(name, `HDF5: parsing took longer than ${HDF5_LIMITS.timeoutMs} ms; stopped`))),
      HDF5_LIMITS.timeoutMs,
    );
    worker.once('message', (m: WorkerResult) => finish(() => resolve(m)));
    worker.once('error', (e) => finish(() => reject(formatError(name, `HDF5: parser failed (${e.message})`, e))));
    worker.once('exit', (code) =>
      finish(() => reject(formatError(name, `HDF5: parser stopped (exit ${code}; out of memory?)`))),
    );
  });
}

function hdf5DtypeName(dtype: string): string {
  const m = /^[<>|=]?([fiub])(\d+)$/.exec(dtype);
  if (!m) return dtype;
  const bits = Number(m[2]) * 8;
  return `${{ f: 'F', i: 'I', u: 'U', b: 'BOOL' }[m[1] as 'f' | 'i' | 'u' | 'b']}${m[1] === 'b' ? '' : bits}`;
}

/**
 * Reads an HDF5 file's root attributes and dataset shapes (never dataset values), in a worker.
 * @throws {MlbomError} FORMAT_INVALID when it is not HDF5 or the parser fails or times out
 */
export async function readHdf5(source: ByteSource | Uint8Array, name?: string): Promise<Hdf5Summary> {
  const label = name ?? (source instanceof Uint8Array ? 'hdf5' : source.name);
  const total = source instanceof Uint8Array ? source.length : source.size;
  const length = Math.min(total, HDF5_LIMITS.maxBytes);
  // The slot covers the read too: a waiting file holds no buffer.
  const result = await workerSlot(async () => {
    const bytes =
      source instanceof Uint8Array ? source.subarray(0, length) : await readExact(source, 0, length, 'HDF5');
    if (bytes.length < 8 || !HDF5_MAGIC.every((b, i) => bytes[i] === b))
      throw formatError(label, 'HDF5: bad signature');
    const copy = new ArrayBuffer(bytes.length);
    new Uint8Array(copy).set(bytes);
    return runWorker(copy, label);
  });
  if (result.error !== undefined) throw formatError(label, `HDF5: ${result.error}`);
  const datasets = result.datasets ?? [];
  const summary: Hdf5Summary = {
    attributes: result.attributes ?? {},
    datasets,
    partial: length < total,
    walkError: result.walkError ?? result.attrError,
  };
  if (summary.walkError === undefined) {
    const tally = new DtypeTally();
    for (const d of datasets) {
      const n = d.shape.reduce((a, b) => a * b, 1);
      if (Number.isSafeInteger(n)) tally.add(hdf5DtypeName(d.dtype), n);
    }
    summary.parameterCount = tally.total;
    summary.parametersByDtype = tally.toRecord();
  }
  return summary;
}
