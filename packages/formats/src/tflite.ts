// TFLite models are FlatBuffers. The `flatbuffers` runtime reads tables out of one in-memory
// ByteBuffer, and a .tflite file embeds its weights in that buffer; so the few tables needed are
// read here straight from the ByteSource through a small page cache, following the FlatBuffers
// binary layout (root offset, vtables, offsets to strings and vectors), with every offset checked.
import type { ByteSource } from '@mlbom/core';
import { DtypeTally, formatError, readExact, utf8, view } from './util.js';

const PAGE = 64 * 1024;
const MAX_PAGES = 256;
const MAX_TENSORS = 1_000_000;
const MAX_VECTOR = 10_000_000;

const TFLITE_TYPES: Record<number, [string, string]> = {
  0: ['float32', 'F32'],
  1: ['float16', 'F16'],
  2: ['int32', 'I32'],
  3: ['uint8', 'U8'],
  4: ['int64', 'I64'],
  5: ['string', 'STRING'],
  6: ['bool', 'BOOL'],
  7: ['int16', 'I16'],
  8: ['complex64', 'C64'],
  9: ['int8', 'I8'],
  10: ['float64', 'F64'],
  11: ['complex128', 'C128'],
  12: ['uint64', 'U64'],
  13: ['resource', 'RESOURCE'],
  14: ['variant', 'VARIANT'],
  15: ['uint32', 'U32'],
  16: ['uint16', 'U16'],
  17: ['int4', 'I4'],
  18: ['bfloat16', 'BF16'],
};

class Flat {
  private readonly pages = new Map<number, Uint8Array>();
  reads = 0;
  constructor(readonly source: ByteSource) {}

  fail(message: string): never {
    throw formatError(this.source, `TFLite: ${message}`);
  }

  private async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.source.size) {
      this.fail(`offset ${offset} is outside the file`);
    }
    const first = Math.floor(offset / PAGE);
    const last = Math.floor((offset + length - 1) / PAGE);
    if (first === last) {
      const page = await this.page(first);
      const at = offset - first * PAGE;
      if (at + length > page.length) this.fail(`offset ${offset} is outside the file`);
      return page.subarray(at, at + length);
    }
    return readExact(this.source, offset, length, 'TFLite');
  }

  private async page(index: number): Promise<Uint8Array> {
    let page = this.pages.get(index);
    if (!page) {
      if (this.pages.size >= MAX_PAGES) this.pages.clear();
      page = await this.source.read(index * PAGE, Math.min(PAGE, this.source.size - index * PAGE));
      this.pages.set(index, page);
      this.reads++;
    }
    return page;
  }

  async u8(o: number) {
    return (await this.bytes(o, 1))[0] as number;
  }
  async u16(o: number) {
    return view(await this.bytes(o, 2)).getUint16(0, true);
  }
  async u32(o: number) {
    return view(await this.bytes(o, 4)).getUint32(0, true);
  }
  async i32(o: number) {
    return view(await this.bytes(o, 4)).getInt32(0, true);
  }
  async u64(o: number) {
    return Number(view(await this.bytes(o, 8)).getBigUint64(0, true));
  }

  /** Offset of field `index` inside the table at `table`, or 0 when absent. */
  async field(table: number, index: number): Promise<number> {
    const vtable = table - (await this.i32(table));
    const vsize = await this.u16(vtable);
    if (vsize < 4 || vsize % 2 !== 0) this.fail(`bad vtable at ${vtable}`);
    const at = 4 + index * 2;
    if (at >= vsize) return 0;
    const rel = await this.u16(vtable + at);
    return rel === 0 ? 0 : table + rel;
  }

  async deref(at: number): Promise<number> {
    return at + (await this.u32(at));
  }

  async table(table: number, index: number): Promise<number | undefined> {
    const f = await this.field(table, index);
    return f ? this.deref(f) : undefined;
  }

  async string(table: number, index: number, max = 4096): Promise<string | undefined> {
    const f = await this.field(table, index);
    if (!f) return undefined;
    const at = await this.deref(f);
    const length = await this.u32(at);
    const text = utf8(await this.bytes(at + 4, Math.min(length, max)));
    return length > max ? `${text}…` : text;
  }

  /** A vector field: its element count and where the elements start. */
  async vector(table: number, index: number): Promise<{ length: number; start: number } | undefined> {
    const f = await this.field(table, index);
    if (!f) return undefined;
    const at = await this.deref(f);
    const length = await this.u32(at);
    if (length > MAX_VECTOR) this.fail(`vector of ${length} elements`);
    return { length, start: at + 4 };
  }

  async scalar(table: number, index: number, size: 1 | 4 | 8, fallback = 0): Promise<number> {
    const f = await this.field(table, index);
    if (!f) return fallback;
    return size === 1 ? this.u8(f) : size === 4 ? this.u32(f) : this.u64(f);
  }

  async ints(vec: { length: number; start: number } | undefined, max = 64): Promise<number[]> {
    const out: number[] = [];
    if (!vec) return out;
    for (let i = 0; i < Math.min(vec.length, max); i++) out.push(await this.i32(vec.start + i * 4));
    return out;
  }
}

export interface TfliteInfo {
  schemaVersion: number;
  description?: string | undefined;
  /** `min_runtime_version` metadata, when the converter recorded it. */
  minRuntimeVersion?: string | undefined;
  /** Names of the `metadata` entries. */
  metadataNames: string[];
  /** From TFLITE_METADATA (the TFLite Support model metadata), when present. */
  modelMetadata?: { name?: string; description?: string; version?: string; author?: string; license?: string };
  subgraphCount: number;
  operatorCount: number;
  /** Built-in operator codes and custom op names used. */
  operatorCodes: string[];
  tensorCount: number;
  parameterCount: number;
  parametersByDtype: Record<string, number>;
  inputs: string[];
  outputs: string[];
  signatureKeys: string[];
}

async function bufferBytes(f: Flat, buffers: { length: number; start: number } | undefined, index: number) {
  if (!buffers || index <= 0 || index >= buffers.length) return undefined;
  const buffer = await f.deref(buffers.start + index * 4);
  const data = await f.vector(buffer, 0);
  if (data && data.length > 0) return data;
  const offset = await f.scalar(buffer, 1, 8);
  const size = await f.scalar(buffer, 2, 8);
  return size > 1 ? { length: size, start: offset } : undefined;
}

async function tensorLabel(f: Flat, tensors: { length: number; start: number }, index: number): Promise<string> {
  if (index < 0 || index >= tensors.length) return '?';
  const t = await f.deref(tensors.start + index * 4);
  const name = (await f.string(t, 3, 256)) ?? `tensor${index}`;
  const type = TFLITE_TYPES[await f.scalar(t, 1, 1)]?.[0] ?? 'unknown';
  const signature = await f.vector(t, 7);
  const shape = await f.ints(signature && signature.length > 0 ? signature : await f.vector(t, 0));
  return `${name}: ${type}[${shape.join(',')}]`;
}

/**
 * Reads a TFLite FlatBuffer's model table: schema version, description, metadata
 * (min_runtime_version), graph inputs/outputs, operators and constant tensor shapes.
 * @throws {MlbomError} FORMAT_INVALID when it is not a TFLite FlatBuffer
 */
export async function readTflite(source: ByteSource): Promise<TfliteInfo> {
  const f: Flat = new Flat(source);
  if (source.size < 16) f.fail('too short');
  const ident = await readExact(source, 4, 4, 'TFLite identifier');
  if (utf8(ident) !== 'TFL3') f.fail('no TFL3 file identifier');
  const model = await f.deref(0);
  const info: TfliteInfo = {
    schemaVersion: await f.scalar(model, 0, 4),
    description: await f.string(model, 3),
    metadataNames: [],
    subgraphCount: 0,
    operatorCount: 0,
    operatorCodes: [],
    tensorCount: 0,
    parameterCount: 0,
    parametersByDtype: {},
    inputs: [],
    outputs: [],
    signatureKeys: [],
  };
  const buffers = await f.vector(model, 4);

  const metadata = await f.vector(model, 6);
  for (let i = 0; metadata && i < Math.min(metadata.length, 100); i++) {
    const m = await f.deref(metadata.start + i * 4);
    const name = (await f.string(m, 0, 256)) ?? '';
    info.metadataNames.push(name);
    const data = await bufferBytes(f, buffers, await f.scalar(m, 1, 4));
    if (!data) continue;
    if (name === 'min_runtime_version') {
      const bytes = await readExact(source, data.start, Math.min(data.length, 64), 'TFLite metadata');
      info.minRuntimeVersion = utf8(bytes).replace(/\0+$/, '');
    } else if (name === 'TFLITE_METADATA' && data.length >= 8) {
      // A nested FlatBuffer (TFLite Support ModelMetadata): name, description, version, author, license.
      const root = data.start + (await f.u32(data.start));
      const read = async (i: number) => (await f.string(root, i, 1024)) ?? undefined;
      const mm: NonNullable<TfliteInfo['modelMetadata']> = {};
      const fields: [keyof typeof mm, number][] = [
        ['name', 0],
        ['description', 1],
        ['version', 2],
        ['author', 4],
        ['license', 5],
      ];
      for (const [key, i] of fields) {
        const v = await read(i);
        if (v) mm[key] = v;
      }
      info.modelMetadata = mm;
    }
  }

  const codes = await f.vector(model, 1);
  for (let i = 0; codes && i < Math.min(codes.length, 1000); i++) {
    const c = await f.deref(codes.start + i * 4);
    const custom = await f.string(c, 1, 256);
    const builtin = Math.max(await f.scalar(c, 0, 1), await f.scalar(c, 3, 4));
    info.operatorCodes.push(custom ? `custom:${custom}` : `builtin:${builtin}`);
  }

  const tally = new DtypeTally();
  const subgraphs = await f.vector(model, 2);
  info.subgraphCount = subgraphs?.length ?? 0;
  for (let s = 0; subgraphs && s < Math.min(subgraphs.length, 1000); s++) {
    const g = await f.deref(subgraphs.start + s * 4);
    const tensors = await f.vector(g, 0);
    const operators = await f.vector(g, 3);
    info.operatorCount += operators?.length ?? 0;
    if (!tensors) continue;
    if (info.tensorCount + tensors.length > MAX_TENSORS) f.fail(`more than ${MAX_TENSORS} tensors`);
    info.tensorCount += tensors.length;
    for (let i = 0; i < tensors.length; i++) {
      const t = await f.deref(tensors.start + i * 4);
      const buffer = await f.scalar(t, 2, 4);
      if (!(await bufferBytes(f, buffers, buffer))) continue;
      const shape = await f.ints(await f.vector(t, 0), 16);
      let n = 1;
      for (const d of shape) n *= Math.max(0, d);
      tally.add(TFLITE_TYPES[await f.scalar(t, 1, 1)]?.[1] ?? 'unknown', n);
    }
    if (s === 0) {
      for (const i of await f.ints(await f.vector(g, 1), 100)) info.inputs.push(await tensorLabel(f, tensors, i));
      for (const i of await f.ints(await f.vector(g, 2), 100)) info.outputs.push(await tensorLabel(f, tensors, i));
    }
  }
  info.parameterCount = tally.total;
  info.parametersByDtype = tally.toRecord();

  const signatures = await f.vector(model, 7);
  for (let i = 0; signatures && i < Math.min(signatures.length, 100); i++) {
    const sig = await f.deref(signatures.start + i * 4);
    const key = await f.string(sig, 2, 256);
    if (key) info.signatureKeys.push(key);
  }
  return info;
}
