import { type ByteSource, bufferByteSource } from '@mlbom/core';
import { type PickleInfo, readPickleGlobals, walkPickle } from './pickle.js';
import { Cursor, formatError, safeNumber, utf8 } from './util.js';
import { readZipDirectory, readZipEntry, type ZipDirectory, type ZipEntry, zipEntrySource } from './zip.js';

/** Largest compressed data.pkl inflated (torch stores it uncompressed; others may not). */
const MAX_INFLATED_PICKLE = 64 * 1024 * 1024;
const STORAGE_ITEM_SIZES: Record<string, number> = {
  DoubleStorage: 8,
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
  ComplexFloatStorage: 8,
  ComplexDoubleStorage: 16,
};

/** torch's legacy magic number, the first pickle of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export interface PytorchInfo {
  kind: 'zip' | 'torchscript' | 'legacy';
  /** The zip's top folder (`archive`, or the file name torch.save was given). */
  archiveName?: string | undefined;
  /** The archive's `version` record (serialization format version). */
  serializationVersion?: string | undefined;
  byteorder?: string | undefined;
  /** Tensor storages: `data/` entries of a zip, storage keys of a legacy file. */
  storageCount: number;
  /** Legacy files: the protocol version pickled after the magic number (1001). */
  legacyProtocolVersion?: number | undefined;
  /** The model's class for a whole-module save (e.g. `torch.nn.modules.linear.Linear`). */
  architecture?: string | undefined;
  parameterCount?: number | undefined;
  parametersByDtype?: Record<string, number> | undefined;
  /** The main pickle (`data.pkl`, or the legacy object pickle): protocol and globals. */
  pickle: PickleInfo;
  /** TorchScript: classes whose compiled code the archive carries (`code/__torch__/...`). */
  codeFiles: number;
}

function architectureOf(pickle: PickleInfo): string | undefined {
  const cls = pickle.rootClass;
  if (!cls || cls === 'torch.Tensor') return undefined;
  // TorchScript names compiled classes `__torch__.<module>.<Class>`.
  return cls.startsWith('__torch__.') ? cls.slice('__torch__.'.length) : cls;
}

async function smallText(source: ByteSource, dir: ZipDirectory, entry?: ZipEntry) {
  if (!entry) return undefined;
  const bytes = await readZipEntry(source, dir, entry, 4096);
  return utf8(bytes).trim() || undefined;
}

async function readZip(source: ByteSource, zip?: ZipDirectory): Promise<PytorchInfo> {
  const dir = zip ?? (await readZipDirectory(source));
  const pkl = dir.entries.find((e) => /^([^/]+\/)?data\.pkl$/.test(e.name));
  if (!pkl) throw formatError(source, 'PyTorch: zip archive without data.pkl');
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const named = (rel: string) => dir.entries.find((e) => e.name === `${prefix}${rel}`);
  const inArchive = dir.entries.filter((e) => e.name.startsWith(prefix));
  const codeFiles = inArchive.filter((e) => e.name.startsWith(`${prefix}code/`) && e.name.endsWith('.py')).length;
  const torchscript = codeFiles > 0 || named('constants.pkl') !== undefined;
  const storageCount = inArchive.filter((e) => {
    const rest = e.name.slice(prefix.length);
    return rest.startsWith('data/') && rest.length > 5 && !rest.endsWith('/');
  }).length;

  const pickleSource =
    pkl.method === 0
      ? await zipEntrySource(source, dir, pkl)
      : bufferByteSource(await readZipEntry(source, dir, pkl, MAX_INFLATED_PICKLE), `${source.name}:${pkl.name}`);
  const pickle = await readPickleGlobals(pickleSource);
  return {
    kind: torchscript ? 'torchscript' : 'zip',
    archiveName: prefix.replace(/\/$/, '') || undefined,
    serializationVersion: (await smallText(source, dir, named('version') ?? named('.data/version')))?.slice(0, 64),
    byteorder: (await smallText(source, dir, named('byteorder')))?.slice(0, 64),
    storageCount,
    architecture: architectureOf(pickle),
    parameterCount: pickle.torch?.parameterCount,
    parametersByDtype: pickle.torch?.parametersByDtype,
    pickle,
    codeFiles,
  };
}

async function readLegacy(source: ByteSource): Promise<PytorchInfo> {
  const cursor = new Cursor(source, 0);
  const magic = await walkPickle(cursor);
  if (magic.root !== LEGACY_MAGIC) throw formatError(source, 'PyTorch: not a legacy torch file (no magic number)');
  const protocol = await walkPickle(cursor);
  const sysInfo = await walkPickle(cursor);
  let byteorder: string | undefined;
  const sys = sysInfo.root;
  if (sys && typeof sys === 'object' && 'entries' in sys) {
    const little = sys.get('little_endian');
    if (typeof little === 'boolean') byteorder = little ? 'little' : 'big';
  }
  const main = await walkPickle(cursor);
  let storageCount = main.torch?.storageCount ?? 0;
  if (!main.truncated) {
    const keys = await walkPickle(cursor);
    const list = keys.root;
    if (list && typeof list === 'object' && 'items' in list && Array.isArray(list.items)) {
      storageCount = list.items.length;
      // The raw storages follow, each as a u64 element count and its bytes: they must be in the file.
      for (const key of list.items) {
        const storage = main.torch?.storages[String(key)];
        const itemSize = storage ? STORAGE_ITEM_SIZES[storage.type] : undefined;
        await cursor.need(8, 'legacy storage');
        const numel = safeNumber(source, cursor.u64(), 'storage size');
        if (itemSize === undefined) break;
        cursor.skip(numel * itemSize, `storage ${String(key).slice(0, 40)}`);
      }
    }
  }
  return {
    kind: 'legacy',
    byteorder,
    storageCount,
    legacyProtocolVersion: typeof protocol.root === 'number' ? protocol.root : undefined,
    architecture: architectureOf(main),
    parameterCount: main.torch?.parameterCount,
    parametersByDtype: main.torch?.parametersByDtype,
    pickle: main,
    codeFiles: 0,
  };
}

/**
 * Reads a PyTorch checkpoint without loading it: the zip format (torch.save since 1.6), TorchScript
 * archives (torch.jit.save), or the legacy pickle-stream format. `zip`: the source's central
 * directory when the caller has already parsed it.
 * @throws {MlbomError} FORMAT_INVALID when it is none of them
 */
export async function readPytorch(source: ByteSource, zip?: ZipDirectory): Promise<PytorchInfo> {
  const head = await source.read(0, 4);
  if (head[0] === 0x50 && head[1] === 0x4b) return readZip(source, zip);
  if (head[0] === 0x80) return readLegacy(source);
  throw formatError(source, 'PyTorch: neither a zip archive nor a legacy pickle stream');
}
