import { type Inventory, MlbomError, type Source, type SourceContext } from '@mlbom/core';
import { collectCache } from './cache.js';
import { HubClient } from './client.js';
import { asMlbomError } from './errors.js';
import { type HuggingFaceOptions, resolveHuggingFaceOptions } from './options.js';
import { RemoteCollector } from './remote.js';
import { canHandleTarget, parseTarget } from './target.js';

export {
  type CacheSettings,
  collectCacheFolder,
  type HubCacheLayout,
  hubCacheLayout,
  MAX_CACHE_FILES,
  parseRepoFolder,
  snapshotOf,
} from './cache.js';
export { approachOf, freeTags, taskInputsOutputs } from './card.js';
export { gitBlobSha1, MAX_REPO_FILES } from './client.js';
export { datasetKey } from './dataset.js';
export { type BaseRef, baseModelRefs, normalizeBaseId, RELATIONS } from './lineage.js';
export {
  DOWNLOAD_METADATA_DIR,
  type DownloadMetadata,
  type LocalDirDownload,
  localDirIdentity,
  parseDownloadMetadata,
  readLocalDirDownload,
} from './local-dir.js';
export {
  DEFAULT_HUB_URL,
  DEFAULT_LINEAGE_DEPTH,
  type HuggingFaceOptions,
  huggingFaceOptionsSchema,
  type ResolvedHuggingFaceOptions,
  resolveHuggingFaceOptions,
} from './options.js';
export {
  type CacheTarget,
  canHandleTarget,
  HF_CACHE_SCHEME,
  HF_SCHEME,
  type HfTarget,
  isRepoId,
  modelPurl,
  parseTarget,
  type RepoTarget,
  type RepoType,
} from './target.js';
export { isPickleLike } from './weights.js';

/**
 * Collects one target.
 * @throws {MlbomError} INVALID_INPUT for a malformed target; NOT_FOUND / AUTH / SOURCE_FAILED when the
 *   repo cannot be read (unless `continueOnError`); ABORTED when the signal fires
 */
async function collectTarget(
  target: string,
  ctx: SourceContext,
  options: ReturnType<typeof resolveHuggingFaceOptions>,
): Promise<Inventory> {
  if (ctx.signal.aborted) throw new MlbomError('ABORTED', `${target}: aborted`);
  const parsed = parseTarget(target);
  if (parsed.kind === 'cache') return collectCache(parsed.dir, ctx, options);
  const collector = new RemoteCollector(new HubClient(options, ctx), options, ctx);
  try {
    if (parsed.type === 'dataset') await collector.collectDataset(parsed, target);
    else await collector.collectModel(parsed, target);
  } catch (error) {
    const failure = asMlbomError(error, target);
    if (failure.code === 'ABORTED' || ctx.signal.aborted || !options.continueOnError) throw failure;
    ctx.logger.error(`${failure.message}; the rest of the inventory goes on`);
    return { problems: [{ code: failure.code, message: failure.message, subject: target }] };
  }
  return collector.inventory();
}

/**
 * The Hugging Face source: `hf://[datasets/]<org>/<name>[@<revision>]` (legacy ids without an org too)
 * and `hf-cache:<dir>` (every repo and snapshot in a local Hub cache, read offline).
 * @throws {MlbomError} INVALID_INPUT when the options are invalid (the token's value is never shown)
 */
export function huggingface(options: HuggingFaceOptions = {}): Source<HuggingFaceOptions> {
  const resolved = resolveHuggingFaceOptions(options);
  const { accessToken: _hidden, ...visible } = options;
  return {
    name: 'huggingface',
    // The token stays out of the options a caller can print.
    options: visible,
    canHandle: canHandleTarget,
    collect: (target, ctx) => collectTarget(target, ctx, resolved),
  };
}
