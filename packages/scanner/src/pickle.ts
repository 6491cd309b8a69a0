import { inflateSync } from 'node:zlib';
import {
  BYTES_ARG,
  latin1,
  newPickleOp,
  PickleDecodeError,
  type PickleDecodeOptions,
  type PickleOp,
  pickleArgKind,
  pyRepr,
  readBufferedPickleOp,
  readPickleOp,
  STRING_ARG,
} from '@mlbom/formats';
import { classifyGlobal, type Verdict } from './classify.js';
import type { Collector } from './collector.js';
import { LimitError, type Reader } from './input.js';
import { NESTED_LOADERS, PY2_MODULE_ALIASES, PY2_NAME_ALIASES } from './rules.js';

/**
 * A pickle analyser that never unpickles: it walks the opcodes of protocols 0-5 (decoded by
 * @mlbom/formats' pickle-opcodes, shared with the metadata reader) and emulates the
 * stack, the mark stack and the memo symbolically, recording every global imported (GLOBAL, INST,
 * STACK_GLOBAL, whatever feeds its operands) and every call made (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ,
 * INST, BUILD). FRAME lengths are ignored: the opcodes are read in sequence, as the C unpickler does.
 */

// --- values on the symbolic stack ---------------------------------------------------------------

export interface GlobalRec {
  module: string;
  name: string;
  verdict: Verdict;
  offset: number;
  how: string;
  count: number;
  calls: string[];
}

export type Value =
  | { k: 'none' }
  | { k: 'bool'; v: boolean }
  | { k: 'int'; v: number }
  | { k: 'float' }
  | { k: 'str'; v: string; len: number }
  | { k: 'bytes'; data: Uint8Array | undefined; len: number }
  | { k: 'global'; module: string; name: string; rec: GlobalRec | undefined; off: number }
  | { k: 'call'; fn: Value; args: Value; op: string; off: number; state?: Value }
  | { k: 'tuple'; items: Value[]; more: number }
  | { k: 'list'; items: Value[]; more: number }
  | { k: 'dict'; items: [Value, Value][]; more: number }
  | { k: 'set'; more: number }
  | { k: 'persid'; pid: Value }
  | { k: 'unknown'; why: string };

/** Findings other than imported globals kept per pickle run. */
const MAX_OTHER = 100;

const NONE: Value = { k: 'none' };
const TRUE: Value = { k: 'bool', v: true };
const FALSE: Value = { k: 'bool', v: false };
const FLOAT: Value = { k: 'float' };
const EMPTY_TUPLE: Value = { k: 'tuple', items: [], more: 0 };
const UNKNOWN_INT: Value = { k: 'int', v: Number.NaN };
const SMALL_INTS: Value[] = Array.from({ length: 256 }, (_, v) => ({ k: 'int', v }) as Value);

function intValue(v: number): Value {
  return v >= 0 && v < 256 && Number.isInteger(v) ? (SMALL_INTS[v] as Value) : { k: 'int', v };
}

export interface PickleLimits {
  /** Stack entries before the analyser falls back to reading opcodes only. */
  maxStack: number;
  /** Memo entries before the same fallback. */
  maxMemo: number;
  /** Items kept per list/tuple/dict (the rest is counted, not stored). */
  maxItems: number;
  /** Bytes literals kept whole (for nested-pickle scanning and evidence). */
  maxKeptBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxStack: 1_000_000,
  maxMemo: 1_000_000,
  maxItems: 10_000,
  maxKeptBytes: 16 * 1024 * 1024,
};

/**
 * How the analyser decodes: lines up to 1 MiB, strings over 1 MiB kept in part (64 KiB, for
 * evidence), bytes literals kept up to `maxKeptBytes` (set per run from the limits).
 */
function decodeOptions(limits: PickleLimits): PickleDecodeOptions {
  return { maxLine: 1024 * 1024, maxText: 1024 * 1024, keepText: 64 * 1024, maxKeptBytes: limits.maxKeptBytes };
}

export interface PickleContext {
  collector: Collector;
  /** Location string of an offset in this stream, e.g. `archive/data.pkl@12`. */
  location(offset: number): string;
  limits: PickleLimits;
  /** A bytes literal passed to a loader (`pickle.loads`, `torch.storage._load_from_bytes`): scan it too. */
  onNested?(bytes: Uint8Array, via: string, offset: number): void;
  /** Whether joblib's array layout applies (arrays follow NumpyArrayWrapper objects in the stream). */
  joblib: boolean;
}

export interface PickleRun {
  /** 'stop': reached STOP; 'empty': no bytes at all; 'error': could not be parsed to the end. */
  status: 'stop' | 'empty' | 'error';
  error?: string;
  errorOffset?: number;
  /** Opcodes read. */
  ops: number;
  /** The value left by STOP. */
  result?: Value;
  /** Start offset of the pickle. */
  start: number;
  /** Offset after STOP (or of the error). */
  end: number;
  /** What was found, to be reported by `flushFindings` once the caller knows how much to trust the parse. */
  records: Map<string, GlobalRec>;
  other: Array<{
    rule: 'MLBOM-PICKLE-DYNAMIC-GLOBAL' | 'MLBOM-PICKLE-BUILD-ON-GLOBAL' | 'MLBOM-PICKLE-EXTENSION-CODE';
    key: string;
    detail: string;
    offset: number;
  }>;
  /** Set when a limit made the analyser fall back to reading opcodes only. */
  degraded?: string;
}

// --- describing values for evidence ---------------------------------------------------------------

/** A short Python-like rendering of a value, bounded in depth and length. */
export function describe(v: Value, depth = 0): string {
  if (depth > 4) return '...';
  switch (v.k) {
    case 'none':
      return 'None';
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'int':
      return Number.isNaN(v.v) ? '<int>' : String(v.v);
    case 'float':
      return '<float>';
    case 'str':
      return pyRepr(v.v) + (v.len > v.v.length ? `<+${v.len - v.v.length} chars>` : '');
    case 'bytes':
      return `<${v.len} bytes>`;
    case 'global':
      return `${v.module}.${v.name}`;
    case 'call': {
      const args =
        v.args.k === 'tuple' ? v.args.items.map((a) => describe(a, depth + 1)).join(', ') : describe(v.args, depth + 1);
      const text = `${describe(v.fn, depth + 1)}(${args})`;
      return text.length > 300 ? `${text.slice(0, 297)}...` : text;
    }
    case 'tuple': {
      const inner = v.items.slice(0, 6).map((a) => describe(a, depth + 1));
      if (v.items.length > 6 || v.more > 0) inner.push('...');
      return `(${inner.join(', ')}${v.items.length === 1 && v.more === 0 ? ',' : ''})`;
    }
    case 'list': {
      const inner = v.items.slice(0, 6).map((a) => describe(a, depth + 1));
      if (v.items.length > 6 || v.more > 0) inner.push('...');
      return `[${inner.join(', ')}]`;
    }
    case 'dict':
      return v.items.length + v.more === 0 ? '{}' : `{...${v.items.length + v.more} items}`;
    case 'set':
      return 'set(...)';
    case 'persid':
      return `persistent_id(${describe(v.pid, depth + 1)})`;
    case 'unknown':
      return `<${v.why}>`;
  }
}

// --- the machine ---------------------------------------------------------------------------------

class Structural extends Error {}
class Lexical extends Error {}

const JOBLIB_WRAPPERS = new Set([
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
]);

/** The Python-3 path pickle would import for a (module, name) pair. */
function resolvedPath(module: string, name: string): string {
  const mapped = PY2_NAME_ALIASES[`${module}.${name}`];
  if (mapped) return mapped;
  return `${PY2_MODULE_ALIASES[module] ?? module}.${name}`;
}

/** Root global of a chain of calls (`getattr(...)(...)` -> getattr). */
function rootGlobal(v: Value): Extract<Value, { k: 'global' }> | undefined {
  let cur: Value = v;
  for (let i = 0; i < 16; i++) {
    if (cur.k === 'global') return cur;
    if (cur.k !== 'call') return undefined;
    cur = cur.fn;
  }
  return undefined;
}

function firstArg(args: Value): Value | undefined {
  return args.k === 'tuple' ? args.items[0] : undefined;
}

function strOf(v: Value | undefined): string | undefined {
  if (!v) return undefined;
  if (v.k === 'str') return v.v;
  if (v.k === 'bytes' && v.data) return latin1(v.data);
  return undefined;
}

const MAX_EVAL_OUTPUT = 16 * 1024 * 1024;

/**
 * Pure helpers whose result is computed when their arguments are literals, so that a payload
 * assembled at load time (`pickle.loads(zlib.decompress(b'...'))`) is still scanned.
 */
function evaluate(path: string, args: Value): Value | undefined {
  const a0 = firstArg(args);
  const a1 = args.k === 'tuple' ? args.items[1] : undefined;
  try {
    switch (path) {
      case '_codecs.encode':
      case 'codecs.encode': {
        const s = a0?.k === 'str' && a0.len === a0.v.length ? a0.v : undefined;
        const enc = strOf(a1)?.toLowerCase().replace(/[-_]/g, '');
        if (s === undefined || (enc !== undefined && enc !== 'latin1' && enc !== 'iso88591')) return undefined;
        const data = Buffer.from(s, 'latin1');
        return { k: 'bytes', data: new Uint8Array(data), len: data.length };
      }
      case 'zlib.decompress': {
        if (a0?.k !== 'bytes' || !a0.data) return undefined;
        const data = inflateSync(a0.data, { maxOutputLength: MAX_EVAL_OUTPUT });
        return { k: 'bytes', data: new Uint8Array(data), len: data.length };
      }
      case 'base64.b64decode':
      case 'base64.decodebytes':
      case 'base64.standard_b64decode':
      case 'binascii.a2b_base64': {
        const s = strOf(a0);
        if (s === undefined) return undefined;
        const data = Buffer.from(s, 'base64');
        return { k: 'bytes', data: new Uint8Array(data), len: data.length };
      }
      case 'builtins.bytes.fromhex':
      case 'binascii.unhexlify':
      case 'binascii.a2b_hex': {
        const s = strOf(a0);
        if (s === undefined) return undefined;
        const data = Buffer.from(s.replace(/\s+/g, ''), 'hex');
        return { k: 'bytes', data: new Uint8Array(data), len: data.length };
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Size in bytes of one element of a NumPy dtype value (`numpy.dtype('f4', ...)` + BUILD state); -1 for object. */
export function dtypeItemSize(dtype: Value | undefined): number | undefined {
  if (dtype?.k !== 'call') return undefined;
  const code = strOf(firstArg(dtype.args));
  if (code === undefined) return undefined;
  const state = dtype.state?.k === 'tuple' ? dtype.state.items : undefined;
  // numpy.dtype's state: (version, byte order, subarray, names, fields, elsize, alignment, flags).
  // A structured dtype (a decision tree's nodes) is 'V<n>'; its elsize is the record size.
  const fields = state?.[4];
  const hasObjects = state?.[7]?.k === 'int' && (state[7].v & 0x01) !== 0; // NPY_ITEM_REFCOUNT
  if (fields && fields.k !== 'none' && hasObjects) return -1; // records holding objects: a nested pickle
  const m = /^[<>|=]?([a-zA-Z])(\d*)$/.exec(code);
  if (!m) return undefined;
  const kind = m[1] as string;
  if (kind === 'O') return -1;
  const elsize = state?.[5];
  if (elsize?.k === 'int' && elsize.v > 0) return elsize.v;
  const n = m[2] ? Number(m[2]) : Number.NaN;
  if (kind === 'U') return Number.isFinite(n) ? n * 4 : undefined;
  if (kind === 'b' && !m[2]) return 1;
  if (kind === '?') return 1;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function dictGet(d: Value | undefined, key: string): Value | undefined {
  if (d?.k !== 'dict') return undefined;
  for (const [k, v] of d.items) if (k.k === 'str' && k.v === key) return v;
  return undefined;
}

/**
 * Reads one pickle (up to and including STOP) from `reader`. Never throws for bad input: lexical
 * errors end the run with status 'error'; structural errors (a missing mark, an undefined memo key)
 * are recorded and the walk goes on leniently, to find what else the bytes would do.
 */
export async function runPickle(reader: Reader, ctx: PickleContext): Promise<PickleRun> {
  const start = reader.pos;
  const run: PickleRun = { status: 'stop', ops: 0, start, end: start, records: new Map(), other: [] };
  if (await reader.atEnd()) {
    run.status = 'empty';
    return run;
  }
  const { limits } = ctx;
  const DECODE = decodeOptions(limits);
  const scratch = newPickleOp();
  let stack: Value[] = [];
  const marks: Value[][] = [];
  const memo = new Map<number, Value>();
  let lexicalOnly = false;
  /** Last two string literals (for STACK_GLOBAL once the stack is no longer tracked). */
  let lastStr: [string, string] = ['', ''];
  let structuralError: { message: string; offset: number } | undefined;
  let opOffset = start;

  const fail = (message: string): never => {
    throw new Structural(message);
  };
  const pop = (): Value => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    return v as Value;
  };
  const top = (): Value => {
    const v = stack[stack.length - 1];
    if (v === undefined) fail('stack underflow');
    return v as Value;
  };
  const popMark = (): Value[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail('could not find MARK');
    stack = prev as Value[];
    return items;
  };
  const push = (v: Value) => {
    stack.push(v);
  };
  /** A container's items, kept up to maxItems (the rest only counted). */
  const capped = (items: Value[]): { items: Value[]; more: number } => {
    const more = Math.max(0, items.length - limits.maxItems);
    return { items: more ? items.slice(0, limits.maxItems) : items, more };
  };
  const addItem = <T>(arr: T[], item: T, holder: { more: number }) => {
    if (arr.length < limits.maxItems) arr.push(item);
    else holder.more++;
  };

  /** Adds `k1, v1, k2, v2, ...` (a dangling key is dropped, as Python would fail on it) to a dict. */
  const addPairs = (d: Extract<Value, { k: 'dict' }>, items: Value[]) => {
    for (let i = 0; i + 1 < items.length; i += 2) addItem(d.items, [items[i] as Value, items[i + 1] as Value], d);
  };

  /** Records a finding other than an imported global (at most MAX_OTHER per run). */
  const note = (o: PickleRun['other'][number]) => {
    if (run.other.length < MAX_OTHER) run.other.push(o);
  };
  const recordGlobal = (module: string, name: string, how: string, offset: number): Value => {
    const key = `${module}\n${name}`;
    let rec = run.records.get(key);
    if (!rec) {
      rec = { module, name, verdict: classifyGlobal(module, name), offset, how, count: 0, calls: [] };
      if (run.records.size < 10_000) run.records.set(key, rec);
    }
    rec.count++;
    return { k: 'global', module, name, rec, off: offset };
  };

  const onCall = (call: Extract<Value, { k: 'call' }>): Value => {
    const root = rootGlobal(call.fn);
    if (root?.rec && root.rec.calls.length < 2) {
      root.rec.calls.push(`${describe(call)} via ${call.op} at offset ${call.off}`);
    }
    if (call.fn.k === 'global') {
      const path = resolvedPath(call.fn.module, call.fn.name);
      const arg = firstArg(call.args);
      if (NESTED_LOADERS.has(path) && arg?.k === 'bytes' && arg.data && ctx.onNested) {
        ctx.onNested(arg.data, path, call.off);
      }
      const value = evaluate(path, call.args);
      if (value) return value;
    }
    return call;
  };

  const stackGlobal = (offset: number) => {
    if (lexicalOnly) {
      push(recordGlobal(lastStr[0], lastStr[1], 'STACK_GLOBAL', offset));
      return;
    }
    const nameV = pop();
    const moduleV = pop();
    const module = strOf(moduleV);
    const name = strOf(nameV);
    if (module !== undefined && name !== undefined) {
      if (moduleV.k !== 'str' || nameV.k !== 'str') {
        // Python rejects non-str operands, so this fails at load time, but it shows the intent.
        structuralError ??= { message: 'STACK_GLOBAL operands are not str', offset };
      }
      push(recordGlobal(module, name, 'STACK_GLOBAL', offset));
      return;
    }
    if (
      (moduleV.k === 'int' || moduleV.k === 'none' || moduleV.k === 'bool' || moduleV.k === 'float') &&
      (nameV.k === 'int' || nameV.k === 'none' || nameV.k === 'bool' || nameV.k === 'float' || nameV.k === 'str')
    ) {
      structuralError ??= { message: 'STACK_GLOBAL operands are not str', offset };
      push({ k: 'unknown', why: 'invalid global' });
      return;
    }
    const detail = `STACK_GLOBAL at offset ${offset} imports a name computed at load time: module ${describe(moduleV)}, name ${describe(nameV)}`;
    note({ rule: 'MLBOM-PICKLE-DYNAMIC-GLOBAL', key: detail.slice(0, 200), detail, offset });
    push({ k: 'unknown', why: 'dynamically imported global' });
  };

  const memoPut = (idx: number, v: Value) => {
    if (memo.size >= limits.maxMemo && !memo.has(idx)) {
      degrade(`memo larger than ${limits.maxMemo} entries`);
      return;
    }
    memo.set(idx, v);
  };
  const memoGet = (idx: number): Value => {
    const v = memo.get(idx);
    if (v === undefined) {
      structuralError ??= { message: `memo key ${idx} is not defined`, offset: opOffset };
      return { k: 'unknown', why: `undefined memo ${idx}` };
    }
    return v;
  };
  const degrade = (why: string) => {
    if (lexicalOnly) return;
    lexicalOnly = true;
    run.degraded = why;
    stack = [];
    marks.length = 0;
    memo.clear();
  };

  const str = (op: PickleOp): Value => {
    if (!op.whole) return { k: 'str', v: op.text, len: op.length };
    lastStr = [lastStr[1], op.text];
    return { k: 'str', v: op.text, len: op.text.length };
  };

  let ops = 0;
  try {
    for (;;) {
      const op = readBufferedPickleOp(reader, DECODE, scratch) ?? (await readPickleOp(reader, DECODE));
      opOffset = op.offset;
      ops++;
      if ((ops & 0xffff) === 0 && reader.signal?.aborted) throw reader.signal.reason ?? new Error('aborted');
      if (!lexicalOnly && stack.length > limits.maxStack) degrade(`stack deeper than ${limits.maxStack} entries`);
      try {
        switch (op.code) {
          // ---- structure ----
          case 0x28: // MARK
            if (!lexicalOnly) {
              marks.push(stack);
              stack = [];
              if (marks.length > limits.maxStack) degrade(`more than ${limits.maxStack} nested marks`);
            }
            break;
          case 0x2e: {
            // STOP
            run.ops = ops;
            run.end = reader.pos;
            if (!lexicalOnly) run.result = pop();
            if (structuralError) {
              run.status = 'error';
              run.error = structuralError.message;
              run.errorOffset = structuralError.offset;
            }
            return run;
          }
          case 0x30: // POP
            if (lexicalOnly) break;
            if (stack.length > 0) stack.pop();
            else popMark();
            break;
          case 0x31: // POP_MARK
            if (!lexicalOnly) popMark();
            break;
          case 0x32: // DUP
            if (!lexicalOnly) push(top());
            break;
          case 0x80: // PROTO
            if (op.int > 5) structuralError ??= { message: `unsupported pickle protocol ${op.int}`, offset: opOffset };
            break;
          case 0x95: // FRAME: the length is not trusted; opcodes are read in sequence.
            break;
          // ---- constants ----
          case 0x4e: // NONE
            if (!lexicalOnly) push(NONE);
            break;
          case 0x88: // NEWTRUE
            if (!lexicalOnly) push(TRUE);
            break;
          case 0x89: // NEWFALSE
            if (!lexicalOnly) push(FALSE);
            break;
          case 0x49: // INT
          case 0x4c: // LONG
            if (!lexicalOnly) push(op.bool === undefined ? intValue(Number(op.big)) : op.bool ? TRUE : FALSE);
            break;
          case 0x4a: // BININT
          case 0x4b: // BININT1
          case 0x4d: // BININT2
            if (!lexicalOnly) push(intValue(op.int));
            break;
          case 0x8a: // LONG1
          case 0x8b: // LONG4
            if (!lexicalOnly) push(op.length > 8 || op.big === undefined ? UNKNOWN_INT : intValue(Number(op.big)));
            break;
          case 0x46: // FLOAT
          case 0x47: // BINFLOAT
            if (!lexicalOnly) push(FLOAT);
            break;
          case 0x97: // NEXT_BUFFER (out-of-band data, supplied by the caller of pickle.loads)
            if (!lexicalOnly) push({ k: 'bytes', data: undefined, len: 0 });
            break;
          case 0x98: // READONLY_BUFFER
            if (!lexicalOnly) top();
            break;
          // ---- containers ----
          case 0x29: // EMPTY_TUPLE
            if (!lexicalOnly) push(EMPTY_TUPLE);
            break;
          case 0x74: // TUPLE
            if (!lexicalOnly) push({ k: 'tuple', ...capped(popMark()) });
            break;
          case 0x85: // TUPLE1
          case 0x86: // TUPLE2
          case 0x87: {
            // TUPLE3
            if (lexicalOnly) break;
            const items: Value[] = new Array(op.code - 0x84);
            for (let i = items.length - 1; i >= 0; i--) items[i] = pop();
            push({ k: 'tuple', items, more: 0 });
            break;
          }
          case 0x5d: // EMPTY_LIST
            if (!lexicalOnly) push({ k: 'list', items: [], more: 0 });
            break;
          case 0x6c: {
            // LIST
            if (lexicalOnly) break;
            push({ k: 'list', ...capped(popMark()) });
            break;
          }
          case 0x7d: // EMPTY_DICT
            if (!lexicalOnly) push({ k: 'dict', items: [], more: 0 });
            break;
          case 0x64: {
            // DICT
            if (lexicalOnly) break;
            const d: Extract<Value, { k: 'dict' }> = { k: 'dict', items: [], more: 0 };
            addPairs(d, popMark());
            push(d);
            break;
          }
          case 0x8f: // EMPTY_SET
            if (!lexicalOnly) push({ k: 'set', more: 0 });
            break;
          case 0x91: // FROZENSET
            if (!lexicalOnly) {
              popMark();
              push({ k: 'set', more: 0 });
            }
            break;
          case 0x90: // ADDITEMS
            if (!lexicalOnly) {
              popMark();
              top();
            }
            break;
          case 0x61: {
            // APPEND
            if (lexicalOnly) break;
            const v = pop();
            const list = top();
            if (list.k === 'list') addItem(list.items, v, list);
            break;
          }
          case 0x65: {
            // APPENDS
            if (lexicalOnly) break;
            const items = popMark();
            const list = top();
            if (list.k === 'list') for (const v of items) addItem(list.items, v, list);
            break;
          }
          case 0x73: {
            // SETITEM
            if (lexicalOnly) break;
            const v = pop();
            const k = pop();
            const d = top();
            if (d.k === 'dict') addItem(d.items, [k, v], d);
            break;
          }
          case 0x75: {
            // SETITEMS
            if (lexicalOnly) break;
            const items = popMark();
            const d = top();
            if (d.k === 'dict') addPairs(d, items);
            break;
          }
          // ---- memo ----
          case 0x70: // PUT
          case 0x71: // BINPUT
          case 0x72: // LONG_BINPUT
            if (!lexicalOnly) memoPut(op.int, top());
            break;
          case 0x94: // MEMOIZE
            if (!lexicalOnly) memoPut(memo.size, top());
            break;
          case 0x67: // GET
          case 0x68: // BINGET
          case 0x6a: // LONG_BINGET
            if (!lexicalOnly) push(memoGet(op.int));
            break;
          // ---- imports ----
          case 0x63: {
            // GLOBAL
            const g = recordGlobal(op.text, op.name, 'GLOBAL', opOffset);
            if (!lexicalOnly) push(g);
            break;
          }
          case 0x93: // STACK_GLOBAL
            stackGlobal(opOffset);
            break;
          case 0x82: // EXT1
          case 0x83: // EXT2
          case 0x84: {
            // EXT4
            const n = op.code === 0x82 ? 1 : op.code === 0x83 ? 2 : 4;
            const code = op.int;
            const detail = `EXT${n} at offset ${opOffset} imports extension code ${code} from the copyreg registry (the global is not named in the file)`;
            note({ rule: 'MLBOM-PICKLE-EXTENSION-CODE', key: `ext ${code}`, detail, offset: opOffset });
            if (!lexicalOnly) push({ k: 'unknown', why: `extension ${code}` });
            break;
          }
          // ---- calls ----
          case 0x52: // REDUCE: fn args
          case 0x81: // NEWOBJ: cls args
          case 0x92: {
            // NEWOBJ_EX: cls args kwargs
            if (lexicalOnly) break;
            if (op.code === 0x92) pop(); // kwargs
            const args = pop();
            const fn = pop();
            const name = op.code === 0x52 ? 'REDUCE' : op.code === 0x81 ? 'NEWOBJ' : 'NEWOBJ_EX';
            push(onCall({ k: 'call', fn, args, op: name, off: opOffset }));
            break;
          }
          case 0x6f: {
            // OBJ
            if (lexicalOnly) break;
            const items = popMark();
            const cls = items[0];
            if (!cls) fail('OBJ without a class');
            push(
              onCall({
                k: 'call',
                fn: cls as Value,
                args: { k: 'tuple', items: items.slice(1), more: 0 },
                op: 'OBJ',
                off: opOffset,
              }),
            );
            break;
          }
          case 0x69: {
            // INST
            const g = recordGlobal(op.text, op.name, 'INST', opOffset);
            if (lexicalOnly) break;
            const items = popMark();
            push(onCall({ k: 'call', fn: g, args: { k: 'tuple', items, more: 0 }, op: 'INST', off: opOffset }));
            break;
          }
          case 0x62: {
            // BUILD
            if (lexicalOnly) break;
            const state = pop();
            const target = top();
            if (target.k === 'global') {
              const key = `${target.module}.${target.name}`;
              const detail = `BUILD at offset ${opOffset} sets attributes of ${key} itself (an imported module or class, not an instance): ${describe(state)}`;
              note({ rule: 'MLBOM-PICKLE-BUILD-ON-GLOBAL', key, detail, offset: opOffset });
            } else if (target.k === 'call') {
              target.state = state;
              const root = target.fn.k === 'global' ? `${target.fn.module}.${target.fn.name}` : undefined;
              if (ctx.joblib && root && JOBLIB_WRAPPERS.has(root)) await readJoblibArray(reader, ctx, state, run);
            }
            break;
          }
          case 0x50: {
            // PERSID
            if (!lexicalOnly) push({ k: 'persid', pid: { k: 'str', v: op.text, len: op.text.length } });
            break;
          }
          case 0x51: // BINPERSID
            if (!lexicalOnly) push({ k: 'persid', pid: pop() });
            break;
          default: {
            // ---- strings and bytes ----
            const arg = pickleArgKind(op.code);
            if (arg === STRING_ARG) {
              const v = str(op);
              if (!lexicalOnly) push(v);
            } else if (arg === BYTES_ARG) {
              if (!lexicalOnly) push({ k: 'bytes', data: op.data, len: op.length });
            } else throw new Lexical(`unknown opcode 0x${op.code.toString(16).padStart(2, '0')}`);
          }
        }
      } catch (err) {
        if (!(err instanceof Structural)) throw err;
        structuralError ??= { message: err.message, offset: opOffset };
        push({ k: 'unknown', why: 'after error' });
      }
    }
  } catch (err) {
    if (err instanceof LimitError) throw err;
    if (err instanceof PickleDecodeError && err.code >= 0) {
      // The opcode was read; its argument was not.
      opOffset = err.offset;
      ops++;
    } else if (!(err instanceof Lexical) && !(err instanceof PickleDecodeError)) throw err;
    run.ops = ops;
    run.end = reader.pos;
    run.status = 'error';
    const first = structuralError && structuralError.offset < opOffset ? structuralError : undefined;
    run.error = first ? first.message : err.message;
    run.errorOffset = first ? first.offset : opOffset;
    return run;
  }
}

/**
 * joblib writes each NumPy array right after the BUILD of its NumpyArrayWrapper: optional alignment
 * padding, then the raw elements, or for object arrays a nested pickle (which is analysed).
 */
async function readJoblibArray(reader: Reader, ctx: PickleContext, state: Value, run: PickleRun): Promise<void> {
  const shape = dictGet(state, 'shape');
  const dtype = dictGet(state, 'dtype');
  const alignment = dictGet(state, 'numpy_array_alignment_bytes');
  const itemSize = dtypeItemSize(dtype);
  // As joblib reads it: a padding-length byte (then the padding) only before the raw elements of a
  // wrapper that records an alignment (joblib >= 1.2); older dumps have none.
  if (itemSize !== -1 && alignment !== undefined && alignment.k !== 'none') {
    if (!(await reader.fill(1))) throw new Lexical('truncated joblib array padding');
    const pad = reader.buf[reader.p++] as number;
    if (!(await reader.skip(pad))) throw new Lexical('truncated joblib array padding');
  }
  if (itemSize === -1) {
    const nested = await runPickle(reader, ctx);
    mergeRun(run, nested);
    if (nested.status !== 'stop') throw new Lexical(`object array of a joblib file: ${nested.error ?? 'no pickle'}`);
    return;
  }
  let count = 1;
  if (shape?.k === 'tuple' && shape.more === 0) {
    for (const d of shape.items) {
      if (d.k !== 'int' || !Number.isSafeInteger(d.v) || d.v < 0) {
        count = Number.NaN;
        break;
      }
      count *= d.v;
    }
  } else count = Number.NaN;
  if (itemSize === undefined || !Number.isSafeInteger(count)) {
    throw new Lexical('joblib array with a shape or dtype that cannot be followed');
  }
  if (!(await reader.skip(count * itemSize))) throw new Lexical('truncated joblib array data');
}

/** Folds the records of a nested run into its parent. */
function mergeRun(parent: PickleRun, child: PickleRun): void {
  for (const [key, rec] of child.records) {
    const mine = parent.records.get(key);
    if (mine) mine.count += rec.count;
    else parent.records.set(key, rec);
  }
  parent.other.push(...child.other.slice(0, MAX_OTHER));
}

/**
 * Turns a run into findings. `trust` decides what is reported: 'full' reports everything, 'threats'
 * only CRITICAL/HIGH evidence (for bytes that may not be a pickle at all).
 */
export function flushFindings(run: PickleRun, ctx: PickleContext, trust: 'full' | 'threats'): void {
  const { collector } = ctx;
  for (const rec of run.records.values()) {
    const sev = rec.verdict.severity;
    if (!sev) continue;
    if (trust === 'threats' && sev === 'medium') continue;
    const path = `${rec.module}.${rec.name}`;
    const rule =
      sev === 'critical'
        ? 'MLBOM-PICKLE-CRITICAL-GLOBAL'
        : sev === 'high'
          ? 'MLBOM-PICKLE-HIGH-GLOBAL'
          : 'MLBOM-PICKLE-UNKNOWN-GLOBAL';
    const as = rec.verdict.as ? ` (resolves to ${rec.verdict.as})` : '';
    const calls = rec.calls.length > 0 ? `; called: ${rec.calls.join('; ')}` : '; imported, not called directly';
    const detail = `${path}${as} imported by ${rec.how} at offset ${rec.offset}: ${rec.verdict.why}${calls}`;
    const title = `pickle imports ${path}${sev === 'medium' ? ' (not allowlisted)' : ''}`;
    collector.add(rule, path, detail, ctx.location(rec.offset), { title, count: rec.count });
  }
  for (const o of run.other) {
    if (trust === 'threats' && o.rule === 'MLBOM-PICKLE-EXTENSION-CODE') continue;
    collector.add(o.rule, o.key, o.detail, ctx.location(o.offset));
  }
}
