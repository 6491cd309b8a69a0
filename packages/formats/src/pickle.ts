// A static pickle walker for metadata: it interprets opcodes (decoded by pickle-opcodes.ts, shared
// with the scanner) over symbolic values and NEVER imports or calls anything. No npm package walks
// pickles without building objects, and the walk must skip the raw data that joblib and torch
// interleave with opcodes, so it is written here.
import type { ByteSource } from '@mlbom/core';
import {
  BYTES_ARG,
  cursorPickleInput,
  newPickleOp,
  PickleDecodeError,
  type PickleDecodeOptions,
  type PickleOp,
  pickleArgKind,
  readBufferedPickleOp,
  readPickleOp,
  STRING_ARG,
} from './pickle-opcodes.js';
import { Cursor, DtypeTally, formatError, product } from './util.js';

export const PICKLE_LIMITS = {
  maxOpcodes: 20_000_000,
  /** Values kept in containers, over the whole walk; past it containers stop remembering items. */
  maxValues: 2_000_000,
  maxStack: 1_000_000,
  maxMemo: 5_000_000,
  maxGlobals: 10_000,
  /** Strings longer than this are skipped (their content is never needed). */
  maxString: 64 * 1024,
  /** Protocol 0 writes arrays' bytes as one escaped UNICODE line: a fitted tree's nodes run to kilobytes. */
  maxLine: 1024 * 1024,
  /** Nested pickles (joblib object arrays) inside one walk. */
  maxNesting: 8,
};

// ---- symbolic values ----

export class PGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
export class PBytes {
  constructor(readonly length: number) {}
}
/** Something whose value is not tracked (long strings, out-of-band buffers, extension codes). */
export class POpaque {
  constructor(readonly what: string) {}
}
export class PList {
  readonly items: PValue[] = [];
  constructor(readonly kind: 'list' | 'tuple' | 'set') {}
}
export class PDict {
  readonly entries: [PValue, PValue][] = [];
  get(key: string): PValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}
/** An object the pickle would build by calling `fn(args)` (REDUCE, NEWOBJ, OBJ, INST); `state` from BUILD. */
export class PCall {
  state: PValue | undefined;
  constructor(
    readonly fn: PValue,
    readonly args: PValue,
  ) {}
}
export class PPersistent {
  constructor(readonly pid: PValue) {}
}
export type PValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | PGlobal
  | PBytes
  | POpaque
  | PList
  | PDict
  | PCall
  | PPersistent;

export interface GlobalRef {
  module: string;
  name: string;
  /** Offset of the opcode that named it. */
  offset: number;
}

export interface TorchTensors {
  tensorCount: number;
  parameterCount: number;
  parametersByDtype: Record<string, number>;
  /** Distinct storages (persistent ids). */
  storageCount: number;
  /** Storage key → storage type (e.g. `FloatStorage`) and element count, from the persistent ids. */
  storages: Record<string, { type: string; numel?: number | undefined }>;
}

export interface PickleInfo {
  /** Highest PROTO seen (0 or 1 for pickles without one). */
  protocol: number;
  /** Referenced globals, `module.name`, in first-seen order (at most 10,000). */
  globals: string[];
  globalRefs: GlobalRef[];
  /** Class of the unpickled root object, when it is one (e.g. `torch.nn.modules.linear.Linear`). */
  rootClass?: string | undefined;
  /** `_sklearn_version` carried by pickled scikit-learn estimators. */
  sklearnVersion?: string | undefined;
  torch?: TorchTensors | undefined;
  /** Arrays joblib wrote inline (NumpyArrayWrapper), skipped. */
  joblibArrays: number;
  opcodeCount: number;
  /** Offset just past the STOP opcode. */
  end: number;
  /** True when a limit stopped the walk early (results are partial). */
  truncated: boolean;
  /** The root value (symbolic), for callers that look further (e.g. legacy torch sys_info). */
  root: PValue | undefined;
}

const TORCH_STORAGE_DTYPES: Record<string, string> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  ComplexFloatStorage: 'C64',
  ComplexDoubleStorage: 'C128',
  QInt8Storage: 'QI8',
  QUInt8Storage: 'QU8',
  QInt32Storage: 'QI32',
  Float8_e4m3fnStorage: 'F8_E4M3',
  Float8_e5m2Storage: 'F8_E5M2',
};
const TORCH_DTYPES: Record<string, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
  complex64: 'C64',
  complex128: 'C128',
  float8_e4m3fn: 'F8_E4M3',
  float8_e5m2: 'F8_E5M2',
};

const MARK = Symbol('mark');

/** Classes that hold data rather than being a model. */
const CONTAINER_CLASSES = new Set([
  'collections.OrderedDict',
  'builtins.dict',
  'builtins.list',
  'builtins.tuple',
  '__builtin__.dict',
  'collections.defaultdict',
]);

function className(value: PValue | undefined): string | undefined {
  if (!(value instanceof PCall)) return undefined;
  const fn = value.fn;
  if (!(fn instanceof PGlobal)) return undefined;
  const q = fn.qualified;
  const args = value.args instanceof PList ? value.args.items : [];
  if (q === 'copyreg._reconstructor' || q === 'copy_reg._reconstructor' || q === 'copyreg.__newobj__') {
    const cls = args[0];
    return cls instanceof PGlobal ? cls.qualified : undefined;
  }
  if (q === 'torch._utils._rebuild_parameter' || q === 'torch._utils._rebuild_tensor_v2') return 'torch.Tensor';
  return q;
}

function numbers(value: PValue | undefined): number[] | undefined {
  if (!(value instanceof PList)) return undefined;
  const out: number[] = [];
  for (const v of value.items) {
    if (typeof v === 'number') out.push(v);
    else if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) out.push(Number(v));
    else return undefined;
  }
  return out;
}

/** Bytes per item of a numpy dtype string (`f8`, `<i4`, `U5`, `V24`); undefined for objects. */
export function numpyItemSize(descr: string): number | undefined {
  const m = /^[<>|=]?([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) return undefined;
  const kind = m[1] as string;
  const n = m[2] ? Number(m[2]) : undefined;
  switch (kind) {
    case 'O':
      return undefined;
    case 'U':
      return (n ?? 0) * 4;
    case 'b':
    case 'B':
      return n ?? 1;
    case '?':
      return 1;
    case 'e':
      return 2;
    case 'f':
      return n ?? 4;
    case 'd':
      return 8;
    default:
      return n;
  }
}

interface Walk {
  info: PickleInfo;
  values: number;
  seenGlobals: Set<string>;
  torchTally: DtypeTally;
  torchTensors: number;
  storages: Map<string, { type: string; numel?: number | undefined }>;
  joblib: boolean;
  depth: number;
}

class Vm {
  readonly stack: (PValue | typeof MARK)[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, PValue>();

  constructor(
    readonly c: Cursor,
    readonly w: Walk,
  ) {}

  fail(message: string): never {
    throw formatError(this.c.source, `pickle: ${message} (offset ${this.c.pos})`);
  }

  push(v: PValue): void {
    if (this.stack.length >= PICKLE_LIMITS.maxStack) this.fail('stack too deep');
    this.stack.push(v);
  }

  pop(): PValue {
    if (this.stack.length === 0 || (this.marks.length > 0 && this.stack.length <= (this.marks.at(-1) as number))) {
      this.fail('stack underflow');
    }
    return this.stack.pop() as PValue;
  }

  top(): PValue {
    const v = this.stack.at(-1);
    if (v === undefined || v === MARK) this.fail('stack underflow');
    return v as PValue;
  }

  popMark(): PValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('no MARK on the stack');
    return this.stack.splice(mark) as PValue[];
  }

  keep(): boolean {
    return ++this.w.values <= PICKLE_LIMITS.maxValues;
  }

  container(kind: 'list' | 'tuple' | 'set', items: PValue[]): PList {
    const l = new PList(kind);
    for (const item of items) if (this.keep()) l.items.push(item);
    return l;
  }

  addGlobal(module: string, name: string, offset: number): PGlobal {
    const g = new PGlobal(module, name);
    const q = g.qualified;
    if (!this.w.seenGlobals.has(q) && this.w.seenGlobals.size < PICKLE_LIMITS.maxGlobals) {
      this.w.seenGlobals.add(q);
      this.w.info.globals.push(q);
      this.w.info.globalRefs.push({ module, name, offset });
    }
    return g;
  }

  /** Torch tensors rebuilt from storages: counts parameters by dtype. */
  onReduce(call: PCall): void {
    const fn = call.fn;
    if (!(fn instanceof PGlobal) || fn.module !== 'torch._utils') return;
    if (!fn.name.startsWith('_rebuild_tensor')) return;
    const args = call.args instanceof PList ? call.args.items : [];
    const storage = args[0];
    const size = numbers(args[2]);
    if (!size) return;
    let dtype: string | undefined;
    if (storage instanceof PPersistent && storage.pid instanceof PList) {
      const type = storage.pid.items[1];
      if (type instanceof PGlobal) dtype = TORCH_STORAGE_DTYPES[type.name] ?? type.name;
    }
    const explicit = args[6];
    if (explicit instanceof PGlobal && explicit.module === 'torch')
      dtype = TORCH_DTYPES[explicit.name] ?? explicit.name;
    let count: number;
    try {
      count = product(this.c.source, size, 'torch tensor size');
    } catch {
      return;
    }
    this.w.torchTensors++;
    this.w.torchTally.add(dtype ?? 'unknown', count);
  }

  onPersistent(pid: PValue): void {
    if (!(pid instanceof PList) || pid.items[0] !== 'storage') return;
    const key = pid.items[2];
    if ((typeof key === 'string' || typeof key === 'number') && this.w.storages.size < 1_000_000) {
      const type = pid.items[1];
      const numel = pid.items[4];
      this.w.storages.set(String(key), {
        type: type instanceof PGlobal ? type.name : 'unknown',
        numel: typeof numel === 'number' ? numel : undefined,
      });
    }
  }

  /** BUILD: scikit-learn's version, and joblib's inline arrays (which must be skipped). */
  async onBuild(obj: PValue, state: PValue): Promise<void> {
    if (obj instanceof PCall) obj.state = state;
    if (!(state instanceof PDict)) return;
    const version = state.get('_sklearn_version');
    if (typeof version === 'string' && this.w.info.sklearnVersion === undefined) this.w.info.sklearnVersion = version;
    if (!this.w.joblib || className(obj) !== 'joblib.numpy_pickle.NumpyArrayWrapper') return;
    this.w.info.joblibArrays++;
    const dtype = state.get('dtype');
    let descr: string | undefined;
    if (dtype instanceof PCall && dtype.args instanceof PList && typeof dtype.args.items[0] === 'string') {
      descr = dtype.args.items[0];
    }
    const shape = numbers(state.get('shape'));
    if (descr === undefined || shape === undefined) this.fail('joblib array without a readable dtype and shape');
    const alignment = state.get('numpy_array_alignment_bytes');
    const itemSize = numpyItemSize(descr);
    if (itemSize === undefined) {
      if (!/^[<>|=]?O\d*$/.test(descr)) this.fail(`joblib array of unsupported dtype ${descr}`);
      // An object array is written as a nested pickle right here.
      if (this.w.depth >= PICKLE_LIMITS.maxNesting) this.fail('nested pickles too deep');
      this.w.depth++;
      try {
        await walk(this.c, this.w);
      } finally {
        this.w.depth--;
      }
      return;
    }
    if (typeof alignment === 'number' && alignment > 0) {
      await this.c.need(1, 'joblib padding');
      this.c.skip(this.c.u8(), 'joblib padding');
    }
    const count = product(this.c.source, shape, 'joblib array shape');
    this.c.skip(count * itemSize, 'joblib array data');
  }
}

/** How the metadata walk decodes: short lines, long strings skipped unread, bytes never kept. */
const DECODE: PickleDecodeOptions = {
  maxLine: PICKLE_LIMITS.maxLine,
  maxText: PICKLE_LIMITS.maxString,
  keepText: 0,
  maxKeptBytes: 0,
};

function numeric(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

async function walk(c: Cursor, w: Walk): Promise<PValue | undefined> {
  const vm: Vm = new Vm(c, w);
  const input = cursorPickleInput(c);
  const scratch = newPickleOp();
  const info = w.info;
  for (;;) {
    if (++info.opcodeCount > PICKLE_LIMITS.maxOpcodes) {
      info.truncated = true;
      return undefined;
    }
    let op: PickleOp;
    try {
      op = readBufferedPickleOp(input, DECODE, scratch) ?? (await readPickleOp(input, DECODE));
    } catch (error) {
      if (!(error instanceof PickleDecodeError)) throw error;
      throw formatError(c.source, `pickle: ${error.message} (offset ${error.offset})`);
    }
    const at = op.offset;
    switch (op.code) {
      case 0x28: // MARK
        vm.marks.push(vm.stack.length);
        break;
      case 0x2e: // STOP
        return vm.pop();
      case 0x30: // POP
        if (vm.marks.length > 0 && vm.marks.at(-1) === vm.stack.length) vm.marks.pop();
        else vm.pop();
        break;
      case 0x31: // POP_MARK
        vm.popMark();
        break;
      case 0x32: // DUP
        vm.push(vm.top());
        break;
      case 0x46: // FLOAT
      case 0x47: // BINFLOAT
        vm.push(op.float);
        break;
      case 0x49: // INT
      case 0x4c: // LONG
        vm.push(op.bool ?? numeric(op.big ?? 0n));
        break;
      case 0x4a: // BININT
      case 0x4b: // BININT1
      case 0x4d: // BININT2
        vm.push(op.int);
        break;
      case 0x8a: // LONG1
      case 0x8b: // LONG4
        vm.push(op.big === undefined ? new POpaque('huge integer') : numeric(op.big));
        break;
      case 0x4e: // NONE
        vm.push(null);
        break;
      case 0x50: {
        // PERSID
        vm.onPersistent(op.text);
        vm.push(new PPersistent(op.text));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = vm.pop();
        vm.onPersistent(pid);
        vm.push(new PPersistent(pid));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = vm.pop();
        const fn = vm.pop();
        const call = new PCall(fn, args);
        vm.onReduce(call);
        vm.push(call);
        break;
      }
      case 0x61: {
        // APPEND
        const v = vm.pop();
        const list = vm.top();
        if (list instanceof PList && vm.keep()) list.items.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = vm.popMark();
        const list = vm.top();
        if (list instanceof PList) for (const v of items) if (vm.keep()) list.items.push(v);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = vm.popMark();
        const set = vm.top();
        if (set instanceof PList) for (const v of items) if (vm.keep()) set.items.push(v);
        break;
      }
      case 0x62: {
        // BUILD
        const state = vm.pop();
        await vm.onBuild(vm.top(), state);
        break;
      }
      case 0x63: {
        // GLOBAL
        vm.push(vm.addGlobal(op.text, op.name, at));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = vm.pop();
        const module = vm.pop();
        if (typeof module !== 'string' || typeof name !== 'string') vm.fail('STACK_GLOBAL of non-strings');
        vm.push(vm.addGlobal(module, name, at));
        break;
      }
      case 0x69: {
        // INST
        const args = vm.popMark();
        vm.push(new PCall(vm.addGlobal(op.text, op.name, at), vm.container('tuple', args)));
        break;
      }
      case 0x6f: {
        // OBJ
        const items = vm.popMark();
        if (items.length === 0) vm.fail('OBJ without a class');
        vm.push(new PCall(items[0] as PValue, vm.container('tuple', items.slice(1))));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = vm.pop();
        const cls = vm.pop();
        vm.push(new PCall(cls, args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        vm.pop();
        const args = vm.pop();
        const cls = vm.pop();
        vm.push(new PCall(cls, args));
        break;
      }
      case 0x64: {
        // DICT
        const items = vm.popMark();
        const d = new PDict();
        for (let i = 0; i + 1 < items.length; i += 2)
          if (vm.keep()) d.entries.push([items[i], items[i + 1]] as [PValue, PValue]);
        vm.push(d);
        break;
      }
      case 0x7d: // EMPTY_DICT
        vm.push(new PDict());
        break;
      case 0x73: {
        // SETITEM
        const v = vm.pop();
        const k = vm.pop();
        const d = vm.top();
        if (d instanceof PDict && vm.keep()) d.entries.push([k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = vm.popMark();
        const d = vm.top();
        if (d instanceof PDict) {
          for (let i = 0; i + 1 < items.length; i += 2)
            if (vm.keep()) d.entries.push([items[i], items[i + 1]] as [PValue, PValue]);
        }
        break;
      }
      case 0x6c: // LIST
        vm.push(vm.container('list', vm.popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        vm.push(new PList('list'));
        break;
      case 0x74: // TUPLE
        vm.push(vm.container('tuple', vm.popMark()));
        break;
      case 0x29: // EMPTY_TUPLE
        vm.push(new PList('tuple'));
        break;
      case 0x85: // TUPLE1
        vm.push(vm.container('tuple', [vm.pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = vm.pop();
        const a = vm.pop();
        vm.push(vm.container('tuple', [a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c3 = vm.pop();
        const b = vm.pop();
        const a = vm.pop();
        vm.push(vm.container('tuple', [a, b, c3]));
        break;
      }
      case 0x8f: // EMPTY_SET
        vm.push(new PList('set'));
        break;
      case 0x91: // FROZENSET
        vm.push(vm.container('set', vm.popMark()));
        break;
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
        vm.push(vm.memo.get(op.int) ?? new POpaque('memo'));
        break;
      case 0x70: // PUT
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
        if (vm.memo.size < PICKLE_LIMITS.maxMemo) vm.memo.set(op.int, vm.top());
        break;
      case 0x94: // MEMOIZE
        if (vm.memo.size < PICKLE_LIMITS.maxMemo) vm.memo.set(vm.memo.size, vm.top());
        break;
      case 0x80: // PROTO
        if (op.int > 5) vm.fail(`unsupported protocol ${op.int}`);
        info.protocol = Math.max(info.protocol, op.int);
        break;
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        vm.push(new POpaque(`ext ${op.int}`));
        break;
      case 0x88: // NEWTRUE
        vm.push(true);
        break;
      case 0x89: // NEWFALSE
        vm.push(false);
        break;
      case 0x95: // FRAME: the length is not trusted; opcodes are read in sequence.
        break;
      case 0x97: // NEXT_BUFFER
        vm.push(new POpaque('out-of-band buffer'));
        break;
      case 0x98: // READONLY_BUFFER
        break;
      default: {
        const arg = pickleArgKind(op.code);
        if (arg === STRING_ARG) vm.push(op.whole ? op.text : new POpaque(`string of ${op.length} bytes`));
        else if (arg === BYTES_ARG) vm.push(new PBytes(op.length));
        else vm.fail(`unknown opcode 0x${op.code.toString(16).padStart(2, '0')}`);
      }
    }
  }
}

export interface PickleOptions {
  /** Where the pickle starts (default 0). */
  offset?: number;
  /** Skip the arrays joblib writes inline after NumpyArrayWrapper objects. */
  joblib?: boolean;
}

/**
 * Walks a pickle statically: which globals it references, the root object's class, and the facts
 * frameworks leave in it (scikit-learn's version, torch tensor shapes). Never executes anything.
 * @throws {MlbomError} FORMAT_INVALID for an unknown opcode, a truncated stream, or stack misuse
 */
export async function readPickleGlobals(source: ByteSource, options: PickleOptions = {}): Promise<PickleInfo> {
  const cursor = new Cursor(source, options.offset ?? 0);
  return walkPickle(cursor, options);
}

/** Like readPickleGlobals, from a cursor's position (used for the pickles inside legacy torch files). */
export async function walkPickle(cursor: Cursor, options: { joblib?: boolean } = {}): Promise<PickleInfo> {
  const info: PickleInfo = {
    protocol: 0,
    globals: [],
    globalRefs: [],
    joblibArrays: 0,
    opcodeCount: 0,
    end: 0,
    truncated: false,
    root: undefined,
  };
  const w: Walk = {
    info,
    values: 0,
    seenGlobals: new Set(),
    torchTally: new DtypeTally(),
    torchTensors: 0,
    storages: new Map(),
    joblib: options.joblib ?? false,
    depth: 0,
  };
  const root = await walk(cursor, w);
  info.root = root;
  info.end = cursor.pos;
  const cls = className(root);
  if (cls && !CONTAINER_CLASSES.has(cls)) info.rootClass = cls;
  if (w.torchTensors > 0 || w.storages.size > 0) {
    info.torch = {
      tensorCount: w.torchTensors,
      parameterCount: w.torchTally.total,
      parametersByDtype: w.torchTally.toRecord(),
      storageCount: w.storages.size,
      storages: Object.fromEntries(w.storages),
    };
  }
  return info;
}
