// Format detection lives in @mlbom/formats; this module adapts it to open file handles and
// re-exports it for existing importers.
import type { FileHandle } from 'node:fs/promises';
import { type ByteSource, fsError } from '@mlbom/core';
import { type ClaimedFormat, detectFormat, type SniffResult } from '@mlbom/formats';

export {
  type ClaimedFormat,
  type ContentKind,
  claimFromName,
  classifyZip,
  detectContent,
  formatFromClaim,
  isAmbiguousWeightsName,
  isTextClaim,
  isWeightsName,
  looksLikeProtobuf,
  type SniffResult,
  shouldSniff,
  weightsClaim,
} from '@mlbom/formats';

/** Reads into `buffer` from `position` until it is full or the file ends; returns the bytes read. */
export async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** A ByteSource over an already open file handle (closing it is the caller's business). */
export function handleByteSource(handle: FileHandle, size: number, name: string): ByteSource {
  let bytesRead = 0;
  return {
    name,
    size,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      const buffer = Buffer.alloc(want);
      let got: number;
      try {
        got = await readFully(handle, buffer, offset);
      } catch (error) {
        throw fsError(error, name);
      }
      bytesRead += got;
      return new Uint8Array(buffer.buffer, buffer.byteOffset, got);
    },
    async close() {},
  };
}

/** Decides a file's format from its name's claim and its first bytes (see detectFormat). */
export function sniff(
  handle: FileHandle,
  size: number,
  claim: ClaimedFormat | undefined,
  subject: string,
  options: { ambiguous?: boolean } = {},
): Promise<SniffResult> {
  return detectFormat(handleByteSource(handle, size, subject), claim, subject, options);
}
