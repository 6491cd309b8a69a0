import {
  type ByteSource,
  bufferByteSource,
  type Finding,
  fileByteSource,
  isMlbomError,
  MAX_READ_BYTES,
  MlbomError,
  type Problem,
  sliceByteSource,
} from '@mlbom/core';
import {
  classifyZip,
  inspectZip,
  isLzmaAlone,
  isTraversal,
  latin1,
  readLocalHeader,
  type ZipEntry,
} from '@mlbom/formats';
import { Collector } from './collector.js';
import { checkTemplate, scanGguf } from './gguf.js';
import {
  type Budget,
  bufferChunks,
  type ChunkSource,
  crcChunks,
  DecodeError,
  decompressChunks,
  LimitError,
  Reader,
  sourceChunks,
} from './input.js';
import { checkKerasJson, scanKerasBytes } from './keras.js';
import { DEFAULT_PICKLE_LIMITS, flushFindings, type PickleContext, type PickleLimits, runPickle } from './pickle.js';
import { scanSavedModel } from './savedmodel.js';

export type ScanStatus = 'clean' | 'unsafe' | 'error';

/** What the scanner took the bytes for (core's format names where they exist). */
export type ScanFormat =
  | 'pickle'
  | 'joblib'
  | 'pytorch-zip'
  | 'pytorch-legacy'
  | 'torchscript'
  | 'numpy'
  | 'numpy-archive'
  | 'keras'
  | 'keras-h5'
  | 'tf-savedmodel'
  | 'gguf'
  | 'safetensors'
  | 'zip'
  | 'tar'
  | 'compressed'
  | 'unknown';

export interface ScanLimits {
  /** Archives and compressed streams nested deeper than this are not opened (reported). */
  maxDepth: number;
  /** Members read per archive. */
  maxMembers: number;
  /** Bytes decompressed in one scan, all streams together (a zip bomb stops here). */
  maxDecompressedBytes: number;
  /** Largest member held in memory when random access is needed (a zip inside a compressed stream). */
  maxBufferedBytes: number;
  /** A stream (pickle, decompressed data) is cut here: a pickle that never ends stops. */
  maxStreamBytes: number;
  /** Declared content more than this many times the file's size (and above `bombMinBytes`) is a bomb. */
  bombRatio: number;
  bombMinBytes: number;
  pickle: PickleLimits;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxDepth: 4,
  maxMembers: 20_000,
  maxDecompressedBytes: 8 * 1024 ** 3,
  maxBufferedBytes: MAX_READ_BYTES,
  maxStreamBytes: Number.POSITIVE_INFINITY,
  bombRatio: 1000,
  bombMinBytes: 1024 ** 3,
  pickle: DEFAULT_PICKLE_LIMITS,
};

export interface ScanOptions {
  /** The file's name or path: extensions decide what a name claims (a `.safetensors` must not be a pickle). */
  path: string;
  signal?: AbortSignal;
  limits?: Partial<ScanLimits>;
  /**
   * Whether to look at the first bytes of PyTorch tensor storages (`<archive>/data/<n>`) too. PyTorch
   * never unpickles them, but a pickle hidden there is still reported. Default true; a source that
   * pays per request (HTTP range reads) may turn it off to read one member less per tensor.
   */
  sniffStorages?: boolean;
}

export interface ScanResult {
  /** `unsafe`: a threat was found; `error`: the file could not be fully analysed (never "clean" then). */
  status: ScanStatus;
  /** core's Finding shape: one CycloneDX vulnerability each. */
  findings: Finding[];
  /** Read errors and the like, for the file's `mlbom:problem` properties. */
  problems: Problem[];
  /** Bytes this scan read from the source. */
  bytesRead: number;
  format: ScanFormat;
  /** Archive members and nested streams that were analysed (capped). */
  members: string[];
  /** TorchScript code files listed in the archive (`code/...`). */
  code: string[];
  durationMs: number;
}

type Kind =
  | 'zip'
  | 'torch-legacy'
  | 'pickle'
  | 'maybe-pickle'
  | 'npy'
  | 'gguf'
  | 'hdf5'
  | 'gzip'
  | 'zlib'
  | 'bz2'
  | 'xz'
  | 'lz4'
  | 'zstd'
  | 'lzma'
  | 'tar'
  | 'safetensors'
  | 'savedmodel'
  | 'keras-metadata'
  | 'unknown';

const TORCH_LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/** Bytes a protocol 0/1 pickle (or one without PROTO) may start with. */
const WEAK_PICKLE_START = new Set([
  0x28, 0x7d, 0x5d, 0x29, 0x4e, 0x63, 0x49, 0x4c, 0x46, 0x53, 0x56, 0x58, 0x54, 0x55, 0x4b, 0x4a, 0x4d, 0x47, 0x42,
  0x43, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x95, 0x96, 0x50,
]);

function startsWith(head: Uint8Array, bytes: readonly number[], at = 0): boolean {
  if (head.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[at + i] !== bytes[i]) return false;
  return true;
}

function baseName(path: string): string {
  const n = path.replace(/\\/g, '/');
  return n.slice(n.lastIndexOf('/') + 1);
}

function extension(path: string): string {
  const b = baseName(path).toLowerCase();
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(dot) : '';
}

/** Names that claim a pickle-based format: a parse failure there is reported, not ignored. */
const PICKLE_EXTENSIONS = new Set([
  '.pkl',
  '.pickle',
  '.pk',
  '.p',
  '.pt',
  '.pth',
  '.ckpt',
  '.joblib',
  '.jbl',
  '.sav',
  '.dill',
  '.pkl3',
]);
/** Names that claim a format without code: a pickle behind one of them is a disguise. */
const SAFE_EXTENSIONS = new Set([
  '.safetensors',
  '.gguf',
  '.ggml',
  '.onnx',
  '.tflite',
  '.json',
  '.txt',
  '.md',
  '.yaml',
  '.yml',
  '.csv',
  '.h5',
  '.hdf5',
  '.keras',
  '.npy',
  '.npz',
  '.png',
  '.jpg',
  '.jpeg',
  '.msgpack',
  '.pb',
]);
/** Text files: scanned only when their first bytes carry a pickle GLOBAL/INST signature. */
const TEXT_EXTENSIONS = new Set([
  '.txt',
  '.md',
  '.json',
  '.yaml',
  '.yml',
  '.toml',
  '.cfg',
  '.ini',
  '.py',
  '.csv',
  '.html',
  '.xml',
  '.jinja',
  '.model',
  '.spm',
  '.vocab',
  '.tsv',
  '.rst',
]);
const GLOBAL_SIGNATURE = /(^|[\n(])[ci][A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/;

/** A zlib stream with the 32 KiB window every zlib writer uses (0x78 is no pickle opcode). */
function zlibHeader(head: Uint8Array): boolean {
  const a = head[0];
  const b = head[1];
  if (a !== 0x78 || b === undefined) return false;
  return (a * 256 + b) % 31 === 0;
}

function detect(head: Uint8Array, name: string): Kind {
  const base = baseName(name).toLowerCase();
  if (base === 'saved_model.pb') return 'savedmodel';
  if (base === 'keras_metadata.pb') return 'keras-metadata';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, TORCH_LEGACY_MAGIC)) return 'torch-legacy';
  if (head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) return 'pickle';
  if (startsWith(head, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'npy';
  if (startsWith(head, [0x47, 0x47, 0x55, 0x46])) return 'gguf';
  if (startsWith(head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) return 'hdf5';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x42, 0x5a, 0x68])) return 'bz2';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x04, 0x22, 0x4d, 0x18])) return 'lz4';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (isLzmaAlone(head)) return 'lzma';
  if (head.length >= 262 && startsWith(head, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return 'tar';
  if (head.length >= 10 && head[8] === 0x7b) {
    const len = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (len >= 2n && len < 100_000_000n) return 'safetensors';
  }
  if (zlibHeader(head)) return 'zlib'; // joblib's compress=True container, among others
  if (head[0] === undefined) return 'unknown';
  // A text file is a pickle only if it names a global the way protocol 0 does.
  if (TEXT_EXTENSIONS.has(extension(name))) return GLOBAL_SIGNATURE.test(latin1(head)) ? 'maybe-pickle' : 'unknown';
  return WEAK_PICKLE_START.has(head[0]) ? 'maybe-pickle' : 'unknown';
}

/**
 * Whether a file is worth scanning, from its name and first bytes (64 are enough; 512 see tar):
 * anything that could be a pickle, an archive, a NumPy / Keras / HDF5 / GGUF / SavedModel file.
 */
export function shouldScan(path: string, head: Uint8Array): boolean {
  if (isChatTemplateFile(path)) return true;
  const kind = detect(head, path);
  if (kind === 'unknown' || kind === 'safetensors') {
    const ext = extension(path);
    return (
      PICKLE_EXTENSIONS.has(ext) ||
      ext === '.tar' ||
      ext === '.tgz' ||
      ext === '.npz' ||
      ext === '.keras' ||
      ext === '.zip'
    );
  }
  return true;
}

interface Ctx {
  c: Collector;
  limits: ScanLimits;
  budget: Budget;
  signal: AbortSignal | undefined;
  format: ScanFormat | undefined;
  members: string[];
  code: string[];
  topSize: number;
  declared: number;
  /** A bomb was reported: archives past that point are not opened. */
  bomb: boolean;
  sniffStorages: boolean;
}

const FORMAT_OF: Partial<Record<Kind, ScanFormat>> = {
  'torch-legacy': 'pytorch-legacy',
  pickle: 'pickle',
  'maybe-pickle': 'pickle',
  npy: 'numpy',
  gguf: 'gguf',
  hdf5: 'keras-h5',
  gzip: 'compressed',
  zlib: 'compressed',
  bz2: 'compressed',
  xz: 'compressed',
  lz4: 'compressed',
  zstd: 'compressed',
  lzma: 'compressed',
  tar: 'tar',
  safetensors: 'safetensors',
  savedmodel: 'tf-savedmodel',
  'keras-metadata': 'tf-savedmodel',
};

function noteMember(ctx: Ctx, member: string): void {
  if (member && ctx.members.length < 1000 && !ctx.members.includes(member)) ctx.members.push(member);
}

function loc(prefix: string, offset?: number): string {
  return offset === undefined ? prefix || '@0' : `${prefix}@${offset}`;
}

/** Reads everything left in `reader`, or undefined when it is longer than `max`. */
async function readAll(reader: Reader, max: number): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (!(await reader.fill(1))) break;
    const chunk = reader.buf.subarray(reader.p);
    reader.p = reader.buf.length;
    total += chunk.length;
    if (total > max) return undefined;
    parts.push(chunk.slice());
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// --- pickle streams -------------------------------------------------------------------------------

const PYTHON_PATH = /^[A-Za-z_][\w.]*$/;

async function probeHead(ctx: Ctx, head: Uint8Array): Promise<boolean> {
  const scratch = new Collector('probe');
  const reader = new Reader(bufferChunks(head));
  try {
    const run = await runPickle(reader, {
      collector: scratch,
      location: () => '',
      limits: ctx.limits.pickle,
      joblib: false,
    });
    // A first global no loader could import (a text file's "c" + a path) ends any load there.
    const first = [...run.records.values()].sort((a, b) => a.offset - b.offset)[0];
    if (first && !(PYTHON_PATH.test(first.module) && PYTHON_PATH.test(first.name))) return false;
    if (run.status === 'stop') return true;
    if (run.status !== 'error') return false;
    // Cut off by the end of the head (and nothing went wrong before): a pickle longer than the head.
    if (!/^truncated|ends without STOP/.test(run.error ?? '')) return false;
    return (run.errorOffset ?? 0) >= head.length / 2 || run.ops >= 8;
  } catch {
    return false;
  }
}

async function scanPickles(
  ctx: Ctx,
  reader: Reader,
  prefix: string,
  depth: number,
  options: { trust: 'full' | 'threats'; legacy?: boolean },
): Promise<boolean> {
  const nested: Array<{ bytes: Uint8Array; where: string }> = [];
  const pc: PickleContext = {
    collector: ctx.c,
    location: (o) => loc(prefix, o),
    limits: ctx.limits.pickle,
    joblib: true,
    onNested(bytes, via, offset) {
      if (nested.length < 16) nested.push({ bytes, where: `${prefix}@${offset}>${via}` });
    },
  };
  let count = 0;
  let parsed = false;
  for (;;) {
    if (await reader.atEnd()) {
      if (count === 0 && options.trust === 'full') {
        ctx.c.add('MLBOM-PICKLE-MALFORMED', 'empty', 'the pickle stream is empty', loc(prefix, reader.pos));
      }
      break;
    }
    if (count > 0) {
      if (options.legacy && count >= 5) break; // legacy torch: storage bytes follow its five pickles
      const head = await reader.peek(16);
      const first = head[0];
      if (first === undefined || !(first === 0x80 || WEAK_PICKLE_START.has(first))) {
        ctx.c.add(
          'MLBOM-PICKLE-TRAILING-DATA',
          'trailing',
          `bytes from offset ${reader.pos} after the last pickle are not a pickle; loaders that read further may see them`,
          loc(prefix, reader.pos),
        );
        break;
      }
    }
    const trust = count === 0 ? options.trust : 'tentative';
    const run = await runPickle(reader, pc);
    count++;
    if (run.degraded) {
      ctx.c.add(
        'MLBOM-SCAN-INCOMPLETE',
        'degraded',
        `pickle analysed by opcode only after a limit: ${run.degraded}`,
        loc(prefix, run.start),
      );
    }
    if (run.status === 'stop') {
      parsed = true;
      flushFindings(run, pc, 'full');
      continue;
    }
    if (run.status === 'empty') break;
    if (trust === 'full' && count === 1 && run.errorOffset === run.start && run.records.size === 0) {
      // A loader stops at the first byte, before anything could run: not a pickle, whatever the name says.
      ctx.c.add(
        'MLBOM-FORMAT-MALFORMED',
        'not-pickle',
        `named like a pickle but not one: a loader fails at its first byte (${run.error})`,
        loc(prefix, run.start),
      );
    } else if (trust === 'full') {
      flushFindings(run, pc, 'full');
      ctx.c.add(
        'MLBOM-PICKLE-MALFORMED',
        `malformed ${count}`,
        `pickle ${count} (from offset ${run.start}) cannot be parsed: ${run.error} at offset ${run.errorOffset}; everything before it was analysed (a loader would have run it)`,
        loc(prefix, run.errorOffset),
      );
    } else {
      flushFindings(run, pc, 'threats');
      if (count > 1) {
        ctx.c.add(
          'MLBOM-PICKLE-TRAILING-DATA',
          'trailing',
          `bytes from offset ${run.start} after the last pickle do not parse as a pickle (${run.error})`,
          loc(prefix, run.start),
        );
      }
    }
    break;
  }
  for (const n of nested) {
    if (depth + 1 > ctx.limits.maxDepth) break;
    noteMember(ctx, n.where);
    await scanSource(ctx, bufferByteSource(n.bytes, n.where), 'nested.pkl', n.where, depth + 1);
  }
  return parsed;
}

// --- streams --------------------------------------------------------------------------------------

function reportLimit(ctx: Ctx, err: LimitError, where: string): void {
  if (err.kind === 'budget') {
    ctx.c.add(
      'MLBOM-ARCHIVE-BOMB',
      'budget',
      `${err.message} (${ctx.limits.maxDecompressedBytes} bytes): decompression bomb or a file too large to verify`,
      where,
    );
  } else if (err.kind === 'output') {
    ctx.c.add('MLBOM-ARCHIVE-TAMPERED', `size ${where}`, `member ${err.message}`, where);
  } else {
    ctx.c.add('MLBOM-SCAN-INCOMPLETE', 'stream-limit', err.message, where);
  }
}

async function scanStream(
  ctx: Ctx,
  reader: Reader,
  name: string,
  prefix: string,
  depth: number,
  inArchive: boolean,
): Promise<void> {
  const head = await reader.peek(4096);
  const kind = detect(head, name);
  const ext = extension(name);
  if (depth === 0 && !ctx.format)
    ctx.format = ext === '.joblib' || ext === '.jbl' ? 'joblib' : (FORMAT_OF[kind] ?? 'unknown');
  const claimsPickle = PICKLE_EXTENSIONS.has(ext);

  if ((kind === 'pickle' || kind === 'torch-legacy' || kind === 'maybe-pickle') && SAFE_EXTENSIONS.has(ext)) {
    const strong = kind !== 'maybe-pickle' || (await probeHead(ctx, head));
    if (strong) {
      ctx.c.add(
        'MLBOM-FORMAT-MISMATCH',
        `mismatch ${name}`,
        `the name ${baseName(name)} says ${ext.slice(1)}, but the content is a pickle (loading it with a pickle-based loader runs code)`,
        loc(prefix, 0),
      );
    }
  }

  switch (kind) {
    case 'zip': {
      const bytes = await readAll(reader, ctx.limits.maxBufferedBytes);
      if (!bytes) {
        ctx.c.add(
          'MLBOM-SCAN-INCOMPLETE',
          `zip ${prefix}`,
          `nested zip larger than ${ctx.limits.maxBufferedBytes} bytes inside a compressed stream is not opened`,
          loc(prefix),
        );
        return;
      }
      await scanZip(ctx, bufferByteSource(bytes, name), name, prefix ? `${prefix}!` : '', depth);
      return;
    }
    case 'torch-legacy':
      noteMember(ctx, prefix);
      await scanPickles(ctx, reader, prefix, depth, { trust: 'full', legacy: true });
      return;
    case 'pickle':
    case 'maybe-pickle': {
      const ok = claimsPickle || (await probeHead(ctx, head));
      if (ok) noteMember(ctx, prefix);
      await scanPickles(ctx, reader, prefix, depth, { trust: ok ? 'full' : 'threats' });
      return;
    }
    case 'npy':
      noteMember(ctx, prefix);
      await scanNpy(ctx, reader, prefix, depth);
      return;
    case 'gguf':
      noteMember(ctx, prefix);
      await scanGguf(reader, ctx.c, (o) => loc(prefix, o));
      return;
    case 'hdf5':
      if (inArchive) return; // Keras 3 weights inside a .keras archive: no config there
      noteMember(ctx, prefix);
      await scanKerasBytes(reader, ctx.c, loc(prefix));
      return;
    case 'keras-metadata':
      noteMember(ctx, prefix);
      await scanKerasBytes(reader, ctx.c, loc(prefix));
      return;
    case 'savedmodel': {
      noteMember(ctx, prefix);
      const bytes = await readAll(reader, ctx.limits.maxBufferedBytes);
      if (!bytes) {
        ctx.c.add(
          'MLBOM-SCAN-INCOMPLETE',
          'savedmodel',
          `saved_model.pb larger than ${ctx.limits.maxBufferedBytes} bytes is not analysed`,
          loc(prefix),
        );
        return;
      }
      await scanSavedModel(ctx.c, bytes, loc(prefix));
      return;
    }
    case 'gzip':
    case 'zlib':
    case 'bz2':
    case 'xz': {
      if (depth + 1 > ctx.limits.maxDepth) {
        ctx.c.add(
          'MLBOM-ARCHIVE-BOMB',
          'depth',
          `compressed data nested more than ${ctx.limits.maxDepth} levels deep`,
          loc(prefix),
        );
        return;
      }
      const inner = decompressChunks(reader.sub(Number.MAX_SAFE_INTEGER), kind, { budget: ctx.budget });
      const r2 = new Reader(inner, ctx.limits.maxStreamBytes, ctx.signal);
      const innerName = name.replace(/\.(gz|tgz|z|bz2|tbz2?|xz|txz)$/i, (m) =>
        ['.tgz', '.tbz', '.tbz2', '.txz'].includes(m.toLowerCase()) ? '.tar' : '',
      );
      try {
        await scanStream(ctx, r2, innerName, prefix, depth + 1, inArchive);
      } catch (err) {
        if (err instanceof LimitError) reportLimit(ctx, err, loc(prefix));
        else if (err instanceof DecodeError) {
          const rule = claimsPickle ? 'MLBOM-PICKLE-MALFORMED' : 'MLBOM-FORMAT-MALFORMED';
          ctx.c.add(rule, `inflate ${prefix}`, `compressed stream is corrupt (${(err as Error).message})`, loc(prefix));
        } else throw err;
      } finally {
        inner.close?.();
      }
      return;
    }
    case 'lz4':
    case 'zstd':
    case 'lzma':
      if (depth === 0 || claimsPickle) {
        // Named as a pickle (.joblib, .pkl...): the loader decompresses and unpickles it, so an
        // unreadable codec is as unsafe as an unparseable pickle, and fails the default gate.
        ctx.c.add(
          claimsPickle ? 'MLBOM-PICKLE-UNDECODED' : 'MLBOM-SCAN-INCOMPLETE',
          `compression ${kind}`,
          `content compressed with ${kind} is not analysed (zlib, gzip, bz2 and xz are); not known to be safe`,
          loc(prefix),
        );
      }
      return;
    case 'tar':
      if (depth + 1 > ctx.limits.maxDepth) {
        ctx.c.add(
          'MLBOM-ARCHIVE-BOMB',
          'depth',
          `archive nested more than ${ctx.limits.maxDepth} levels deep`,
          loc(prefix),
        );
        return;
      }
      await scanTar(ctx, reader, prefix ? `${prefix}!` : '', depth + 1);
      return;
    case 'safetensors':
    case 'unknown':
      if (claimsPickle && !inArchive && head.length > 0) {
        ctx.c.add(
          'MLBOM-FORMAT-MALFORMED',
          'not-pickle',
          `the name says ${ext.slice(1)} (pickle-based) but the content is not a pickle`,
          loc(prefix, 0),
        );
      }
      return;
  }
}

// --- NumPy ------------------------------------------------------------------------------------------

async function scanNpy(ctx: Ctx, reader: Reader, prefix: string, depth: number): Promise<void> {
  const fixed = await reader.read(10);
  if (!fixed) {
    ctx.c.add('MLBOM-FORMAT-MALFORMED', 'npy', 'NumPy header is truncated', loc(prefix, 0));
    return;
  }
  const major = fixed[6] as number;
  let headerLength: number;
  if (major === 1) headerLength = (fixed[8] as number) | ((fixed[9] as number) << 8);
  else {
    const more = await reader.read(2);
    if (!more) {
      ctx.c.add('MLBOM-FORMAT-MALFORMED', 'npy', 'NumPy header is truncated', loc(prefix, 0));
      return;
    }
    headerLength =
      ((fixed[8] as number) | ((fixed[9] as number) << 8) | ((more[0] as number) << 16)) +
      (more[1] as number) * 0x1000000;
  }
  if (headerLength > 1024 * 1024) {
    ctx.c.add('MLBOM-FORMAT-MALFORMED', 'npy', `NumPy header claims ${headerLength} bytes`, loc(prefix, 0));
    return;
  }
  const header = await reader.read(headerLength);
  if (!header) {
    ctx.c.add('MLBOM-FORMAT-MALFORMED', 'npy', 'NumPy header is truncated', loc(prefix, 0));
    return;
  }
  const text = Buffer.from(header.buffer, header.byteOffset, header.length).toString('latin1');
  const descr = /['"]descr['"]\s*:\s*(.*?)\s*,\s*['"](fortran_order|shape)['"]/s.exec(text)?.[1] ?? text;
  // An object dtype ('|O', or a structured dtype with an 'O' field) stores a pickle after the header.
  if (/['"][|<>=]?O\d*['"]/.test(descr)) {
    await scanPickles(ctx, reader, prefix, depth, { trust: 'full' });
  }
}

// --- tar --------------------------------------------------------------------------------------------

/**
 * A tar reader of its own (not a library's) because it reads through the scanner's Reader: members it
 * does not need are skipped without being read, so a tar of a 10 GB model costs its headers; and it
 * reports what extraction would do with hostile names and links instead of refusing them.
 */
async function scanTar(ctx: Ctx, reader: Reader, prefix: string, depth: number): Promise<void> {
  let longName: string | undefined;
  let longLink: string | undefined;
  let members = 0;
  const field = (h: Uint8Array, at: number, len: number) => {
    const b = h.subarray(at, at + len);
    const z = b.indexOf(0);
    return Buffer.from(b.buffer, b.byteOffset, z >= 0 ? z : b.length).toString('utf8');
  };
  for (;;) {
    const headerAt = reader.pos;
    const h = await reader.read(512);
    if (!h) break;
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
    const stored = Number.parseInt(field(h, 148, 8).trim() || '0', 8);
    if (stored !== sum) {
      ctx.c.add(
        'MLBOM-FORMAT-MALFORMED',
        `tar ${prefix}`,
        `tar header at offset ${headerAt} has a bad checksum; the rest is not read`,
        loc(prefix, headerAt),
      );
      return;
    }
    const typeflag = String.fromCharCode(h[156] as number);
    let size: number;
    if ((h[124] as number) & 0x80) {
      size = 0;
      for (let i = 125; i < 136; i++) size = size * 256 + (h[i] as number);
    } else size = Number.parseInt(field(h, 124, 12).trim() || '0', 8);
    if (!Number.isSafeInteger(size) || size < 0) {
      ctx.c.add(
        'MLBOM-FORMAT-MALFORMED',
        `tar ${prefix}`,
        `tar header at offset ${headerAt} has an invalid size`,
        loc(prefix, headerAt),
      );
      return;
    }
    const ustar = field(h, 257, 6).startsWith('ustar');
    let name = field(h, 0, 100);
    if (ustar) {
      const pre = field(h, 345, 155);
      if (pre) name = `${pre}/${name}`;
    }
    let link = field(h, 157, 100);
    const padded = size + ((512 - (size % 512)) % 512);
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      const body = await reader.take(padded, Math.min(padded, 1024 * 1024));
      if (!body) break;
      const text = Buffer.from(body.buffer, body.byteOffset, Math.min(size, body.length)).toString('utf8');
      if (typeflag === 'L') longName = text.replace(/\0.*$/s, '');
      else if (typeflag === 'K') longLink = text.replace(/\0.*$/s, '');
      else if (typeflag === 'x') {
        for (const m of text.matchAll(/\d+ (path|linkpath)=([^\n]*)\n/g)) {
          if (m[1] === 'path') longName = m[2];
          else longLink = m[2];
        }
      }
      continue;
    }
    if (longName !== undefined) name = longName;
    if (longLink !== undefined) link = longLink;
    longName = undefined;
    longLink = undefined;
    const member = `${prefix}${name}`;
    if (++members > ctx.limits.maxMembers) {
      ctx.c.add(
        'MLBOM-SCAN-INCOMPLETE',
        `tar-members ${prefix}`,
        `tar archive has more than ${ctx.limits.maxMembers} members; the rest is not read`,
        loc(prefix),
      );
      return;
    }
    if (isTraversal(name)) {
      ctx.c.add(
        'MLBOM-ARCHIVE-PATH-TRAVERSAL',
        name,
        `tar member "${name}" would be extracted outside the target directory`,
        loc(member),
      );
    }
    if (
      (typeflag === '1' || typeflag === '2') &&
      (isTraversal(link) || isTraversal(joinPosix(name, link, typeflag === '2')))
    ) {
      ctx.c.add(
        'MLBOM-ARCHIVE-PATH-TRAVERSAL',
        `${name} -> ${link}`,
        `tar ${typeflag === '2' ? 'symbolic' : 'hard'} link "${name}" points outside the archive: "${link}"`,
        loc(member),
      );
    }
    if (typeflag === '0' || typeflag === '\0' || typeflag === '7') {
      const sub = reader.sub(size);
      const r = new Reader(sub, ctx.limits.maxStreamBytes, ctx.signal);
      await scanStream(ctx, r, name, member, depth, false);
      await sub.skip?.(Number.MAX_SAFE_INTEGER);
      if (!(await reader.skip(padded - size))) break;
    } else if (!(await reader.skip(padded))) break;
  }
}

function joinPosix(from: string, link: string, symbolic: boolean): string {
  if (!symbolic) return link;
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/') + 1) : '';
  const parts: string[] = [];
  for (const p of `${dir}${link}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return '../';
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

// --- zip --------------------------------------------------------------------------------------------

async function scanZip(ctx: Ctx, source: ByteSource, name: string, prefix: string, depth: number): Promise<void> {
  if (depth > ctx.limits.maxDepth) {
    ctx.c.add(
      'MLBOM-ARCHIVE-BOMB',
      'depth',
      `archives nested more than ${ctx.limits.maxDepth} levels deep`,
      loc(prefix),
    );
    return;
  }
  const dir = await inspectZip(source, { maxEntries: ctx.limits.maxMembers });
  if (!dir) {
    ctx.c.add(
      'MLBOM-FORMAT-MALFORMED',
      `zip ${prefix}`,
      `${baseName(name) || 'archive'} starts like a zip archive but has no central directory`,
      loc(prefix),
    );
    return;
  }
  const names = dir.entries.map((e) => e.name);
  const kind: ScanFormat = classifyZip(names) ?? 'zip';
  if (depth === 0) ctx.format = kind;
  for (const p of dir.problems) ctx.c.problem('ZIP_ANOMALY', `${prefix || baseName(name)}: ${p}`);
  if (dir.omitted > 0) {
    ctx.c.add(
      'MLBOM-SCAN-INCOMPLETE',
      `zip-members ${prefix}`,
      `archive has ${dir.omitted} more members than the ${ctx.limits.maxMembers} read`,
      loc(prefix),
    );
  }

  // Bombs: overlapping members (one compressed stream counted many times) and declared sizes far
  // beyond the file's size across all nested archives.
  const byOffset = [...dir.entries]
    .filter((e) => !e.directory)
    .sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let overlaps = 0;
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1] as ZipEntry;
    const cur = byOffset[i] as ZipEntry;
    if (cur.localHeaderOffset < prev.localHeaderOffset + 30 + prev.compressedSize) overlaps++;
  }
  if (overlaps > 0) {
    ctx.c.add(
      'MLBOM-ARCHIVE-BOMB',
      `overlap ${prefix}`,
      `${overlaps} members share or overlap their compressed data (overlapping-entry zip bomb)`,
      loc(prefix),
    );
  }
  for (const e of dir.entries) ctx.declared += e.size;
  if (ctx.declared > ctx.limits.bombMinBytes && ctx.declared > ctx.limits.bombRatio * Math.max(1, ctx.topSize)) {
    if (ctx.bomb) return;
    ctx.bomb = true;
    ctx.c.add(
      'MLBOM-ARCHIVE-BOMB',
      'ratio',
      `archives declare ${ctx.declared} bytes of content in a ${ctx.topSize}-byte file (more than ${ctx.limits.bombRatio} times its size)`,
      loc(prefix),
    );
    return;
  }

  for (const entry of dir.entries) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const member = `${prefix}${entry.name}`;
    if (isTraversal(entry.name)) {
      ctx.c.add(
        'MLBOM-ARCHIVE-PATH-TRAVERSAL',
        entry.name,
        `zip member "${entry.name}" would be extracted outside the target directory`,
        loc(member),
      );
    }
    if (entry.directory) continue;
    if (!ctx.sniffStorages && (kind === 'pytorch-zip' || kind === 'torchscript') && /(^|\/)data\/\d+$/.test(entry.name))
      continue;
    if (kind === 'torchscript' && /(^|\/)code\//.test(entry.name)) {
      if (ctx.code.length < 1000) ctx.code.push(entry.name);
      continue;
    }
    await scanZipMember(ctx, source, entry, kind, member, depth);
  }
}

async function scanZipMember(
  ctx: Ctx,
  source: ByteSource,
  entry: ZipEntry,
  kind: ScanFormat,
  member: string,
  depth: number,
): Promise<void> {
  const local = await readLocalHeader(source, entry);
  if (!local) {
    ctx.c.add(
      'MLBOM-SCAN-INCOMPLETE',
      `local ${member}`,
      `member "${entry.name}" has no local header at offset ${entry.localHeaderOffset}`,
      loc(member),
    );
    return;
  }
  if (local.name !== entry.name) {
    ctx.c.add(
      'MLBOM-ARCHIVE-TAMPERED',
      `name ${member}`,
      `member "${entry.name}" is named "${local.name}" in its local header: readers that trust one or the other see different files`,
      loc(member),
    );
  }
  if (local.method !== entry.method) {
    ctx.c.add(
      'MLBOM-ARCHIVE-TAMPERED',
      `method ${member}`,
      `member "${entry.name}" declares compression ${entry.method} centrally and ${local.method} locally`,
      loc(member),
    );
  }
  const encrypted = ((entry.flags | local.flags) & 0x41) !== 0;
  const interesting =
    /\.(pkl|pickle|npy|json|pt|pth|bin|joblib|zip|tar|gz|gguf)$/i.test(entry.name) ||
    kind === 'pytorch-zip' ||
    kind === 'torchscript';
  if (entry.method !== 0 && entry.method !== 8) {
    if (interesting) {
      ctx.c.add(
        'MLBOM-SCAN-INCOMPLETE',
        `method ${member}`,
        `member "${entry.name}" uses compression method ${entry.method}, which is not analysed`,
        loc(member),
      );
    }
    return;
  }
  if (entry.method === 0 && entry.size !== entry.compressedSize) {
    ctx.c.add(
      'MLBOM-ARCHIVE-TAMPERED',
      `size ${member}`,
      `stored member "${entry.name}" declares ${entry.compressedSize} bytes stored but ${entry.size} bytes of content`,
      loc(member),
    );
  }
  const dataEnd = local.dataOffset + entry.compressedSize;
  if (dataEnd > source.size) {
    ctx.c.add(
      'MLBOM-ARCHIVE-TAMPERED',
      `bounds ${member}`,
      `member "${entry.name}" claims data past the end of the archive`,
      loc(member),
    );
  }
  const raw = sourceChunks(
    source,
    local.dataOffset,
    Math.max(0, Math.min(entry.compressedSize, source.size - local.dataOffset)),
  );
  const plain: ChunkSource =
    entry.method === 8 ? decompressChunks(raw, 'raw', { maxOutput: entry.size, budget: ctx.budget }) : raw;
  const crc = crcChunks(plain);
  const reader = new Reader(crc, ctx.limits.maxStreamBytes, ctx.signal);
  let recognised = false;
  try {
    const head = await reader.peek(4096);
    const memberKind = detect(head, entry.name);
    recognised = memberKind !== 'unknown';
    if (memberKind === 'zip') {
      noteMember(ctx, member);
      if (entry.method === 0) {
        await scanZip(
          ctx,
          sliceByteSource(source, local.dataOffset, entry.compressedSize, member),
          entry.name,
          `${member}!`,
          depth + 1,
        );
      } else {
        const bytes = await readAll(reader, ctx.limits.maxBufferedBytes);
        if (!bytes) {
          ctx.c.add(
            'MLBOM-SCAN-INCOMPLETE',
            `zip ${member}`,
            `nested archive "${entry.name}" is larger than ${ctx.limits.maxBufferedBytes} bytes compressed; not opened`,
            loc(member),
          );
        } else await scanZip(ctx, bufferByteSource(bytes, member), entry.name, `${member}!`, depth + 1);
      }
    } else if (kind === 'keras' && /(^|\/)config\.json$/.test(entry.name)) {
      noteMember(ctx, member);
      const bytes = await readAll(reader, ctx.limits.maxBufferedBytes);
      if (!bytes)
        ctx.c.add(
          'MLBOM-SCAN-INCOMPLETE',
          `config ${member}`,
          'Keras config.json is too large to analyse',
          loc(member),
        );
      else checkKerasJson(ctx.c, new TextDecoder('utf-8').decode(bytes), loc(member));
    } else if (memberKind !== 'unknown' && memberKind !== 'safetensors') {
      await scanStream(ctx, reader, entry.name, member, depth + 1, true);
    } else if (/\.(pkl|pickle)$/i.test(entry.name) && !encrypted) {
      ctx.c.add(
        'MLBOM-FORMAT-MALFORMED',
        `not-pickle ${member}`,
        `member "${entry.name}" is named as a pickle but its content is not one`,
        loc(member, 0),
      );
    }
    if (crc.complete && crc.length === entry.size && crc.crc !== entry.crc32 >>> 0 && recognised) {
      ctx.c.add(
        'MLBOM-ARCHIVE-TAMPERED',
        `crc ${member}`,
        `member "${entry.name}" has CRC-32 ${crc.crc.toString(16)} but its headers declare ${entry.crc32.toString(16)} (PyTorch loads it; strict zip readers refuse it)`,
        loc(member),
      );
    }
    if (encrypted) {
      if (recognised) {
        ctx.c.add(
          'MLBOM-ARCHIVE-TAMPERED',
          `flags ${member}`,
          `member "${entry.name}" is flagged as encrypted but its content is plain (flag bits 0x${(entry.flags | local.flags).toString(16)})`,
          loc(member),
        );
      } else if (interesting) {
        ctx.c.add(
          'MLBOM-SCAN-INCOMPLETE',
          `encrypted ${member}`,
          `member "${entry.name}" is encrypted and cannot be analysed`,
          loc(member),
        );
      }
    }
  } catch (err) {
    if (err instanceof LimitError) reportLimit(ctx, err, loc(member));
    else if (err instanceof DecodeError) {
      if (interesting || recognised) {
        ctx.c.add(
          'MLBOM-SCAN-INCOMPLETE',
          `inflate ${member}`,
          `member "${entry.name}" cannot be decompressed (${(err as Error).message})`,
          loc(member),
        );
      }
    } else throw err;
  } finally {
    plain.close?.();
  }
}

// --- entry points -----------------------------------------------------------------------------------

/** Hugging Face tokenizer files that carry a Jinja chat template. */
const CHAT_TEMPLATE_FILES = new Set(['tokenizer_config.json', 'chat_template.json', 'chat_template.jinja']);

/** Whether a file (by name) is a tokenizer file whose chat template the scanner checks. */
export function isChatTemplateFile(path: string): boolean {
  return CHAT_TEMPLATE_FILES.has(baseName(path).toLowerCase());
}
/** Tokenizer configs are small; a larger one is reported rather than read. */
const MAX_TOKENIZER_CONFIG = 16 * 1024 * 1024;

/** Checks the chat template(s) of a tokenizer file with the same rules as GGUF templates. */
async function scanChatTemplateFile(ctx: Ctx, source: ByteSource, name: string, prefix: string): Promise<void> {
  if (source.size > MAX_TOKENIZER_CONFIG) {
    ctx.c.add(
      'MLBOM-SCAN-INCOMPLETE',
      'tokenizer file too large',
      `${name} is ${source.size} bytes; not read`,
      loc(prefix),
    );
    return;
  }
  const text = Buffer.from(await source.read(0, source.size)).toString('utf8');
  if (name.toLowerCase().endsWith('.jinja')) {
    checkTemplate(ctx.c, text, 'chat_template', loc(prefix), 'tokenizer');
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return; // not JSON: nothing a tokenizer would render
  }
  const value =
    typeof json === 'object' && json !== null ? (json as { chat_template?: unknown }).chat_template : undefined;
  // transformers stores one template as a string, several as [{ name, template }].
  const templates: Array<[string, string]> =
    typeof value === 'string'
      ? [['chat_template', value]]
      : Array.isArray(value)
        ? value.flatMap((t: unknown) => {
            const entry = t as { name?: unknown; template?: unknown };
            return typeof entry?.template === 'string'
              ? [[`chat_template.${String(entry.name ?? '')}`, entry.template] as [string, string]]
              : [];
          })
        : [];
  for (const [key, template] of templates) checkTemplate(ctx.c, template, key, loc(prefix), 'tokenizer');
}

async function scanSource(ctx: Ctx, source: ByteSource, name: string, prefix: string, depth: number): Promise<void> {
  if (isChatTemplateFile(name)) {
    if (depth === 0) ctx.format = 'unknown';
    await scanChatTemplateFile(ctx, source, name, prefix);
    return;
  }
  if (source.size === 0) {
    if (depth === 0) ctx.format = 'unknown';
    if (PICKLE_EXTENSIONS.has(extension(name)))
      ctx.c.add('MLBOM-FORMAT-MALFORMED', 'empty', 'the file is empty', loc(prefix, 0));
    return;
  }
  const head = await source.read(0, Math.min(source.size, 512));
  const kind = detect(head, name);
  if (kind === 'zip') {
    if (depth === 0) ctx.format = 'zip';
    await scanZip(ctx, source, name, prefix, depth);
    return;
  }
  const reader = new Reader(sourceChunks(source, 0, source.size), ctx.limits.maxStreamBytes, ctx.signal);
  try {
    await scanStream(ctx, reader, name, prefix, depth, false);
  } catch (err) {
    if (err instanceof LimitError) reportLimit(ctx, err, loc(prefix));
    else throw err;
  }
}

/** Bytes of a file's head `shouldScan` needs (64 tell most formats; tar's magic sits at 257). */
export const SCAN_HEAD_BYTES = 512;

/**
 * Scans a file when its name or first bytes say it can carry code (see `shouldScan`); undefined for
 * files that cannot (safetensors, text). The one entry point every source and the CLI use.
 * @throws {MlbomError} ABORTED when `signal` aborts
 */
export async function scanIfRelevant(source: ByteSource, options: ScanOptions): Promise<ScanResult | undefined> {
  const head = await source.read(0, Math.min(SCAN_HEAD_BYTES, source.size));
  return shouldScan(options.path, head) ? scan(source, options) : undefined;
}

/**
 * Scans one file's bytes for code that loading it would run. Reads only what it needs (zip members
 * that are not pickles are never read). Never throws for hostile content: unreadable parts are
 * findings (`MLBOM-SCAN-INCOMPLETE`, `MLBOM-PICKLE-MALFORMED`) and the status is then `error`.
 * @throws {MlbomError} ABORTED when `signal` aborts
 */
export async function scan(source: ByteSource, options: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const before = source.bytesRead;
  const limits: ScanLimits = { ...DEFAULT_SCAN_LIMITS, ...options.limits };
  const ctx: Ctx = {
    c: new Collector(options.path),
    limits,
    budget: { remaining: limits.maxDecompressedBytes },
    signal: options.signal,
    format: undefined,
    members: [],
    code: [],
    topSize: source.size,
    declared: 0,
    bomb: false,
    sniffStorages: options.sniffStorages ?? true,
  };
  try {
    await scanSource(ctx, source, options.path, '', 0);
  } catch (err) {
    if (options.signal?.aborted) {
      throw new MlbomError('ABORTED', `${options.path}: scan aborted`, { cause: err });
    }
    if (isMlbomError(err)) {
      ctx.c.problem(err.code, err.message);
      ctx.c.add('MLBOM-SCAN-INCOMPLETE', 'read', `the file could not be read to the end: ${err.message}`, undefined);
    } else if (err instanceof RangeError) {
      ctx.c.add('MLBOM-SCAN-INCOMPLETE', 'range', `analysis stopped: ${err.message}`, undefined);
    } else throw err;
  }
  const findings = ctx.c.findings();
  const status: ScanStatus = ctx.c.hasThreat() ? 'unsafe' : ctx.c.incomplete ? 'error' : 'clean';
  return {
    status,
    findings,
    problems: ctx.c.problems,
    bytesRead: source.bytesRead - before,
    format: ctx.format ?? 'unknown',
    members: ctx.members,
    code: ctx.code,
    durationMs: performance.now() - started,
  };
}

/**
 * Scans a local file.
 * @throws {MlbomError} NOT_FOUND, PERMISSION_DENIED, FILE_UNREADABLE when it cannot be opened
 */
export async function scanFile(
  path: string,
  options: Omit<ScanOptions, 'path'> & { path?: string } = {},
): Promise<ScanResult> {
  const source = await fileByteSource(path);
  try {
    return await scan(source, { ...options, path: options.path ?? path });
  } finally {
    await source.close();
  }
}
