import { type ByteSource, isMlbomError, type ModelFormat, type Problem, type Property } from '@mlbom/core';
import { readZipDirectory, type ZipDirectory } from './zip.js';

/** Bytes read from the start of a file to recognise its format. */
export const HEAD_SIZE = 64;
/** The safetensors library refuses headers above 100 MB. */
const MAX_SAFETENSORS_HEADER = 100_000_000;

/** What a file name claims; `pytorch` stands for any of the PyTorch serializations. */
export type ClaimedFormat = ModelFormat | 'pytorch';

const WEIGHT_EXTENSIONS: Record<string, ClaimedFormat> = {
  '.safetensors': 'safetensors',
  '.gguf': 'gguf',
  '.onnx': 'onnx',
  '.pt': 'pytorch',
  '.pth': 'pytorch',
  '.bin': 'pytorch',
  '.ckpt': 'pytorch',
  '.keras': 'keras',
  '.h5': 'keras-h5',
  '.hdf5': 'keras-h5',
  '.tflite': 'tflite',
  '.joblib': 'joblib',
  '.pkl': 'pickle',
  '.pickle': 'pickle',
  '.npy': 'numpy',
  '.npz': 'numpy-archive',
};

/**
 * Extensions that are too generic to make a lone file a model without the content agreeing: `.bin`
 * for any binary, `.pth` also for Python's path-configuration files in every site-packages.
 */
const AMBIGUOUS_EXTENSIONS = new Set(['.bin', '.pth']);

/** File names tokenizers are saved under (lowercase). */
const TOKENIZER_FILES = new Set([
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'vocab.txt',
  'merges.txt',
  'tokenizer.model',
  'spiece.model',
  'sentencepiece.model',
  'sentencepiece.bpe.model',
  'preprocessor_config.json',
]);

/** Whether a file name (no folder) is one a tokenizer is saved under. */
export function isTokenizerFile(name: string): boolean {
  return TOKENIZER_FILES.has(name.toLowerCase());
}

const CONFIG_EXTENSIONS = new Set(['.json', '.yaml', '.yml', '.toml', '.cfg', '.ini']);

/** Formats read as text, never sniffed. */
const TEXT_FORMATS = new Set<ClaimedFormat>(['config', 'model-card', 'requirements', 'tokenizer', 'safetensors-index']);

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The weights format a file's extension claims, if any. */
export function weightsClaim(path: string): ClaimedFormat | undefined {
  return WEIGHT_EXTENSIONS[extensionOf(baseName(path))];
}

/** Whether a file's name alone says it holds weights (used to group folders and find lone models). */
export function isWeightsName(path: string): boolean {
  return weightsClaim(path) !== undefined;
}

/** Whether the name is too generic (`.bin`) for a lone file to count as a model unless its bytes agree. */
export function isAmbiguousWeightsName(path: string): boolean {
  return AMBIGUOUS_EXTENSIONS.has(extensionOf(baseName(path)));
}

/** What a file's name (relative path inside a model folder, posix) says it is. */
export function claimFromName(path: string): ClaimedFormat | undefined {
  const name = baseName(path);
  const lower = name.toLowerCase();
  const weights = WEIGHT_EXTENSIONS[extensionOf(name)];
  if (weights) return weights;
  if (lower === 'saved_model.pb') return 'tf-savedmodel';
  if (/(^|\/)variables\/variables\.(index|data-\d+-of-\d+)$/.test(path)) return 'tf-savedmodel';
  if (lower.endsWith('.safetensors.index.json')) return 'safetensors-index';
  if (lower === 'readme.md') return 'model-card';
  if (/^requirements[\w.-]*\.txt$/.test(lower)) return 'requirements';
  if (TOKENIZER_FILES.has(lower)) return 'tokenizer';
  if (CONFIG_EXTENSIONS.has(extensionOf(name))) return 'config';
  return undefined;
}

/** Whether a file with this claim is read as text (no need to look at its bytes). */
export function isTextClaim(claim: ClaimedFormat | undefined): boolean {
  return claim !== undefined && TEXT_FORMATS.has(claim);
}

/** Whether a file's first bytes are worth reading: not for text files, nor SavedModel variables (no magic). */
export function shouldSniff(path: string): boolean {
  const claim = claimFromName(path);
  if (isTextClaim(claim)) return false;
  return !(claim === 'tf-savedmodel' && baseName(path).toLowerCase() !== 'saved_model.pb');
}

export type ContentKind =
  | { kind: 'safetensors'; headerLength: number; truncated: boolean }
  | { kind: 'gguf'; version: number }
  | { kind: 'tflite' }
  | { kind: 'hdf5' }
  | { kind: 'numpy'; version: number }
  | { kind: 'zip' }
  | { kind: 'pickle'; protocol: number; torchLegacy: boolean }
  | { kind: 'compressed'; compression: string }
  | { kind: 'lfs-pointer' };

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const NUMPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** PROTO 2, LONG1 of 10 bytes: torch's legacy magic number 0x1950a86a20f9469cfc6c, little-endian. */
const TORCH_LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LFS_POINTER = new TextEncoder().encode('version https://git-lfs.github.com/spec/v1');
const COMPRESSIONS: [string, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['bz2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['zlib', [0x78, 0x01]],
  ['zlib', [0x78, 0x5e]],
  ['zlib', [0x78, 0x9c]],
  ['zlib', [0x78, 0xda]],
  ['zlib', [0x5a, 0x46]], // joblib's own zlib container: "ZF"
];
/** Opcodes a protocol 0/1 pickle may start with: ( } ] ) c N I L. */
const OLD_PICKLE_START = new Set([0x28, 0x7d, 0x5d, 0x29, 0x63, 0x4e, 0x49, 0x4c]);

/**
 * The legacy `.lzma` header (joblib `compress='lzma'`) has no magic. Its first byte, the lc/lp/pb
 * properties, is 0x5d for every preset, and 0x5d is also EMPTY_LIST, so a pickle parse of the stream
 * finds nothing and would call it clean. Recognised from that byte, a dictionary of 2^n or
 * 2^n + 2^(n-1) bytes and a plausible or unknown (all ones) size. A pickle cannot hide behind this:
 * a dictionary size of at least 4 KiB puts 0x00, which is no opcode, right after the EMPTY_LIST.
 */
export function isLzmaAlone(head: Uint8Array): boolean {
  if (head.length < 13 || head[0] !== 0x5d) return false;
  const view = new DataView(head.buffer, head.byteOffset, 13);
  const dict = view.getUint32(1, true);
  const dictOk = dict >= 4096 && (Number.isInteger(Math.log2(dict)) || Number.isInteger(Math.log2(dict / 1.5)));
  const size = view.getBigUint64(5, true);
  return dictOk && (size === 0xffffffffffffffffn || size < 2n ** 40n);
}

function startsWith(head: Uint8Array, bytes: readonly number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => head[offset + i] === b);
}

/**
 * Recognises a format from the first bytes of a file (at most HEAD_SIZE are looked at) and its size.
 * ONNX and SavedModel protobufs have no magic; see looksLikeProtobuf.
 */
export function detectContent(head: Uint8Array, size: number): ContentKind | undefined {
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (startsWith(head, [...LFS_POINTER])) return { kind: 'lfs-pointer' };
  if (startsWith(head, [0x47, 0x47, 0x55, 0x46])) {
    return { kind: 'gguf', version: head.length >= 8 ? dv.getUint32(4, true) : 0 };
  }
  if (startsWith(head, [0x54, 0x46, 0x4c, 0x33], 4)) return { kind: 'tflite' };
  if (startsWith(head, HDF5_MAGIC)) return { kind: 'hdf5' };
  if (startsWith(head, NUMPY_MAGIC)) return { kind: 'numpy', version: head[6] ?? 0 };
  if (startsWith(head, ZIP_MAGIC) || startsWith(head, EMPTY_ZIP_MAGIC)) return { kind: 'zip' };
  if (head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5) {
    return { kind: 'pickle', protocol: head[1], torchLegacy: startsWith(head, TORCH_LEGACY_MAGIC, 2) };
  }
  for (const [compression, magic] of COMPRESSIONS) {
    if (startsWith(head, magic)) return { kind: 'compressed', compression };
  }
  if (isLzmaAlone(head)) return { kind: 'compressed', compression: 'lzma' };
  if (head.length >= 10 && head[8] === 0x7b && [0x22, 0x7d, 0x20, 0x0a, 0x0d, 0x09].includes(head[9] as number)) {
    const length = dv.getBigUint64(0, true);
    if (length >= 2n && length <= BigInt(MAX_SAFETENSORS_HEADER)) {
      const headerLength = Number(length);
      return { kind: 'safetensors', headerLength, truncated: 8 + headerLength > size };
    }
  }
  return undefined;
}

/**
 * A sanity check for protobuf files without magic (ONNX ModelProto, SavedModel): the first byte must
 * be the tag of a field those messages start with, and a leading ir_version/schema version must be small.
 */
export function looksLikeProtobuf(head: Uint8Array, claim: 'onnx' | 'tf-savedmodel'): boolean {
  const first = head[0];
  if (first === undefined) return false;
  if (first === 0x08) {
    const version = head[1];
    return version !== undefined && version < 0x80 && version <= 64;
  }
  if (claim === 'tf-savedmodel') return first === 0x12;
  // ONNX ModelProto: producer_name .. metadata_props (fields 2-8, 14) or training_info/functions (20, 25, 26).
  if ([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(first)) return true;
  return [0xa2, 0xca, 0xd2].includes(first) && head[1] === 0x01;
}

/** What a zip archive's entry names say it is (directory entries, `name/`, say nothing). */
export function classifyZip(
  names: readonly string[],
): 'torchscript' | 'pytorch-zip' | 'keras' | 'numpy-archive' | undefined {
  if (names.some((n) => /(^|\/)data\.pkl$/.test(n))) {
    return names.some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n)) ? 'torchscript' : 'pytorch-zip';
  }
  if (names.includes('config.json') && (names.includes('metadata.json') || names.includes('model.weights.h5'))) {
    return 'keras';
  }
  const files = names.filter((n) => !n.endsWith('/'));
  if (files.length > 0 && files.every((n) => n.endsWith('.npy'))) return 'numpy-archive';
  return undefined;
}

export interface SniffResult {
  format: ModelFormat;
  /** True when the bytes show a model format (not merely the name). */
  recognised: boolean;
  properties: Property[];
  problems: Problem[];
}

/** The format a name alone stands for; PyTorch names fit several formats, so they stay `unknown`. */
export function formatFromClaim(claim: ClaimedFormat | undefined): ModelFormat {
  return claim === undefined || claim === 'pytorch' ? 'unknown' : claim;
}

/** Whether a detected format satisfies what the name claimed. */
function agrees(claim: ClaimedFormat, format: ModelFormat): boolean {
  if (claim === 'pytorch') return format === 'pytorch-zip' || format === 'pytorch-legacy' || format === 'torchscript';
  return claim === format;
}

/** Error text without the leading `<name>: ` (the subject is recorded separately). */
export function problemMessage(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith(name) ? message.slice(name.length).replace(/^[:\s]+/, '') : message;
}

/**
 * Decides a file's format from what its name claims and its first bytes (plus, for zips, the
 * central directory). `subject` names the file in problems.
 * @throws {MlbomError} only when the bytes cannot be read at all (FILE_UNREADABLE, ABORTED)
 */
export async function detectFormat(
  source: ByteSource,
  claim: ClaimedFormat | undefined,
  subject: string,
  options: { ambiguous?: boolean } = {},
): Promise<SniffResult> {
  return (await detectWithZip(source, claim, subject, options)).sniff;
}

/**
 * detectFormat, also handing back the zip central directory it parsed (if any), so a reader of the
 * same file need not parse it again.
 */
export async function detectWithZip(
  source: ByteSource,
  claim: ClaimedFormat | undefined,
  subject: string,
  options: { ambiguous?: boolean } = {},
): Promise<{ sniff: SniffResult; zip?: ZipDirectory }> {
  const size = source.size;
  const bytes = await source.read(0, Math.min(HEAD_SIZE, size));
  const content = detectContent(bytes, size);
  const properties: Property[] = [];
  const problems: Problem[] = [];
  let format: ModelFormat | undefined;
  let zip: ZipDirectory | undefined;
  const sniff = (format: ModelFormat, recognised: boolean) => ({
    sniff: { format, recognised, properties, problems },
    ...(zip ? { zip } : {}),
  });

  switch (content?.kind) {
    case 'safetensors':
      format = 'safetensors';
      if (content.truncated) {
        problems.push({
          code: 'FORMAT_INVALID',
          message: `safetensors header claims ${content.headerLength} bytes but the file has ${size}: truncated`,
          subject,
        });
      }
      break;
    case 'gguf':
      format = 'gguf';
      if (content.version > 0) properties.push({ name: 'mlbom:gguf:version', value: String(content.version) });
      break;
    case 'tflite':
      format = 'tflite';
      break;
    case 'hdf5':
      format = 'keras-h5';
      break;
    case 'numpy':
      format = 'numpy';
      break;
    case 'zip': {
      let why: string | undefined;
      try {
        zip = await readZipDirectory(source);
      } catch (error) {
        if (!isMlbomError(error) || error.code !== 'FORMAT_INVALID') throw error;
        why = problemMessage(error, source.name);
      }
      format = zip ? classifyZip(zip.entries.map((e) => e.name)) : undefined;
      if (format === undefined) {
        const zipClaims: ClaimedFormat[] = ['pytorch', 'keras', 'numpy-archive'];
        format =
          claim === 'pytorch'
            ? 'pytorch-zip'
            : claim !== undefined && zipClaims.includes(claim)
              ? formatFromClaim(claim)
              : 'unknown';
        if (why !== undefined) problems.push({ code: 'FORMAT_INVALID', message: why, subject });
        else if (claim !== undefined && zipClaims.includes(claim)) {
          problems.push({
            code: 'FORMAT_INVALID',
            message: `zip archive whose entries do not look like ${claim}`,
            subject,
          });
        }
      }
      break;
    }
    case 'pickle':
      if (content.torchLegacy) format = 'pytorch-legacy';
      else format = claim === 'joblib' ? 'joblib' : 'pickle';
      break;
    case 'compressed':
      if (claim === 'joblib') {
        format = 'joblib';
        properties.push({ name: 'mlbom:compression', value: content.compression });
      }
      break;
    case 'lfs-pointer':
      problems.push({
        code: 'LFS_POINTER',
        message: 'the file is a Git LFS pointer, not the content it stands for (run git lfs pull)',
        subject,
      });
      return sniff(formatFromClaim(claim), false);
    case undefined:
      break;
  }

  if (format === undefined) {
    if (claim === 'onnx' || claim === 'tf-savedmodel') {
      if (!looksLikeProtobuf(bytes, claim)) {
        problems.push({ code: 'FORMAT_INVALID', message: `content does not look like ${claim} (protobuf)`, subject });
        return sniff(claim, false);
      }
      return sniff(claim, true);
    }
    if (claim === 'pickle' || claim === 'joblib') {
      if (bytes[0] !== undefined && OLD_PICKLE_START.has(bytes[0])) {
        return sniff(claim, true);
      }
    }
    // A generic name (`.bin`) whose bytes show nothing is simply an unknown file.
    if (options.ambiguous) return sniff('unknown', false);
    if (claim !== undefined && !isTextClaim(claim)) {
      problems.push({
        code: 'FORMAT_INVALID',
        message: size === 0 ? `empty file, expected ${claim}` : `content does not look like ${claim}`,
        subject,
      });
    }
    return sniff(formatFromClaim(claim), false);
  }

  if (claim !== undefined && !isTextClaim(claim) && format !== 'unknown' && !agrees(claim, format)) {
    properties.push({ name: 'mlbom:format:mismatch', value: `extension says ${claim}, content is ${format}` });
  }
  return sniff(format, format !== 'unknown');
}
