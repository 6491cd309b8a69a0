// Format detection lives in @mlbom/formats; this module adapts it to open file handles and
// re-exports it for existing importers.
import type { FileHandle } from 'node:fs/promises';
import { handleByteSource } from '@mlbom/core';
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
