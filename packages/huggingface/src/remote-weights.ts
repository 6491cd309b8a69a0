import type {
  ByteSource,
  FileAsset,
  ModelCardAsset,
  PackageAsset,
  Problem,
  Property,
  SourceContext,
} from '@mlbom/core';
import { claimFromName, describeModelFile, isTextClaim, isWeightsName } from '@mlbom/formats';
import { scan, shouldScan } from '@mlbom/scanner';
import { readAheadByteSource } from './bytes.js';
import type { HubClient } from './client.js';
import { recordFailure } from './errors.js';
import { frameworkPackage } from './frameworks.js';
import type { ResolvedHuggingFaceOptions } from './options.js';
import { mapPool } from './pool.js';
import type { RepoType } from './target.js';
import { isPickleLike, securityProperties } from './weights.js';

type MutableFile = FileAsset & { properties: Property[]; problems: Problem[] };

/** Most files of one repo whose bytes are read remotely; the rest are listed from the metadata only. */
export const MAX_REMOTE_INSPECTIONS = 200;
/** Bytes of the first range request per file: a safetensors header or a zip's end usually fits. */
export const FIRST_FETCH = 4096;
/** Paths per paths-info request. */
const PATHS_INFO_BATCH = 100;

export interface RemoteRepo {
  type: RepoType;
  id: string;
  commit: string;
  /** For messages: `org/name@<short commit>`. */
  label: string;
}

export interface WeightsHints {
  card: Pick<ModelCardAsset, 'architectureFamily' | 'modelArchitecture'>;
  /** `framework` / `library` packages the files record (torch from a pickle, the ONNX producer...). */
  frameworks: PackageAsset[];
}

/** Weights files and shard indexes: the files whose own bytes say something about the model. */
export function isInspectable(path: string): boolean {
  const claim = claimFromName(path);
  return isWeightsName(path) || claim === 'safetensors-index' || (claim !== undefined && !isTextClaim(claim));
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
  const pickles = files.filter((f) => isPickleLike(f.path)).slice(0, MAX_REMOTE_INSPECTIONS);
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

  const hints: Pick<ModelCardAsset, 'architectureFamily' | 'modelArchitecture'> = {};
  const candidates = files.filter((f) => f.size !== undefined && f.size > 0 && isInspectable(f.path));
  if (candidates.length > MAX_REMOTE_INSPECTIONS) {
    ctx.logger.debug(
      `${repo.label}: ${candidates.length} weights files; headers of the first ${MAX_REMOTE_INSPECTIONS} read`,
    );
  }
  const frameworks = await mapPool(candidates.slice(0, MAX_REMOTE_INSPECTIONS), options.concurrency, async (file) => {
    const source = readAheadByteSource(
      client.byteSource(repo.type, repo.id, repo.commit, file.path, file.size as number),
      { minFetch: FIRST_FETCH },
    );
    const subject = `${repo.label}: ${file.path}`;
    try {
      const description = await describeModelFile(source, file.path);
      if (description.format !== 'unknown' || file.format === 'unknown') file.format = description.format;
      file.properties.push(...description.properties);
      for (const problem of description.problems) {
        ctx.logger.warn(`${subject}: ${problem.message}`);
        file.problems.push({ ...problem, subject: file.path });
      }
      hints.architectureFamily ??= description.card.architectureFamily;
      hints.modelArchitecture ??= description.card.modelArchitecture;
      if (options.scan) await scanRemote(file, source, subject, ctx);
      ctx.logger.debug(`${subject}: header read with ${source.fetched} bytes of ${file.size}`);
      return description.frameworks.map((hint) => frameworkPackage(hint, file.path));
    } catch (error) {
      file.problems.push(recordFailure(error, subject, file.path, ctx, 'its header is not read or scanned'));
      return [];
    } finally {
      await source.close();
    }
  });
  return { card: hints, frameworks: frameworks.flat() };
}

/**
 * Scans a remote file for code that loading it would run (@mlbom/scanner over range requests: for
 * a PyTorch zip, the central directory and the pickle members only). Findings go on the file.
 */
async function scanRemote(file: MutableFile, source: ByteSource, subject: string, ctx: SourceContext): Promise<void> {
  const head = await source.read(0, Math.min(512, source.size));
  if (!shouldScan(file.path, head)) return;
  const result = await scan(source, { path: file.path, signal: ctx.signal });
  file.scanStatus = result.status;
  file.findings = result.findings;
  for (const problem of result.problems) file.problems.push({ ...problem, subject: file.path });
  if (result.status === 'unsafe') {
    const rules = [...new Set(result.findings.map((f) => f.ruleId))].join(', ');
    ctx.logger.warn(`${subject}: unsafe to load (${result.findings.length} finding(s): ${rules})`);
  } else if (result.status === 'error') {
    ctx.logger.warn(`${subject}: could not be fully scanned; not known to be safe`);
  }
}
