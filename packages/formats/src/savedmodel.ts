import { type ByteSource, bufferByteSource } from '@mlbom/core';
import { type Field, ProtoReader, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { DtypeTally, formatError, product, readExact, view } from './util.js';

/** TensorFlow DataType enum: [name for signatures, dtype name for parameter counts]. */
const TF_TYPES: Record<number, [string, string]> = {
  1: ['float32', 'F32'],
  2: ['float64', 'F64'],
  3: ['int32', 'I32'],
  4: ['uint8', 'U8'],
  5: ['int16', 'I16'],
  6: ['int8', 'I8'],
  7: ['string', 'STRING'],
  8: ['complex64', 'C64'],
  9: ['int64', 'I64'],
  10: ['bool', 'BOOL'],
  14: ['bfloat16', 'BF16'],
  17: ['uint16', 'U16'],
  18: ['complex128', 'C128'],
  19: ['float16', 'F16'],
  20: ['resource', 'RESOURCE'],
  21: ['variant', 'VARIANT'],
  22: ['uint32', 'U32'],
  23: ['uint64', 'U64'],
};

export interface SavedModelSignature {
  key: string;
  methodName?: string | undefined;
  /** `key: dtype[shape]`, e.g. `input: float32[-1,4]`. */
  inputs: string[];
  outputs: string[];
}

export interface SavedModelInfo {
  schemaVersion?: number | undefined;
  metaGraphs: {
    tags: string[];
    tensorflowVersion?: string | undefined;
    tensorflowGitVersion?: string | undefined;
    graphProducer?: number | undefined;
    nodeCount: number;
    signatures: SavedModelSignature[];
  }[];
  /** From `variables/variables.index`, when given. */
  variables?: { count: number; parameterCount: number; parametersByDtype: Record<string, number> } | undefined;
}

async function tensorInfo(r: ProtoReader, f: Field): Promise<string> {
  let dtype = 0;
  let dims: string[] | undefined;
  await r.sub(
    f,
    async (t) => {
      if (t.number === 2 && t.wire === WIRE_VARINT) dtype = t.value;
      else if (t.number === 3 && t.wire === WIRE_LEN) dims = await shapeOf(r, t);
    },
    6,
  );
  const shape = dims as string[] | undefined;
  return `${TF_TYPES[dtype]?.[0] ?? `dtype${dtype}`}${shape ? `[${shape.join(',')}]` : ''}`;
}

async function shapeOf(r: ProtoReader, f: Field): Promise<string[]> {
  const dims: string[] = [];
  await r.sub(
    f,
    async (d) => {
      if (d.number !== 2 || d.wire !== WIRE_LEN || dims.length >= 64) return;
      let size = '?';
      await r.sub(
        d,
        (x) => {
          if (x.number === 1 && x.wire === WIRE_VARINT) size = String(r.int64(x));
        },
        8,
      );
      dims.push(size);
    },
    7,
  );
  return dims;
}

async function mapEntries(r: ProtoReader, f: Field, out: string[]): Promise<void> {
  let key = '';
  let value = '?';
  await r.sub(
    f,
    async (e) => {
      if (e.number === 1 && e.wire === WIRE_LEN) key = await r.string(e, 256);
      else if (e.number === 2 && e.wire === WIRE_LEN) value = await tensorInfo(r, e);
    },
    5,
  );
  if (out.length < 1000) out.push(`${key}: ${value}`);
}

/**
 * Reads `saved_model.pb`: meta graph tags, TensorFlow version, signature defs; with the
 * `variables/variables.index` next to it, the variables' count and parameter count too.
 * @throws {MlbomError} FORMAT_INVALID when it is not a SavedModel protobuf
 */
export async function readSavedModel(
  source: ByteSource,
  options: { variablesIndex?: ByteSource | undefined } = {},
): Promise<SavedModelInfo> {
  const r: ProtoReader = new ProtoReader(source, 'SavedModel');
  const info: SavedModelInfo = { metaGraphs: [] };
  await r.walk(0, source.size, async (f) => {
    if (f.number === 1 && f.wire === WIRE_VARINT) info.schemaVersion = f.value;
    else if (f.number === 2 && f.wire === WIRE_LEN) {
      const mg: SavedModelInfo['metaGraphs'][number] = { tags: [], nodeCount: 0, signatures: [] };
      await r.sub(
        f,
        async (m) => {
          if (m.wire !== WIRE_LEN) return;
          if (m.number === 1) {
            await r.sub(
              m,
              async (i) => {
                if (i.number === 4 && i.wire === WIRE_LEN && mg.tags.length < 100) mg.tags.push(await r.string(i, 256));
                else if (i.number === 5 && i.wire === WIRE_LEN) mg.tensorflowVersion = await r.string(i, 64);
                else if (i.number === 6 && i.wire === WIRE_LEN) mg.tensorflowGitVersion = await r.string(i, 128);
              },
              2,
            );
          } else if (m.number === 2) {
            await r.sub(
              m,
              async (g) => {
                if (g.number === 1) mg.nodeCount++;
                else if (g.number === 4 && g.wire === WIRE_LEN) {
                  await r.sub(
                    g,
                    (v) => {
                      if (v.number === 1 && v.wire === WIRE_VARINT) mg.graphProducer = v.value;
                    },
                    3,
                  );
                }
              },
              2,
            );
          } else if (m.number === 5) {
            const sig: SavedModelSignature = { key: '', inputs: [], outputs: [] };
            await r.sub(
              m,
              async (e) => {
                if (e.number === 1 && e.wire === WIRE_LEN) sig.key = await r.string(e, 256);
                else if (e.number === 2 && e.wire === WIRE_LEN) {
                  await r.sub(
                    e,
                    async (s) => {
                      if (s.number === 1 && s.wire === WIRE_LEN) await mapEntries(r, s, sig.inputs);
                      else if (s.number === 2 && s.wire === WIRE_LEN) await mapEntries(r, s, sig.outputs);
                      else if (s.number === 3 && s.wire === WIRE_LEN) sig.methodName = await r.string(s, 256);
                    },
                    3,
                  );
                }
              },
              2,
            );
            if (mg.signatures.length < 1000) mg.signatures.push(sig);
          }
        },
        1,
      );
      if (info.metaGraphs.length < 100) info.metaGraphs.push(mg);
    }
  });
  if (info.metaGraphs.length === 0) throw formatError(source, 'SavedModel: no meta graph');
  for (const mg of info.metaGraphs) mg.signatures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (options.variablesIndex) info.variables = await readTensorBundleIndex(options.variablesIndex);
  return info;
}

// ---- variables.index: a LevelDB-format table of BundleEntryProto ----

const TABLE_MAGIC = 0xdb4775248b80fb57n;
const MAX_BLOCK = 16 * 1024 * 1024;
const MAX_TABLE_BYTES = 64 * 1024 * 1024;

function varint(bytes: Uint8Array, at: { pos: number }, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at.pos >= end) throw new Error('varint past block end');
    const b = bytes[at.pos++] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value;
    scale *= 128;
  }
  throw new Error('varint too long');
}

/** Block entries (key, value) of one table block, with prefix-compressed keys. */
function blockEntries(block: Uint8Array): [Uint8Array, Uint8Array][] {
  if (block.length < 4) throw new Error('block too short');
  const restarts = view(block).getUint32(block.length - 4, true);
  const end = block.length - 4 - restarts * 4;
  if (end < 0) throw new Error('bad restart count');
  const out: [Uint8Array, Uint8Array][] = [];
  const at = { pos: 0 };
  let prev = new Uint8Array(0);
  while (at.pos < end) {
    const shared = varint(block, at, end);
    const own = varint(block, at, end);
    const valueLength = varint(block, at, end);
    if (shared > prev.length || at.pos + own + valueLength > end) throw new Error('entry runs past block');
    const key = new Uint8Array(shared + own);
    key.set(prev.subarray(0, shared));
    key.set(block.subarray(at.pos, at.pos + own), shared);
    at.pos += own;
    out.push([key, block.subarray(at.pos, at.pos + valueLength)]);
    at.pos += valueLength;
    prev = key;
  }
  return out;
}

async function readBlock(source: ByteSource, handle: Uint8Array, budget: { left: number }): Promise<Uint8Array> {
  const at = { pos: 0 };
  const offset = varint(handle, at, handle.length);
  const size = varint(handle, at, handle.length);
  if (size > MAX_BLOCK || size > budget.left) throw formatError(source, 'tensor bundle: block too large');
  budget.left -= size;
  const bytes = await readExact(source, offset, size + 5, 'tensor bundle block');
  if (bytes[size] !== 0) throw formatError(source, 'tensor bundle: compressed blocks are not supported');
  return bytes.subarray(0, size);
}

/** Reads a TensorFlow tensor bundle index (`variables.index`): variable count and shapes by dtype. */
export async function readTensorBundleIndex(
  source: ByteSource,
): Promise<{ count: number; parameterCount: number; parametersByDtype: Record<string, number> }> {
  if (source.size < 48) throw formatError(source, 'tensor bundle: too short for a table footer');
  const footer = await readExact(source, source.size - 48, 48, 'tensor bundle footer');
  if (view(footer).getBigUint64(40, true) !== TABLE_MAGIC) throw formatError(source, 'tensor bundle: bad table magic');
  const tally = new DtypeTally();
  let count = 0;
  const budget = { left: MAX_TABLE_BYTES };
  try {
    const at = { pos: 0 };
    varint(footer, at, 40);
    varint(footer, at, 40);
    const indexHandle = footer.subarray(at.pos, 40);
    const index = await readBlock(source, indexHandle, budget);
    for (const [, handle] of blockEntries(index)) {
      const block = await readBlock(source, handle, budget);
      for (const [keyBytes, value] of blockEntries(block)) {
        const key = new TextDecoder().decode(keyBytes);
        if (key === '' || key.startsWith('_CHECKPOINTABLE_OBJECT_GRAPH') || key.includes('.OPTIMIZER_SLOT')) continue;
        if (key.startsWith('optimizer/') || key.startsWith('save_counter/')) continue;
        const r: ProtoReader = new ProtoReader(bufferByteSource(value, source.name), 'tensor bundle entry');
        let dtype = 0;
        let dims: number[] = [];
        await r.walk(0, value.length, async (f) => {
          if (f.number === 1 && f.wire === WIRE_VARINT) dtype = f.value;
          else if (f.number === 2 && f.wire === WIRE_LEN) dims = (await shapeOf(r, f)).map(Number);
        });
        const name = TF_TYPES[dtype]?.[1] ?? `dtype${dtype}`;
        if (name === 'STRING' || name === 'RESOURCE' || name === 'VARIANT') continue;
        tally.add(name, product(source, dims, `variable "${key.slice(0, 200)}"`));
        count++;
      }
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'MlbomError') throw error;
    throw formatError(source, `tensor bundle: ${(error as Error).message}`, error);
  }
  return { count, parameterCount: tally.total, parametersByDtype: tally.toRecord() };
}
