// The one pickle opcode decoder of mlbom: it reads an opcode and its argument from bytes, with
// bounds, for protocols 0-5 (FRAME lengths are not trusted: opcodes are read in sequence, as the C
// unpickler does). What the opcodes mean is left to the caller: the metadata walker in pickle.ts and
// the scanner's symbolic emulator both build on this. It never imports or calls anything.
import { type Cursor, latin1, utf8 } from './util.js';

/** Where the opcodes come from: a Cursor over a ByteSource (`cursorPickleInput`), or a stream. */
export interface PickleInput {
  /** Offset of the next byte. */
  readonly pos: number;
  /** The next byte, or -1 at the end of the data. */
  byte(): Promise<number>;
  /** The byte `k` places ahead when it is already in memory (not consumed); else -1. */
  peekByte(k: number): number;
  /** A view of the next `n` bytes when they are already in memory (not consumed); else undefined. */
  buffered(n: number): Uint8Array | undefined;
  /** Consumes `n` bytes that `buffered` returned. */
  advance(n: number): void;
  /** The next `n` bytes (a view, valid until the next call), or null when fewer remain. */
  read(n: number): Promise<Uint8Array | null>;
  /** Skips `n` bytes; false when fewer remain. */
  skip(n: number): Promise<boolean>;
  /** A line ending in `\n` (without it); null at the end before a newline; undefined when longer than `max`. */
  line(max: number): Promise<Uint8Array | null | undefined>;
}

export interface PickleDecodeOptions {
  /** Longest text argument (protocol 0 lines). */
  maxLine: number;
  /** Strings longer than this are not kept whole... */
  maxText: number;
  /** ...only their first `keepText` bytes (the rest is skipped). */
  keepText: number;
  /** Bytes literals up to this size are returned (copied); longer ones are skipped. */
  maxKeptBytes: number;
}

/** A pickle that cannot be decoded: truncated, an unknown opcode, a malformed argument. */
export class PickleDecodeError extends Error {
  constructor(
    message: string,
    /** Offset of the opcode (or of the end of the data, for a pickle without STOP). */
    readonly offset: number,
    /** The opcode whose argument failed; -1 when the data ended before an opcode. */
    readonly code: number,
  ) {
    super(message);
  }
}

/** One decoded opcode. Only the fields its opcode has are meaningful. */
export interface PickleOp {
  code: number;
  offset: number;
  /**
   * Integer argument: BININT, BININT1, BININT2, PROTO, FRAME (length), memo index (PUT, BINPUT,
   * LONG_BINPUT, GET, BINGET, LONG_BINGET), EXT1/2/4 (extension code).
   */
  int: number;
  /** INT and LONG (text), LONG1 and LONG4 (undefined when LONG4 is over 1024 bytes: skipped). */
  big: bigint | undefined;
  /** INT's `00` / `01` (False / True). */
  bool: boolean | undefined;
  /** FLOAT, BINFLOAT. */
  float: number;
  /** String opcodes (whole, or the first bytes when not `whole`), GLOBAL/INST module, PERSID. */
  text: string;
  /** GLOBAL/INST name. */
  name: string;
  /** Whether `text` is the whole string. */
  whole: boolean;
  /** Declared length in bytes of a string, bytes or long argument. */
  length: number;
  /** Bytes literal (BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8) when not over `maxKeptBytes`. */
  data: Uint8Array | undefined;
}

export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  FLOAT: 0x46,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  EMPTY_DICT: 0x7d,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  EMPTY_LIST: 0x5d,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  EMPTY_TUPLE: 0x29,
  SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

/** Opcodes without an argument. */
const BARE = new Set<number>([
  OP.MARK,
  OP.STOP,
  OP.POP,
  OP.POP_MARK,
  OP.DUP,
  OP.NONE,
  OP.NEWTRUE,
  OP.NEWFALSE,
  OP.BINPERSID,
  OP.REDUCE,
  OP.APPEND,
  OP.APPENDS,
  OP.BUILD,
  OP.DICT,
  OP.EMPTY_DICT,
  OP.SETITEM,
  OP.SETITEMS,
  OP.LIST,
  OP.EMPTY_LIST,
  OP.TUPLE,
  OP.EMPTY_TUPLE,
  OP.TUPLE1,
  OP.TUPLE2,
  OP.TUPLE3,
  OP.EMPTY_SET,
  OP.FROZENSET,
  OP.ADDITEMS,
  OP.OBJ,
  OP.NEWOBJ,
  OP.NEWOBJ_EX,
  OP.STACK_GLOBAL,
  OP.MEMOIZE,
  OP.NEXT_BUFFER,
  OP.READONLY_BUFFER,
]);

/** Python's `codecs.escape_decode` for the STRING opcode's quoted argument. */
export function escapeDecode(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.|\n)/gs, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8) & 0xff);
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '\n': '',
    };
    return simple[e] ?? (e === '\\' || e === "'" || e === '"' ? e : `\\${e}`);
  });
}

/** raw-unicode-escape, used by the UNICODE opcode. */
export function rawUnicodeDecode(b: Uint8Array): string {
  return latin1(b).replace(
    /\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g,
    (_, u4: string | undefined, u8: string | undefined) => {
      const cp = Number.parseInt((u4 ?? u8) as string, 16);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
    },
  );
}

/** A little-endian two's-complement integer (LONG1, LONG4). */
function decodeLong(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  if ((b[b.length - 1] as number) & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

/** A Python-like repr of a string, at most about 120 characters (for evidence and errors). */
export function pyRepr(s: string): string {
  const body = s.length > 120 ? `${s.slice(0, 117)}...` : s;
  let out = "'";
  for (const ch of body) {
    const code = ch.charCodeAt(0);
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/** Opcodes with a fixed-size argument: its size, and the name used in errors. */
const FIXED = new Map<number, [number, string]>([
  [OP.PROTO, [1, 'PROTO']],
  [OP.FRAME, [8, 'FRAME']],
  [OP.BININT, [4, 'BININT']],
  [OP.BININT1, [1, 'BININT1']],
  [OP.BININT2, [2, 'BININT2']],
  [OP.BINFLOAT, [8, 'BINFLOAT']],
  [OP.BINPUT, [1, 'BINPUT']],
  [OP.LONG_BINPUT, [4, 'LONG_BINPUT']],
  [OP.BINGET, [1, 'BINGET']],
  [OP.LONG_BINGET, [4, 'LONG_BINGET']],
  [OP.EXT1, [1, 'EXT']],
  [OP.EXT2, [2, 'EXT']],
  [OP.EXT4, [4, 'EXT']],
]);

/** Opcode → how it is decoded without waiting: 1 no argument, 2 fixed-size argument (size in FIXED_SIZE). */
const KIND = new Uint8Array(256);
const FIXED_SIZE = new Uint8Array(256);
const BARE_OP = 1;
const FIXED_OP = 2;
for (const code of BARE) KIND[code] = BARE_OP;
for (const [code, [size]] of FIXED) {
  KIND[code] = FIXED_OP;
  FIXED_SIZE[code] = size;
}

/** An opcode whose argument is a string (STRING, BINSTRING, the UNICODE family): `text`, `whole`, `length`. */
export const STRING_ARG = 1;
/** An opcode whose argument is a bytes literal (BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8): `data`, `length`. */
export const BYTES_ARG = 2;
const ARG = new Uint8Array(256);
for (const code of [OP.STRING, OP.BINSTRING, OP.SHORT_BINSTRING, OP.UNICODE, OP.BINUNICODE, OP.SHORT_BINUNICODE]) {
  ARG[code] = STRING_ARG;
}
ARG[OP.BINUNICODE8] = STRING_ARG;
for (const code of [OP.BINBYTES, OP.SHORT_BINBYTES, OP.BINBYTES8, OP.BYTEARRAY8]) ARG[code] = BYTES_ARG;

/** STRING_ARG, BYTES_ARG, or 0: for callers that treat all the opcodes of a kind alike. */
export function pickleArgKind(code: number): number {
  return ARG[code] as number;
}

/** Short strings and bytes with a one-byte length (the common case, decoded without waiting). */
const SHORT = new Map<number, 'latin1' | 'utf8' | 'bytes'>([
  [OP.SHORT_BINSTRING, 'latin1'],
  [OP.SHORT_BINUNICODE, 'utf8'],
  [OP.SHORT_BINBYTES, 'bytes'],
]);

/** A blank op (for `readBufferedPickleOp` to fill). */
export function newPickleOp(code = 0, offset = 0): PickleOp {
  return {
    code,
    offset,
    int: 0,
    big: undefined,
    bool: undefined,
    float: Number.NaN,
    text: '',
    name: '',
    whole: true,
    length: 0,
    data: undefined,
  };
}

/** Decodes a fixed-size argument: little-endian unsigned (BININT signed), BINFLOAT a big-endian double. */
function setFixed(op: PickleOp, b: Uint8Array): void {
  if (op.code === OP.BINFLOAT) {
    op.float = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
    return;
  }
  let v = 0;
  for (let i = b.length - 1; i >= 0; i--) v = v * 256 + (b[i] as number);
  op.int = op.code === OP.BININT ? v | 0 : v;
}

/**
 * Reads the next opcode and its argument into `op` when that needs no waiting: it is already in
 * memory and simple (no argument, a fixed-size one, a short string). Only the fields of that opcode
 * are set (`op` is reused to spare an allocation per opcode on the hot path). Undefined, with nothing
 * consumed, otherwise: then call `readPickleOp`. Never throws.
 */
export function readBufferedPickleOp(
  input: PickleInput,
  options: PickleDecodeOptions,
  op: PickleOp,
): PickleOp | undefined {
  const code = input.peekByte(0);
  if (code < 0) return undefined;
  const kind = KIND[code] as number;
  if (kind === BARE_OP) {
    op.code = code;
    op.offset = input.pos;
    input.advance(1);
    return op;
  }
  const size = FIXED_SIZE[code] as number;
  if (kind === FIXED_OP && input.peekByte(size) >= 0) {
    op.code = code;
    op.offset = input.pos;
    if (code === OP.BINFLOAT) setFixed(op, input.buffered(9)?.subarray(1) as Uint8Array);
    else {
      let v = 0;
      for (let i = size; i >= 1; i--) v = v * 256 + input.peekByte(i);
      op.int = code === OP.BININT ? v | 0 : v;
    }
    input.advance(1 + size);
    return op;
  }
  const short = SHORT.get(code);
  const n = short ? input.peekByte(1) : -1;
  if (short && n >= 0 && n <= (short === 'bytes' ? options.maxKeptBytes : options.maxText)) {
    const b = input.buffered(2 + n);
    if (b) {
      op.code = code;
      op.offset = input.pos;
      const arg = b.subarray(2);
      op.length = n;
      op.whole = true;
      if (short === 'bytes') op.data = arg.slice();
      else op.text = short === 'utf8' ? utf8(arg) : latin1(arg);
      input.advance(b.length);
      return op;
    }
  }
  return undefined;
}

/**
 * Reads the next opcode and its argument.
 * @throws {PickleDecodeError} when the data ends first, the opcode is unknown or its argument malformed
 */
export async function readPickleOp(input: PickleInput, options: PickleDecodeOptions): Promise<PickleOp> {
  const offset = input.pos;
  const code = await input.byte();
  if (code < 0) throw new PickleDecodeError('pickle ends without STOP', offset, -1);
  const op = newPickleOp(code, offset);
  if (KIND[code] === BARE_OP) return op;
  const fail = (message: string): never => {
    throw new PickleDecodeError(message, offset, code);
  };
  const fixed = async (n: number, what: string): Promise<Uint8Array> =>
    (await input.read(n)) ?? fail(`truncated ${what}`);
  const u8 = async (what: string): Promise<number> => {
    const b = await input.byte();
    return b < 0 ? fail(`truncated ${what}`) : b;
  };
  const u32 = async (what: string): Promise<number> => {
    const b = await fixed(4, what);
    return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16)) + (b[3] as number) * 0x1000000;
  };
  const i32 = async (what: string): Promise<number> => (await u32(what)) | 0;
  const u64 = async (what: string): Promise<number> => {
    const b = await fixed(8, what);
    const v = new DataView(b.buffer, b.byteOffset, 8);
    return v.getUint32(4, true) * 0x100000000 + v.getUint32(0, true);
  };
  const line = async (what: string): Promise<Uint8Array> => {
    const l = await input.line(options.maxLine);
    if (l === null) fail(`truncated ${what}`);
    if (l === undefined) fail(`${what} longer than ${options.maxLine} bytes`);
    return l as Uint8Array;
  };
  const integerLine = async (what: string): Promise<string> => {
    const text = latin1(await line(what)).trim();
    if (!/^[+-]?\d+$/.test(text)) fail(`invalid ${what} ${pyRepr(text)}`);
    return text;
  };
  const str = async (n: number, decode: (b: Uint8Array) => string): Promise<void> => {
    op.length = n;
    if (n > options.maxText) {
      const keep = Math.min(n, options.keepText);
      const head = (await input.read(keep)) ?? fail('truncated string');
      op.text = decode(head);
      op.whole = false;
      if (!(await input.skip(n - keep))) fail('truncated string');
      return;
    }
    op.text = decode(await fixed(n, 'string'));
  };
  const bytes = async (n: number): Promise<void> => {
    op.length = n;
    if (n > options.maxKeptBytes) {
      if (!(await input.skip(n))) fail('truncated bytes');
      return;
    }
    op.data = (await fixed(n, 'bytes')).slice();
  };

  const size = FIXED.get(code);
  if (size) {
    setFixed(op, await fixed(size[0], size[1]));
    return op;
  }
  switch (code) {
    case OP.INT: {
      const text = await integerLine('INT');
      if (text === '01' || text === '00') op.bool = text === '01';
      else op.big = BigInt(text);
      break;
    }
    case OP.LONG: {
      const text = latin1(await line('LONG'))
        .trim()
        .replace(/L$/, '');
      if (!/^[+-]?\d+$/.test(text)) fail(`invalid LONG ${pyRepr(text)}`);
      op.big = BigInt(text);
      break;
    }
    case OP.LONG1: {
      const n = await u8('LONG1');
      op.length = n;
      op.big = decodeLong(await fixed(n, 'LONG1'));
      break;
    }
    case OP.LONG4: {
      const n = await i32('LONG4');
      if (n < 0) fail('LONG4 with negative length');
      op.length = n;
      if (n <= 1024) op.big = decodeLong(await fixed(n, 'LONG4'));
      else if (!(await input.skip(n))) fail('truncated LONG4');
      break;
    }
    case OP.FLOAT:
      op.float = Number.parseFloat(latin1(await line('FLOAT')));
      break;
    case OP.STRING: {
      const raw = latin1(await line('STRING'));
      const q = raw[0];
      if (raw.length < 2 || (q !== "'" && q !== '"') || raw[raw.length - 1] !== q) {
        fail('the STRING opcode argument must be quoted');
      }
      op.text = escapeDecode(raw.slice(1, -1));
      op.length = op.text.length;
      break;
    }
    case OP.BINSTRING: {
      const n = await i32('BINSTRING');
      if (n < 0) fail('BINSTRING with negative length');
      await str(n, latin1);
      break;
    }
    case OP.SHORT_BINSTRING:
      await str(await u8('SHORT_BINSTRING'), latin1);
      break;
    case OP.UNICODE:
      op.text = rawUnicodeDecode(await line('UNICODE'));
      op.length = op.text.length;
      break;
    case OP.BINUNICODE:
      await str(await u32('BINUNICODE'), utf8);
      break;
    case OP.SHORT_BINUNICODE:
      await str(await u8('SHORT_BINUNICODE'), utf8);
      break;
    case OP.BINUNICODE8:
      await str(await u64('BINUNICODE8'), utf8);
      break;
    case OP.BINBYTES:
      await bytes(await u32('BINBYTES'));
      break;
    case OP.SHORT_BINBYTES:
      await bytes(await u8('SHORT_BINBYTES'));
      break;
    case OP.BINBYTES8:
    case OP.BYTEARRAY8:
      await bytes(await u64('BINBYTES8'));
      break;
    case OP.PUT:
      op.int = Number(await integerLine('PUT index'));
      break;
    case OP.GET:
      op.int = Number(await integerLine('GET index'));
      break;
    case OP.GLOBAL:
    case OP.INST: {
      const what = code === OP.GLOBAL ? 'GLOBAL' : 'INST';
      op.text = utf8(await line(`${what} module`));
      op.name = utf8(await line(`${what} name`));
      break;
    }
    case OP.PERSID:
      op.text = latin1(await line('PERSID'));
      break;
    default:
      fail(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
  }
  return op;
}

/** A PickleInput reading through a Cursor (which keeps the position). */
export function cursorPickleInput(c: Cursor): PickleInput {
  return {
    get pos() {
      return c.pos;
    },
    peekByte(k) {
      if (!c.has(k + 1)) return -1;
      const at = c.pos;
      c.pos += k;
      const b = c.u8();
      c.pos = at;
      return b;
    },
    buffered(n) {
      if (!c.has(n)) return undefined;
      const at = c.pos;
      const out = c.bytes(n);
      c.pos = at;
      return out;
    },
    advance(n) {
      c.pos += n;
    },
    async byte() {
      if (c.remaining < 1) return -1;
      if (!c.has(1)) await c.need(1, 'pickle');
      return c.u8();
    },
    async read(n) {
      if (n > c.remaining) return null;
      if (!c.has(n)) await c.need(n, 'pickle');
      return c.bytes(n);
    },
    async skip(n) {
      if (n > c.remaining) return false;
      c.skip(n, 'pickle');
      return true;
    },
    async line(max) {
      const start = c.pos;
      for (let i = 0; ; i++) {
        if (c.remaining < 1) {
          c.pos = start;
          return null;
        }
        if (!c.has(1)) await c.need(1, 'pickle');
        if (c.u8() === 0x0a) {
          const end = c.pos;
          c.pos = start;
          await c.need(end - start, 'pickle');
          const out = c.bytes(end - start - 1);
          c.pos = end;
          return out;
        }
        if (i >= max) return undefined;
      }
    },
  };
}
