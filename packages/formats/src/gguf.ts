// GGUF is read by hand, to the published spec (ggml docs/gguf.md): the npm readers fetch URLs
// themselves, while mlbom must read through its own ByteSource with hard bounds on every count.
import type { ByteSource } from '@mlbom/core';
import { Cursor, formatError, product, safeNumber, strictUtf8 } from './util.js';

/** Metadata pairs and tensors a header may declare, and the most bytes a header walk may cover. */
export const GGUF_LIMITS = {
  maxKeyValues: 1 << 20,
  maxTensors: 1 << 20,
  maxArrayLength: 1 << 26,
  maxKeyBytes: 64 * 1024,
  /** Strings longer than this are skipped (their length is kept); chat templates may be longer. */
  maxStringBytes: 64 * 1024,
  maxTemplateBytes: 4 * 1024 * 1024,
  maxHeaderBytes: 512 * 1024 * 1024,
  maxDims: 8,
};

/** ggml tensor types by id (ids of removed types stay unnamed). */
export const GGML_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  30: 'BF16',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

/** llama.cpp's `general.file_type` values (llama_ftype), without the `MOSTLY_` prefix. */
export const GGUF_FILE_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  21: 'Q2_K_S',
  22: 'IQ3_XS',
  23: 'IQ3_XXS',
  24: 'IQ1_S',
  25: 'IQ4_NL',
  26: 'IQ3_S',
  27: 'IQ3_M',
  28: 'IQ2_S',
  29: 'IQ2_M',
  30: 'IQ4_XS',
  31: 'IQ1_M',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
  38: 'MXFP4_MOE',
};

/** [elements per block, bytes per block] of ggml types whose size is checked against the file. */
const BLOCK_SIZES: Record<string, [number, number]> = {
  F32: [1, 4],
  F16: [1, 2],
  BF16: [1, 2],
  F64: [1, 8],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
};

const VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const;
type ValueType = (typeof VALUE_TYPES)[number];
const FIXED_SIZE: Partial<Record<ValueType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};
/** Smallest encoding of one element, to reject counts the rest of the file cannot hold. */
const MIN_SIZE: Record<ValueType, number> = { ...(FIXED_SIZE as Record<ValueType, number>), string: 8, array: 12 };

/** An array value: its element type and length; the values themselves only for short arrays. */
export interface GgufArray {
  type: 'array';
  elementType: string;
  length: number;
  values?: GgufScalar[] | undefined;
}
/** A string longer than the limit: only its length is kept. */
export interface GgufSkippedString {
  type: 'skipped-string';
  length: number;
}
export type GgufScalar = string | number | bigint | boolean;
export type GgufValue = GgufScalar | GgufArray | GgufSkippedString;

export interface GgufTensorInfo {
  name: string;
  /** Dimensions innermost first, as ggml stores them. */
  dims: number[];
  type: string;
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadata: Record<string, GgufValue>;
  architecture?: string | undefined;
  name?: string | undefined;
  /** `general.file_type` as llama.cpp names it (e.g. `Q4_K_M`), or the raw number when unknown. */
  fileType?: string | undefined;
  contextLength?: number | undefined;
  tokenizerModel?: string | undefined;
  vocabSize?: number | undefined;
  chatTemplate?: string | undefined;
  parameterCount: number;
  /** Parameters per ggml type, largest first. */
  parametersByType: Record<string, number>;
  tensors: GgufTensorInfo[];
  /** Where tensor data starts (aligned). */
  dataOffset: number;
}

const SHORT_ARRAY = 64;

class GgufReader {
  readonly c: Cursor;
  constructor(readonly source: ByteSource) {
    this.c = new Cursor(source, 0, Math.min(source.size, GGUF_LIMITS.maxHeaderBytes));
  }

  fail(message: string): never {
    throw formatError(this.source, `GGUF: ${message}`);
  }

  async u32(): Promise<number> {
    await this.c.need(4, 'GGUF header');
    return this.c.u32();
  }

  async u64(what: string): Promise<number> {
    await this.c.need(8, 'GGUF header');
    return safeNumber(this.source, this.c.u64(), `GGUF ${what}`);
  }

  async count(what: string, limit: number, minSize: number): Promise<number> {
    await this.c.need(8, 'GGUF header');
    const raw = this.c.u64();
    if (raw > BigInt(limit)) this.fail(`${what} ${raw} exceeds the limit of ${limit}`);
    const n = Number(raw);
    if (n * minSize > this.c.remaining)
      this.fail(`${what} ${n} cannot fit in the ${this.c.remaining} bytes left: truncated`);
    return n;
  }

  /** A string; returns undefined (after skipping it) when longer than `max`. */
  async string(max: number, what: string): Promise<string | GgufSkippedString> {
    const length = await this.count(`${what} length`, GGUF_LIMITS.maxHeaderBytes, 1);
    if (length > max) {
      this.c.skip(length, what);
      return { type: 'skipped-string', length };
    }
    await this.c.need(length, what);
    return strictUtf8(this.source, this.c.bytes(length), `GGUF ${what}`);
  }

  async valueType(): Promise<ValueType> {
    const id = await this.u32();
    const type = VALUE_TYPES[id];
    if (type === undefined) this.fail(`unknown value type ${id} at offset ${this.c.pos - 4}`);
    return type;
  }

  async scalar(type: ValueType, stringMax: number): Promise<GgufScalar | GgufSkippedString> {
    if (type === 'string') return this.string(stringMax, 'string value');
    const size = FIXED_SIZE[type] as number;
    await this.c.need(size, 'GGUF value');
    const c = this.c;
    switch (type) {
      case 'uint8':
        return c.u8();
      case 'int8':
        return (c.u8() << 24) >> 24;
      case 'uint16':
        return c.u16();
      case 'int16':
        return (c.u16() << 16) >> 16;
      case 'uint32':
        return c.u32();
      case 'int32':
        return c.i32();
      case 'float32':
        return c.f32();
      case 'bool':
        return c.u8() !== 0;
      case 'uint64': {
        const v = c.u64();
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 'int64': {
        const v = c.i64();
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
      default:
        return c.f64();
    }
  }

  async value(type: ValueType, stringMax: number, depth = 0): Promise<GgufValue> {
    if (type !== 'array') return this.scalar(type, stringMax);
    if (depth >= 4) this.fail('arrays nested too deep');
    const elementType = await this.valueType();
    const length = await this.count('array length', GGUF_LIMITS.maxArrayLength, MIN_SIZE[elementType]);
    const fixed = FIXED_SIZE[elementType];
    if (length > SHORT_ARRAY || elementType === 'array') {
      if (fixed !== undefined) this.c.skip(length * fixed, 'GGUF array');
      else
        for (let i = 0; i < length; i++) {
          if (elementType === 'string') {
            const n = await this.count('string length', GGUF_LIMITS.maxHeaderBytes, 1);
            this.c.skip(n, 'GGUF string');
          } else await this.value(elementType, 0, depth + 1);
        }
      return { type: 'array', elementType, length };
    }
    const values: GgufScalar[] = [];
    for (let i = 0; i < length; i++) {
      const v = await this.scalar(elementType, 1024);
      values.push(typeof v === 'object' ? `<${v.length} bytes>` : v);
    }
    return { type: 'array', elementType, length, values };
  }
}

function asString(v: GgufValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function asNumber(v: GgufValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Reads a GGUF (v2/v3) header: metadata and tensor infos, never tensor data. Every count is checked
 * against limits and against the bytes left, so a lying count (2^40) fails at once.
 * @throws {MlbomError} FORMAT_INVALID for a bad magic, unsupported version, lying count or truncation
 */
export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const r: GgufReader = new GgufReader(source);
  const c = r.c;
  await c.need(Math.min(24, source.size), 'GGUF header');
  if (source.size < 24) r.fail(`file of ${source.size} bytes is too short for a header: truncated`);
  const magic = c.bytes(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) r.fail('bad magic');
  const version = c.u32();
  if (version === 1) r.fail('version 1 is not supported (obsolete since 2023)');
  if (version !== 2 && version !== 3) {
    const swapped =
      ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped === 2 || swapped === 3) r.fail('big-endian GGUF is not supported');
    r.fail(`unsupported version ${version}`);
  }
  const tensorCount = await r.count('tensor count', GGUF_LIMITS.maxTensors, 24);
  const kvCount = await r.count('metadata count', GGUF_LIMITS.maxKeyValues, 12);

  const metadata: Record<string, GgufValue> = Object.create(null);
  for (let i = 0; i < kvCount; i++) {
    const key = await r.string(GGUF_LIMITS.maxKeyBytes, 'metadata key');
    if (typeof key !== 'string') r.fail(`metadata key #${i} is longer than ${GGUF_LIMITS.maxKeyBytes} bytes`);
    const type = await r.valueType();
    const max = key.startsWith('tokenizer.chat_template') ? GGUF_LIMITS.maxTemplateBytes : GGUF_LIMITS.maxStringBytes;
    metadata[key] = await r.value(type, max);
  }

  const tensors: GgufTensorInfo[] = [];
  const offsets: number[] = [];
  const byType = new Map<string, number>();
  let parameterCount = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = await r.string(GGUF_LIMITS.maxKeyBytes, 'tensor name');
    if (typeof name !== 'string') r.fail(`tensor #${i} has an overlong name`);
    const nDims = await r.u32();
    if (nDims > GGUF_LIMITS.maxDims) r.fail(`tensor "${name.slice(0, 200)}" has ${nDims} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(await r.u64('tensor dimension'));
    const typeId = await r.u32();
    offsets.push(await r.u64('tensor offset'));
    const type = GGML_TYPES[typeId] ?? `type${typeId}`;
    const count = product(source, dims, `GGUF tensor "${name.slice(0, 200)}"`);
    parameterCount += count;
    if (!Number.isSafeInteger(parameterCount)) r.fail('parameter count overflows');
    byType.set(type, (byType.get(type) ?? 0) + count);
    tensors.push({ name, dims, type });
  }
  const alignment = asNumber(metadata['general.alignment']) ?? 32;
  const dataOffset = alignment > 0 ? Math.ceil(c.pos / alignment) * alignment : c.pos;
  // Tensor data is never read, but it must lie inside the file: a cut-off download shows here.
  tensors.forEach((t, i) => {
    const start = dataOffset + (offsets[i] as number);
    const block = BLOCK_SIZES[t.type];
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const bytes = block ? Math.ceil(elements / block[0]) * block[1] : 0;
    if (start + bytes > source.size) {
      r.fail(
        `tensor "${t.name.slice(0, 200)}" data ends at byte ${start + bytes} of a ${source.size}-byte file: truncated`,
      );
    }
  });

  const architecture = asString(metadata['general.architecture']);
  const fileTypeId = asNumber(metadata['general.file_type']);
  const tokens = metadata['tokenizer.ggml.tokens'];
  return {
    version,
    tensorCount,
    metadata,
    architecture,
    name: asString(metadata['general.name']),
    fileType: fileTypeId === undefined ? undefined : (GGUF_FILE_TYPES[fileTypeId] ?? String(fileTypeId)),
    contextLength: architecture ? asNumber(metadata[`${architecture}.context_length`]) : undefined,
    tokenizerModel: asString(metadata['tokenizer.ggml.model']),
    vocabSize: typeof tokens === 'object' && tokens !== null && 'length' in tokens ? tokens.length : undefined,
    chatTemplate: asString(metadata['tokenizer.chat_template']),
    parameterCount,
    parametersByType: Object.fromEntries([...byType.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    tensors,
    dataOffset,
  };
}
