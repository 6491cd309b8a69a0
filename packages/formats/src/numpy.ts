import type { ByteSource } from '@mlbom/core';
import { type PickleInfo, readPickleGlobals } from './pickle.js';
import { DtypeTally, formatError, latin1, product, readExact, view } from './util.js';
import { readZipDirectory, readZipEntryPrefix, type ZipDirectory, zipEntrySource } from './zip.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** numpy itself refuses headers above 10,000 bytes unless told otherwise; allow some slack. */
const MAX_HEADER = 1024 * 1024;
const MAX_NPZ_MEMBERS = 10_000;

const NUMPY_DTYPES: Record<string, string> = {
  f2: 'F16',
  f4: 'F32',
  f8: 'F64',
  f16: 'F128',
  i1: 'I8',
  i2: 'I16',
  i4: 'I32',
  i8: 'I64',
  u1: 'U8',
  u2: 'U16',
  u4: 'U32',
  u8: 'U64',
  b1: 'BOOL',
  c8: 'C64',
  c16: 'C128',
  O: 'OBJECT',
  O8: 'OBJECT',
};

/** safetensors-style name of a numpy dtype string (`<f4` → `F32`); other dtypes keep their string. */
export function numpyDtypeName(descr: string): string {
  return NUMPY_DTYPES[descr.replace(/^[<>|=]/, '')] ?? descr;
}

export interface NpyHeader {
  version: string;
  /** The dtype as numpy writes it (`<f4`), or the list form of a structured dtype. */
  descr: string;
  /** Normalised dtype: `F32`, `I64`, `OBJECT`, `structured`, or numpy's string. */
  dtype: string;
  fortranOrder: boolean;
  shape: number[];
  elementCount: number;
  /** True for object arrays: the data is a pickle, and loading it means unpickling. */
  holdsObjects: boolean;
  dataOffset: number;
}

export interface NpyInfo extends NpyHeader {
  /** For object arrays: what the pickled data references. */
  pickle?: PickleInfo | undefined;
}

/** Parses the `.npy` preamble and header dict from the first bytes of a file or archive member. */
export function parseNpyHeader(subject: { name: string }, head: Uint8Array, total?: number): NpyHeader {
  if (head.length < 10 || !MAGIC.every((b, i) => head[i] === b)) throw formatError(subject, 'npy: bad magic');
  const major = head[6] as number;
  const minor = head[7] as number;
  if (major < 1 || major > 3) throw formatError(subject, `npy: unsupported format version ${major}.${minor}`);
  const dv = view(head);
  const lengthSize = major === 1 ? 2 : 4;
  if (head.length < 8 + lengthSize) throw formatError(subject, 'npy: truncated preamble');
  const headerLength = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataOffset = 8 + lengthSize + headerLength;
  if (headerLength > MAX_HEADER) throw formatError(subject, `npy: header of ${headerLength} bytes is too large`);
  if (dataOffset > head.length) throw formatError(subject, `npy: header of ${headerLength} bytes is truncated`);
  const text = latin1(head.subarray(8 + lengthSize, dataOffset));

  const descrString = /['"]descr['"]\s*:\s*(['"])([^'"]{1,64})\1/.exec(text);
  const descrList = /['"]descr['"]\s*:\s*(\[[\s\S]*?\])\s*,\s*['"](?:fortran_order|shape)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if ((!descrString && !descrList) || !fortran || !shapeMatch) {
    throw formatError(subject, 'npy: header is not the dict numpy writes (descr, fortran_order, shape)');
  }
  const shape = (shapeMatch[1] as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d{1,16}L?$/.test(s)) throw formatError(subject, `npy: invalid shape entry "${s.slice(0, 40)}"`);
      return Number(s.replace(/L$/, ''));
    });
  const descr = descrString ? (descrString[2] as string) : (descrList?.[1] ?? '').slice(0, 1000);
  const holdsObjects = descrString ? /^[<>|=]?O\d*$/.test(descr) : /['"][<>|=]?O\d*['"]/.test(descr);
  const elementCount = product(subject, shape, 'npy shape');
  if (total !== undefined && dataOffset > total) throw formatError(subject, 'npy: header runs past the end: truncated');
  return {
    version: `${major}.${minor}`,
    descr,
    dtype: descrString ? numpyDtypeName(descr) : 'structured',
    fortranOrder: fortran[1] === 'True',
    shape,
    elementCount,
    holdsObjects,
    dataOffset,
  };
}

/**
 * Reads a `.npy` header; for an object array, also walks the pickle that holds its data.
 * @throws {MlbomError} FORMAT_INVALID for a bad magic, header or truncation
 */
export async function readNpy(source: ByteSource): Promise<NpyInfo> {
  const pre = await readExact(source, 0, Math.min(source.size, 12), 'npy preamble');
  if (pre.length < 10) throw formatError(source, 'npy: truncated preamble');
  const major = pre[6] as number;
  const headerLength = major === 1 ? view(pre).getUint16(8, true) : pre.length >= 12 ? view(pre).getUint32(8, true) : 0;
  const want = Math.min(source.size, (major === 1 ? 10 : 12) + Math.min(headerLength, MAX_HEADER + 1));
  const head = await readExact(source, 0, want, 'npy header');
  const header = parseNpyHeader(source, head, source.size);
  if (!header.holdsObjects) {
    const { bytesPerItem } = itemInfo(header.descr);
    if (bytesPerItem !== undefined && header.dataOffset + header.elementCount * bytesPerItem > source.size) {
      throw formatError(
        source,
        `npy: ${header.elementCount} elements of ${header.descr} do not fit in the file: truncated`,
      );
    }
    return header;
  }
  return { ...header, pickle: await readPickleGlobals(source, { offset: header.dataOffset }) };
}

function itemInfo(descr: string): { bytesPerItem?: number } {
  const m = /^[<>|=]?([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) return {};
  const n = Number(m[2]);
  return { bytesPerItem: m[1] === 'U' ? n * 4 : n };
}

export interface NpzInfo {
  arrays: (NpyHeader & { name: string; pickle?: PickleInfo | undefined })[];
  parameterCount: number;
  parametersByDtype: Record<string, number>;
  holdsObjects: boolean;
  /** Members that are not `.npy` files. */
  otherMembers: string[];
}

/**
 * Reads every member header of a `.npz` (a zip of `.npy` files, stored or deflated).
 * @throws {MlbomError} FORMAT_INVALID when the zip or a member header is bad
 */
export async function readNpz(source: ByteSource, zip?: ZipDirectory): Promise<NpzInfo> {
  const dir = zip ?? (await readZipDirectory(source));
  const tally = new DtypeTally();
  const arrays: NpzInfo['arrays'] = [];
  const otherMembers: string[] = [];
  for (const entry of dir.entries) {
    if (arrays.length >= MAX_NPZ_MEMBERS) break;
    if (!entry.name.endsWith('.npy')) {
      if (!entry.name.endsWith('/')) otherMembers.push(entry.name);
      continue;
    }
    const subject = { name: `${source.name}:${entry.name}` };
    const head = await readZipEntryPrefix(source, dir, entry, 64 * 1024);
    const header = parseNpyHeader(subject, head, entry.size);
    let pickle: PickleInfo | undefined;
    if (header.holdsObjects && entry.method === 0) {
      pickle = await readPickleGlobals(await zipEntrySource(source, dir, entry), { offset: header.dataOffset });
    }
    tally.add(header.dtype, header.elementCount);
    arrays.push({ name: entry.name.replace(/\.npy$/, ''), ...header, ...(pickle ? { pickle } : {}) });
  }
  return {
    arrays,
    parameterCount: tally.total,
    parametersByDtype: tally.toRecord(),
    holdsObjects: arrays.some((a) => a.holdsObjects),
    otherMembers,
  };
}
