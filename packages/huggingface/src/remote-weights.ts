import type { SourceContext } from '@mlbom/core';
import { mapPool } from '@mlbom/core';
import { readAheadByteSource } from './bytes.js';
import type { HubClient } from './client.js';
import { recordFailure } from './errors.js';
import { type CardHints, inspectFile, isInspectable, MAX_INSPECTIONS, type WeightsHints } from './inspect.js';
import type { ResolvedHuggingFaceOptions } from './options.js';
import type { RepoType } from './target.js';
import type { MutableFile } from './util.js';
import { isPickleLike, securityProperties } from './weights.js';

/** Bytes of the first range request per file: a safetensors header or a zip's end usually fits. */
const FIRST_FETCH = 4096;
/** Paths per paths-info request. */
const PATHS_INFO_BATCH = 100;

export interface RemoteRepo {
  type: RepoType;
  id: string;
  commit: string;
  /** For messages: `org/name@<short commit>`. */
  label: string;
}

/**
 * What can be learnt about weights without downloading them: the Hub's security scan of pickle-based
 * files, what each file's header says (format, parameter counts, dtypes, GGUF metadata, pickle
 * globals) read by @mlbom/formats, and @mlbom/scanner's findings, all over HTTP range requests.
 * @returns model card hints (architecture) the weights give, for a card that names none, and the
 *   frameworks the files record (in file order, one per hint)
 */
export async function inspectWeights(
  client: HubClient,
  repo: RemoteRepo,
  files: MutableFile[],
  ctx: SourceContext,
  options: ResolvedHuggingFaceOptions,
): Promise<WeightsHints> {
  const pickles = files.filter((f) => isPickleLike(f.path)).slice(0, MAX_INSPECTIONS);
  const byPath = new Map(pickles.map((f) => [f.path, f]));
  for (let i = 0; i < pickles.length; i += PATHS_INFO_BATCH) {
    const batch = pickles.slice(i, i + PATHS_INFO_BATCH).map((f) => f.path);
    const subject = `${repo.label}: security status`;
    try {
      const infos = await client.pathsInfo(repo.type, repo.id, repo.commit, batch, subject);
      for (const info of infos) {
        const file = byPath.get(info.path);
        if (file && info.securityFileStatus !== undefined)
          file.properties.push(...securityProperties(info.securityFileStatus));
      }
    } catch (error) {
      const problem = recordFailure(
        error,
        subject,
        batch[0] ?? repo.label,
        ctx,
        "the Hub's scan status is not recorded",
      );
      for (const path of batch) byPath.get(path)?.problems.push({ ...problem, subject: path });
    }
  }

  const hints: CardHints = {};
  const candidates = files.filter((f) => f.size !== undefined && f.size > 0 && isInspectable(f.path));
  if (candidates.length > MAX_INSPECTIONS) {
    ctx.logger.debug(`${repo.label}: ${candidates.length} weights files; headers of the first ${MAX_INSPECTIONS} read`);
  }
  const frameworks = await mapPool(candidates.slice(0, MAX_INSPECTIONS), options.concurrency, async (file) => {
    const source = readAheadByteSource(
      client.byteSource(repo.type, repo.id, repo.commit, file.path, file.size as number),
      { minFetch: FIRST_FETCH },
    );
    const subject = `${repo.label}: ${file.path}`;
    try {
      const found = await inspectFile(file, source, subject, ctx, options.scan, hints);
      ctx.logger.debug(`${subject}: header read with ${source.fetched} bytes of ${file.size}`);
      return found;
    } catch (error) {
      file.problems.push(recordFailure(error, subject, file.path, ctx, 'its header is not read or scanned'));
      return [];
    } finally {
      await source.close();
    }
  });
  return { card: hints, frameworks: frameworks.flat() };
}
