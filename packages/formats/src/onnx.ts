import type { ByteSource } from '@mlbom/core';
import { type Field, ProtoReader, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { DtypeTally, formatError, product } from './util.js';

/** ONNX TensorProto.DataType: [name for inputs/outputs, dtype name for parameter counts]. */
const ONNX_TYPES: Record<number, [string, string]> = {
  1: ['float32', 'F32'],
  2: ['uint8', 'U8'],
  3: ['int8', 'I8'],
  4: ['uint16', 'U16'],
  5: ['int16', 'I16'],
  6: ['int32', 'I32'],
  7: ['int64', 'I64'],
  8: ['string', 'STRING'],
  9: ['bool', 'BOOL'],
  10: ['float16', 'F16'],
  11: ['float64', 'F64'],
  12: ['uint32', 'U32'],
  13: ['uint64', 'U64'],
  14: ['complex64', 'C64'],
  15: ['complex128', 'C128'],
  16: ['bfloat16', 'BF16'],
  17: ['float8e4m3fn', 'F8_E4M3'],
  18: ['float8e4m3fnuz', 'F8_E4M3FNUZ'],
  19: ['float8e5m2', 'F8_E5M2'],
  20: ['float8e5m2fnuz', 'F8_E5M2FNUZ'],
  21: ['uint4', 'U4'],
  22: ['int4', 'I4'],
  23: ['float4e2m1', 'F4'],
  24: ['float8e8m0', 'F8_E8M0'],
};

export function onnxTypeName(id: number): string {
  return ONNX_TYPES[id]?.[0] ?? `type${id}`;
}

const MAX_DISTINCT_OPS = 1000;
const MAX_IO = 1000;
const MAX_DIMS = 64;

export interface OnnxValueInfo {
  name: string;
  /** e.g. `float32[batch,4]`, `sequence<float32>`, `map<int64,float32>`. */
  type: string;
}

export interface OnnxModel {
  irVersion: number;
  /** Operator sets, `ai.onnx` for the default (empty) domain. */
  opsets: { domain: string; version: number }[];
  producerName?: string | undefined;
  producerVersion?: string | undefined;
  domain?: string | undefined;
  modelVersion?: number | undefined;
  docString?: string | undefined;
  graphName?: string | undefined;
  metadata: Record<string, string>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodeCount: number;
  /** Nodes per `domain:op_type` (default domain omitted), at most 1000 distinct. */
  opTypes: Record<string, number>;
  initializerCount: number;
  parameterCount: number;
  parametersByDtype: Record<string, number>;
  /** Files holding external tensor data, as written in the model (relative to its folder). */
  externalData: string[];
}

interface GraphState {
  model: OnnxModel;
  tally: DtypeTally;
  initializerNames: Set<string>;
  rawInputs: OnnxValueInfo[];
  external: Set<string>;
}

async function readStringPairs(r: ProtoReader, field: Field, depth: number): Promise<[string, string]> {
  let key = '';
  let value = '';
  await r.sub(
    field,
    async (f) => {
      if (f.number === 1 && f.wire === WIRE_LEN) key = await r.string(f, 1024);
      else if (f.number === 2 && f.wire === WIRE_LEN) value = await r.string(f, 4096);
    },
    depth,
  );
  return [key, value];
}

async function readType(r: ProtoReader, field: Field, depth: number): Promise<string> {
  let out = '?';
  await r.sub(
    field,
    async (f) => {
      if (f.wire !== WIRE_LEN) return;
      if (f.number === 1 || f.number === 8) {
        // tensor_type / sparse_tensor_type: elem_type, shape.
        let elem = 0;
        let dims: string[] | undefined;
        await r.sub(
          f,
          async (t) => {
            if (t.number === 1 && t.wire === WIRE_VARINT) elem = t.value;
            else if (t.number === 2 && t.wire === WIRE_LEN) {
              dims = [];
              const list = dims;
              await r.sub(
                t,
                async (d) => {
                  if (d.number !== 1 || d.wire !== WIRE_LEN || list.length >= MAX_DIMS) return;
                  let dim = '?';
                  await r.sub(
                    d,
                    async (x) => {
                      if (x.number === 1 && x.wire === WIRE_VARINT) dim = String(r.int64(x));
                      else if (x.number === 2 && x.wire === WIRE_LEN) dim = await r.string(x, 128);
                    },
                    depth + 3,
                  );
                  list.push(dim);
                },
                depth + 2,
              );
            }
          },
          depth + 1,
        );
        out = `${f.number === 8 ? 'sparse ' : ''}${onnxTypeName(elem)}${dims ? `[${dims.join(',')}]` : ''}`;
      } else if (f.number === 4 || f.number === 9) {
        // sequence_type / optional_type: elem_type.
        let inner = '?';
        await r.sub(
          f,
          async (s) => {
            if (s.number === 1 && s.wire === WIRE_LEN) inner = await readType(r, s, depth + 2);
          },
          depth + 1,
        );
        out = `${f.number === 4 ? 'sequence' : 'optional'}<${inner}>`;
      } else if (f.number === 5) {
        let key = 0;
        let value = '?';
        await r.sub(
          f,
          async (m) => {
            if (m.number === 1 && m.wire === WIRE_VARINT) key = m.value;
            else if (m.number === 2 && m.wire === WIRE_LEN) value = await readType(r, m, depth + 2);
          },
          depth + 1,
        );
        out = `map<${onnxTypeName(key)},${value}>`;
      }
    },
    depth,
  );
  return out;
}

async function readValueInfo(r: ProtoReader, field: Field, depth: number): Promise<OnnxValueInfo> {
  let name = '';
  let type = '?';
  await r.sub(
    field,
    async (f) => {
      if (f.number === 1 && f.wire === WIRE_LEN) name = await r.string(f, 1024);
      else if (f.number === 2 && f.wire === WIRE_LEN) type = await readType(r, f, depth + 1);
    },
    depth,
  );
  return { name, type };
}

async function readTensor(r: ProtoReader, field: Field, state: GraphState, depth: number): Promise<void> {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  await r.sub(
    field,
    async (f) => {
      switch (f.number) {
        case 1:
          await r.int64s(f, dims, MAX_DIMS);
          break;
        case 2:
          if (f.wire === WIRE_VARINT) dataType = f.value;
          break;
        case 8:
          if (f.wire === WIRE_LEN) name = await r.string(f, 4096);
          break;
        case 13:
          if (f.wire === WIRE_LEN) {
            const [key, value] = await readStringPairs(r, f, depth + 1);
            if (key === 'location' && value && state.external.size < 10_000) state.external.add(value);
          }
          break;
      }
    },
    depth,
  );
  const count = product(r.source, dims, `ONNX initializer "${name.slice(0, 200)}"`);
  state.tally.add(ONNX_TYPES[dataType]?.[1] ?? `type${dataType}`, count);
  state.model.initializerCount++;
  if (state.initializerNames.size < 1_000_000) state.initializerNames.add(name);
}

async function readGraph(r: ProtoReader, field: Field, state: GraphState, depth: number): Promise<void> {
  const { model } = state;
  await r.sub(
    field,
    async (f) => {
      if (f.wire !== WIRE_LEN) return;
      switch (f.number) {
        case 1: {
          model.nodeCount++;
          let op = '';
          let domain = '';
          await r.sub(
            f,
            async (n) => {
              if (n.number === 4 && n.wire === WIRE_LEN) op = await r.string(n, 256);
              else if (n.number === 7 && n.wire === WIRE_LEN) domain = await r.string(n, 256);
            },
            depth + 1,
          );
          const key = domain && domain !== 'ai.onnx' ? `${domain}:${op}` : op;
          if (key in model.opTypes) model.opTypes[key] = (model.opTypes[key] as number) + 1;
          else if (Object.keys(model.opTypes).length < MAX_DISTINCT_OPS) model.opTypes[key] = 1;
          break;
        }
        case 2:
          model.graphName = await r.string(f, 1024);
          break;
        case 5:
          await readTensor(r, f, state, depth + 1);
          break;
        case 15: {
          // SparseTensorProto: values (1) hold the non-zero parameters.
          let dims: number[] = [];
          let valuesField: Field | undefined;
          await r.sub(
            f,
            async (s) => {
              if (s.number === 1 && s.wire === WIRE_LEN) valuesField = s;
              else if (s.number === 3) {
                const list: number[] = [];
                await r.int64s(s, list, MAX_DIMS);
                dims = dims.concat(list);
              }
            },
            depth + 1,
          );
          if (valuesField) await readTensor(r, valuesField, state, depth + 2);
          break;
        }
        case 11:
          if (state.rawInputs.length < MAX_IO * 10) state.rawInputs.push(await readValueInfo(r, f, depth + 1));
          break;
        case 12:
          if (model.outputs.length < MAX_IO) model.outputs.push(await readValueInfo(r, f, depth + 1));
          break;
      }
    },
    depth,
  );
}

/**
 * Reads an ONNX ModelProto's metadata, graph signature and initializer shapes, skipping weights.
 * @throws {MlbomError} FORMAT_INVALID when the bytes are not a protobuf ModelProto
 */
export async function readOnnxModel(source: ByteSource): Promise<OnnxModel> {
  const r: ProtoReader = new ProtoReader(source, 'ONNX');
  const model: OnnxModel = {
    irVersion: 0,
    opsets: [],
    metadata: {},
    inputs: [],
    outputs: [],
    nodeCount: 0,
    opTypes: {},
    initializerCount: 0,
    parameterCount: 0,
    parametersByDtype: {},
    externalData: [],
  };
  const state: GraphState = {
    model,
    tally: new DtypeTally(),
    initializerNames: new Set(),
    rawInputs: [],
    external: new Set(),
  };
  let hasGraph = false;
  let hasIr = false;
  await r.walk(0, source.size, async (f) => {
    switch (f.number) {
      case 1:
        if (f.wire !== WIRE_VARINT) r.fail('ir_version is not a varint');
        model.irVersion = r.int64(f);
        hasIr = true;
        break;
      case 2:
        model.producerName = await r.string(f, 256);
        break;
      case 3:
        model.producerVersion = await r.string(f, 256);
        break;
      case 4:
        model.domain = await r.string(f, 256);
        break;
      case 5:
        if (f.wire === WIRE_VARINT) model.modelVersion = r.int64(f);
        break;
      case 6:
        model.docString = await r.string(f, 4096);
        break;
      case 7:
        if (f.wire !== WIRE_LEN) r.fail('graph is not a message');
        if (hasGraph) r.fail('more than one graph');
        hasGraph = true;
        await readGraph(r, f, state, 1);
        break;
      case 8: {
        if (f.wire !== WIRE_LEN) r.fail('opset_import is not a message');
        let domain = '';
        let version = 0;
        await r.sub(
          f,
          async (o) => {
            if (o.number === 1 && o.wire === WIRE_LEN) domain = await r.string(o, 256);
            else if (o.number === 2 && o.wire === WIRE_VARINT) version = r.int64(o);
          },
          1,
        );
        if (model.opsets.length < 1000) model.opsets.push({ domain: domain || 'ai.onnx', version });
        break;
      }
      case 14:
        if (f.wire === WIRE_LEN && Object.keys(model.metadata).length < 1000) {
          const [key, value] = await readStringPairs(r, f, 1);
          if (key) model.metadata[key] = value;
        }
        break;
    }
  });
  if (!hasIr || model.irVersion <= 0 || model.irVersion > 1000) {
    throw formatError(source, 'not an ONNX model: no valid ir_version');
  }
  if (!hasGraph) throw formatError(source, 'not an ONNX model: no graph');
  // Before IR 4, initializers were listed as graph inputs too; those are weights, not inputs.
  model.inputs = state.rawInputs.filter((i) => !state.initializerNames.has(i.name)).slice(0, MAX_IO);
  model.parameterCount = state.tally.total;
  model.parametersByDtype = state.tally.toRecord();
  model.externalData = [...state.external].sort();
  return model;
}
