import { crc32 } from 'node:zlib';

/** Pickle opcodes for hand-built test inputs (never loaded by anything). */
export const op = {
  proto: (n: number) => Buffer.from([0x80, n]),
  global: (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`, 'latin1'),
  su: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
  },
  bu: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([Buffer.from('X'), len, b]);
  },
  binint: (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    return b;
  },
  binput: (i: number) => Buffer.from([0x71, i]),
  binget: (i: number) => Buffer.from([0x68, i]),
  MARK: Buffer.from('('),
  STOP: Buffer.from('.'),
  POP: Buffer.from('0'),
  TUPLE: Buffer.from('t'),
  TUPLE1: Buffer.from([0x85]),
  TUPLE2: Buffer.from([0x86]),
  REDUCE: Buffer.from('R'),
  BUILD: Buffer.from('b'),
  NONE: Buffer.from('N'),
  MEMOIZE: Buffer.from([0x94]),
  STACK_GLOBAL: Buffer.from([0x93]),
  EMPTY_DICT: Buffer.from('}'),
  EMPTY_LIST: Buffer.from(']'),
  EMPTY_TUPLE: Buffer.from(')'),
  APPENDS: Buffer.from('e'),
  SETITEMS: Buffer.from('u'),
  BINPERSID: Buffer.from('Q'),
  NEWFALSE: Buffer.from([0x89]),
};

export function pickle(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

/** `os.system('echo pwned')` at protocol 2. */
export const SYSTEM_CALL = pickle(
  op.proto(2),
  op.global('os', 'system'),
  op.bu('echo pwned'),
  op.TUPLE1,
  op.REDUCE,
  op.STOP,
);

/** The data.pkl of a one-tensor state_dict whose float storage "0" has `numel` elements. */
export function stateDictPickle(numel: number): Buffer {
  return pickle(
    op.proto(2),
    op.global('collections', 'OrderedDict'),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.MARK,
    op.bu('weight'),
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.MARK,
    op.MARK,
    op.bu('storage'),
    op.global('torch', 'FloatStorage'),
    op.bu('0'),
    op.bu('cpu'),
    op.binint(numel),
    op.TUPLE,
    op.BINPERSID,
    op.binint(0),
    op.binint(numel),
    op.TUPLE1,
    op.binint(1),
    op.TUPLE1,
    op.NEWFALSE,
    op.global('collections', 'OrderedDict'),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.TUPLE,
    op.REDUCE,
    op.SETITEMS,
    op.STOP,
  );
}

export interface ZipMember {
  name: string;
  data?: Buffer;
  /** A stored member of this many zero bytes, not materialised (written sparse by the caller). */
  zeros?: number;
  zerosCrc?: number;
  localName?: string;
  flags?: number;
}

/** CRC-32 of `n` zero bytes, computed in 16 MiB steps. */
export function zerosCrc(n: number): number {
  const block = Buffer.alloc(16 * 1024 * 1024);
  let crc = 0;
  for (let left = n; left > 0; left -= block.length) crc = crc32(block.subarray(0, Math.min(left, block.length)), crc);
  return crc;
}

/**
 * Lays out a stored zip: returns the pieces to write at their offsets (zero-filled members are left as
 * holes) and the total size.
 */
export function layoutZip(members: ZipMember[]): { pieces: Array<{ offset: number; bytes: Buffer }>; size: number } {
  const pieces: Array<{ offset: number; bytes: Buffer }> = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const localName = Buffer.from(m.localName ?? m.name, 'utf8');
    const size = m.data ? m.data.length : (m.zeros ?? 0);
    const crc = m.data ? crc32(m.data) : (m.zerosCrc ?? 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.flags ?? 0, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localName.length, 26);
    pieces.push({ offset, bytes: Buffer.concat([local, localName, m.data ?? Buffer.alloc(0)]) });
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(m.flags ?? 0, 8);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(size, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += 30 + localName.length + size;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  pieces.push({ offset, bytes: Buffer.concat([cdBytes, eocd]) });
  return { pieces, size: offset + cdBytes.length + 22 };
}

/** A zip in memory (no zero-filled members). */
export function zipBuffer(members: ZipMember[]): Buffer {
  const { pieces, size } = layoutZip(members);
  const out = Buffer.alloc(size);
  for (const p of pieces) p.bytes.copy(out, p.offset);
  return out;
}
