import type { ByteSource } from '@mlbom/core';
import { formatError, product, readExact, strictUtf8, view } from './util.js';

/** The safetensors library refuses headers above 100 MB; so do we. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;
/** Largest shard index read. */
export const MAX_SAFETENSORS_INDEX = 64 * 1024 * 1024;

/** Bytes per element; sub-byte float formats are packed and get no size check. */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Length of the JSON header in bytes (the data section starts at 8 + headerLength). */
  headerLength: number;
  /** `__metadata__`: free-form string pairs, e.g. `{ format: 'pt' }`. */
  metadata: Record<string, string>;
  tensorCount: number;
  parameterCount: number;
  /** Parameters per dtype, largest first. */
  parametersByDtype: Record<string, number>;
  /** End of the last tensor's data, relative to the data section. */
  dataSize: number;
  tensors: SafetensorsTensor[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a safetensors header: 8 bytes of length, then that much JSON. Reads nothing else, so it
 * costs the same for a 1 MB and a 100 GB file, locally or over HTTP ranges.
 * @throws {MlbomError} FORMAT_INVALID for a bad length (e.g. 2^60), truncation, bad JSON or tensor entries
 */
export async function readSafetensorsHeader(
  source: ByteSource,
  options: { maxHeaderBytes?: number } = {},
): Promise<SafetensorsHeader> {
  const max = options.maxHeaderBytes ?? MAX_SAFETENSORS_HEADER;
  if (source.size < 8) throw formatError(source, `safetensors file of ${source.size} bytes has no header: truncated`);
  const lengthBytes = await readExact(source, 0, 8, 'safetensors header length');
  const length = view(lengthBytes).getBigUint64(0, true);
  if (length < 2n) throw formatError(source, `safetensors header length ${length} is too small`);
  if (length > BigInt(max)) {
    throw formatError(source, `safetensors header length ${length} exceeds the limit of ${max} bytes`);
  }
  const headerLength = Number(length);
  if (8 + headerLength > source.size) {
    throw formatError(
      source,
      `safetensors header claims ${headerLength} bytes but the file has ${source.size}: truncated`,
    );
  }
  const text = strictUtf8(source, await readExact(source, 8, headerLength, 'safetensors header'), 'safetensors header');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw formatError(source, `safetensors header is not valid JSON (${(error as Error).message})`, error);
  }
  if (!isRecord(json)) throw formatError(source, 'safetensors header is not a JSON object');

  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  const byDtype = new Map<string, number>();
  let parameterCount = 0;
  let dataSize = 0;
  const dataBytes = source.size - 8 - headerLength;
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (isRecord(entry)) {
        for (const [k, v] of Object.entries(entry)) if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    if (!isRecord(entry)) throw formatError(source, `safetensors tensor "${name.slice(0, 200)}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || dtype.length > 32) {
      throw formatError(source, `safetensors tensor "${name.slice(0, 200)}" has no valid dtype`);
    }
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw formatError(source, `safetensors tensor "${name.slice(0, 200)}" has an invalid shape`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw formatError(source, `safetensors tensor "${name.slice(0, 200)}" has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const count = product(source, shape as number[], `safetensors tensor "${name.slice(0, 200)}"`);
    const bits = DTYPE_BITS[dtype];
    if (bits !== undefined && bits % 8 === 0 && (count * bits) / 8 !== end - begin) {
      throw formatError(
        source,
        `safetensors tensor "${name.slice(0, 200)}": ${dtype}${JSON.stringify(shape)} needs ${(count * bits) / 8} bytes, data_offsets span ${end - begin}`,
      );
    }
    if (end > dataBytes) {
      throw formatError(
        source,
        `safetensors tensor "${name.slice(0, 200)}" ends at byte ${end} of a ${dataBytes}-byte data section: truncated`,
      );
    }
    tensors.push({ name, dtype, shape: shape as number[], dataOffsets: [begin, end] });
    byDtype.set(dtype, (byDtype.get(dtype) ?? 0) + count);
    parameterCount += count;
    dataSize = Math.max(dataSize, end);
  }
  const parametersByDtype = Object.fromEntries(
    [...byDtype.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  );
  return {
    headerLength,
    metadata,
    tensorCount: tensors.length,
    parameterCount,
    parametersByDtype,
    dataSize,
    tensors,
  };
}

export interface SafetensorsIndex {
  /** `metadata.total_size`: bytes of tensor data over all shards. */
  totalSize?: number | undefined;
  /** Other `metadata` entries (string values only). */
  metadata: Record<string, string>;
  /** Shard file names, sorted, as the weight map names them. */
  shards: string[];
  tensorCount: number;
}

/**
 * Reads a sharded-checkpoint index (`model.safetensors.index.json`): the shard files it names and
 * the total size. Accepts the JSON text or a ByteSource (read whole, at most 64 MiB).
 * @throws {MlbomError} FORMAT_INVALID when it is not an index
 */
export async function readSafetensorsIndex(input: ByteSource | string, name = 'index'): Promise<SafetensorsIndex> {
  let text: string;
  let subject: { name: string };
  if (typeof input === 'string') {
    text = input;
    subject = { name };
  } else {
    subject = input;
    if (input.size > MAX_SAFETENSORS_INDEX) {
      throw formatError(input, `shard index of ${input.size} bytes exceeds the limit of ${MAX_SAFETENSORS_INDEX}`);
    }
    text = strictUtf8(input, await readExact(input, 0, input.size, 'shard index'), 'shard index');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw formatError(subject, `shard index is not valid JSON (${(error as Error).message})`, error);
  }
  if (!isRecord(json) || !isRecord(json.weight_map))
    throw formatError(subject, 'shard index has no "weight_map" object');
  const shards = new Set<string>();
  let tensorCount = 0;
  for (const value of Object.values(json.weight_map)) {
    if (typeof value !== 'string' || value === '') throw formatError(subject, 'shard index maps a tensor to no file');
    shards.add(value);
    tensorCount++;
  }
  const metadata: Record<string, string> = {};
  let totalSize: number | undefined;
  if (isRecord(json.metadata)) {
    for (const [k, v] of Object.entries(json.metadata)) {
      if (k === 'total_size' && (typeof v === 'number' || typeof v === 'string') && Number.isSafeInteger(Number(v))) {
        totalSize = Number(v);
      } else if (typeof v === 'string') metadata[k] = v;
    }
  }
  return { totalSize, metadata, shards: [...shards].sort(), tensorCount };
}
