import { MlbomError, type ModelAsset, mapPool, type Problem, type Property, type SourceContext } from '@mlbom/core';
import { type ModelCardInfo, parseModelCard } from '@mlbom/formats';
import { cardFromCardData, MAX_CARD_BYTES, type MappedCard, mapModelCard } from './card.js';
import type { HubClient, HubFileEntry, HubModelInfo } from './client.js';
import { datasetFromInfo, datasetKey, unresolvedDataset } from './dataset.js';
import { asMlbomError, recordFailure } from './errors.js';
import { applyWeightsHints } from './inspect.js';
import { ancestorFor, type BaseRef, baseModelRefs } from './lineage.js';
import type { ResolvedHuggingFaceOptions } from './options.js';
import { inspectWeights } from './remote-weights.js';
import { isRepoId, modelPurl, type RepoTarget, splitId } from './target.js';
import { compare, InventoryParts, type MutableFile, repoReferences } from './util.js';
import { formatFromName, hubWeightsProperties } from './weights.js';

type MutableModel = ModelAsset & { properties: Property[]; problems: Problem[] };

/** A model in the lineage walk: the target (depth 0) or a base model looked up on the Hub. */
interface LineageNode {
  id: string;
  commit: string;
  model: MutableModel;
  bases: BaseRef[];
  depth: number;
  /** Ids (lowercase) of the models this one descends from on the way to the target, and its own. */
  path: Set<string>;
}

type Lookup = { id: string; commit: string } | { failed: Problem };

/** Inventories Hub repos named by targets: one instance per `collect` call. */
export class RemoteCollector extends InventoryParts<MutableModel> {
  constructor(
    readonly client: HubClient,
    readonly options: ResolvedHuggingFaceOptions,
    readonly ctx: SourceContext,
  ) {
    super();
  }

  private repoPage(id: string): string {
    return `${this.options.hubUrl}/${id}`;
  }

  /**
   * A model repo: info, every file with its LFS hash and size, the card, datasets, lineage, weights metadata.
   * @throws {MlbomError} when the repo itself cannot be read (not found, access denied, server errors)
   */
  async collectModel(target: RepoTarget, targetString: string): Promise<void> {
    const subject = target.revision === undefined ? `${targetString} (default branch)` : targetString;
    let info: HubModelInfo;
    try {
      info = await this.client.modelInfo(target.id, target.revision, subject, true);
    } catch (error) {
      throw asMlbomError(error, subject);
    }
    const id = info.name;
    const commit = info.sha.toLowerCase();
    const label = `${id}@${commit.slice(0, 12)}`;
    this.ctx.logger.debug(`${targetString}: ${id} at commit ${commit}`);
    const problems: Problem[] = [];
    const properties: Property[] = [];
    if (target.revision !== undefined && target.revision.toLowerCase() !== commit) {
      properties.push({ name: 'mlbom:hf:revision', value: target.revision });
    }
    if (id !== target.id) properties.push({ name: 'mlbom:hf:alias', value: target.id });
    if (info.gated) properties.push({ name: 'mlbom:hf:gated', value: String(info.gated) });
    if (info.private) properties.push({ name: 'mlbom:hf:private', value: 'true' });

    const [entries, extras] = await Promise.all([
      this.client.listFiles('model', id, commit, `${label}: file listing`).catch((error: unknown) => {
        problems.push(
          recordFailure(error, `${label}: file listing`, modelPurl(id, commit), this.ctx, 'files not listed'),
        );
        return undefined;
      }),
      this.client.modelExtras(id, commit, `${label}: gguf/baseModels`).catch((error: unknown) => {
        problems.push(
          recordFailure(
            error,
            `${label}: gguf/baseModels`,
            modelPurl(id, commit),
            this.ctx,
            'GGUF summary and Hub lineage skipped',
          ),
        );
        return undefined;
      }),
    ]);

    properties.push(...hubWeightsProperties(info, extras));
    const files = (entries ?? []).map(fileAsset).sort((a, b) => compare(a.path, b.path));
    const readmeEntry = files.find((f) => f.path === 'README.md');
    let cardInfo: ModelCardInfo | undefined;
    let contentDenied = false;
    if (readmeEntry || entries === undefined) {
      try {
        const readme = await this.client.readText(
          'model',
          id,
          commit,
          'README.md',
          MAX_CARD_BYTES,
          `${label}: README.md`,
        );
        if (readme) {
          cardInfo = parseModelCard(readme.text, 'README.md');
          if (readme.truncated) this.ctx.logger.debug(`${label}: model card longer than 1 MiB; only the start is read`);
          if (readmeEntry) verifyDownload(readmeEntry, readme.sha256, readme.gitOid, this.ctx, label);
        }
      } catch (error) {
        contentDenied = error instanceof MlbomError && error.code === 'AUTH';
        const problem = recordFailure(
          error,
          `${label}: README.md`,
          'README.md',
          this.ctx,
          'card read from the Hub metadata instead',
        );
        if (readmeEntry) readmeEntry.problems.push(problem);
        else problems.push(problem);
      }
    }
    if (!cardInfo && info.cardData) cardInfo = cardFromCardData(info.cardData, 'cardData');

    const mapped = this.mapCard(cardInfo, info, id, commit);
    const model = this.modelAsset(
      id,
      commit,
      info,
      mapped,
      files,
      [...properties, ...mapped.properties],
      [...problems, ...mapped.problems],
    );
    if (readmeEntry)
      model.externalReferences = [
        ...(model.externalReferences ?? []),
        { type: 'model-card', url: `${this.repoPage(id)}/blob/${commit}/README.md` },
      ];
    this.models.push(model);

    if (contentDenied) this.ctx.logger.debug(`${label}: file contents are not readable; weights headers not read`);
    if (this.options.readHeaders && entries && !contentDenied) {
      const weights = await inspectWeights(
        this.client,
        { type: 'model', id, commit, label },
        files,
        this.ctx,
        this.options,
      );
      applyWeightsHints(model, weights, this.packages, this.relations);
    }

    this.ctx.logger.debug(`${label}: ${this.client.requests} Hub API requests`);
    await this.addDatasets(model, cardInfo?.datasets ?? []);
    await this.addLineage({
      id,
      commit,
      model,
      bases: baseModelRefs(cardInfo, info.tags ?? [], extras),
      depth: 0,
      path: new Set([id.toLowerCase()]),
    });
  }

  /** A dataset repo named as a target: one `data` component. @throws {MlbomError} when it cannot be read */
  async collectDataset(target: RepoTarget, targetString: string): Promise<void> {
    const subject = target.revision === undefined ? `${targetString} (default branch)` : targetString;
    try {
      const info = await this.client.datasetInfo(target.id, target.revision, subject);
      const extra: Property[] = [];
      if (target.revision !== undefined && target.revision.toLowerCase() !== info.sha.toLowerCase()) {
        extra.push({ name: 'mlbom:hf:revision', value: target.revision });
      }
      const asset = datasetFromInfo(datasetKey(target.id), info, this.options.hubUrl, extra);
      this.datasets.set(asset.key, asset);
    } catch (error) {
      throw asMlbomError(error, subject);
    }
  }

  private mapCard(card: ModelCardInfo | undefined, info: HubModelInfo, id: string, commit: string): MappedCard {
    return mapModelCard(
      card ?? parseModelCard('', 'README.md'),
      {
        task: info.task,
        modelType: info.config?.model_type,
        architecture: info.config?.architectures?.[0],
        libraryName: info.library_name,
        tags: info.tags ?? [],
      },
      (path) => `${this.repoPage(id)}/blob/${commit}/${path}`,
    );
  }

  private modelAsset(
    id: string,
    commit: string,
    info: HubModelInfo,
    mapped: MappedCard,
    files: MutableFile[],
    properties: Property[],
    problems: Problem[],
  ): MutableModel {
    const { org, name } = splitId(id);
    const purl = modelPurl(id, commit);
    const owner = org ?? info.author;
    const externalReferences = [...repoReferences(this.repoPage(id), commit), ...mapped.externalReferences];
    return {
      kind: 'model',
      key: purl,
      name,
      ...(org ? { group: org } : {}),
      version: commit,
      purl,
      ...(mapped.description ? { description: mapped.description } : {}),
      ...(owner ? { supplier: owner, authors: [owner] } : {}),
      licenses: mapped.licenses,
      externalReferences,
      tags: mapped.tags,
      properties,
      problems,
      files,
      ...(mapped.card ? { card: mapped.card } : {}),
    };
  }

  /** Each dataset the card names: a `data` component from the Hub, or an unresolved one; the ref always resolves. */
  private async addDatasets(model: MutableModel, ids: string[]): Promise<void> {
    const wanted = [...new Set(ids.map((d) => d.trim()).filter((d) => d !== ''))];
    await mapPool(wanted, this.options.concurrency, async (datasetId) => {
      const key = datasetKey(datasetId);
      this.relations.push({ type: 'trained-on', from: model.key, to: key });
      if (this.datasets.has(key)) return;
      if (!this.options.resolveDatasets || !isRepoId(datasetId)) {
        this.datasets.set(key, unresolvedDataset(key, datasetId, this.options.hubUrl));
        return;
      }
      const subject = `dataset ${datasetId} (named by ${model.name})`;
      try {
        const info = await this.client.datasetInfo(datasetId, undefined, subject);
        this.datasets.set(key, datasetFromInfo(key, info, this.options.hubUrl));
      } catch (error) {
        const problem = recordFailure(error, subject, key, this.ctx, 'listed as unresolved');
        this.datasets.set(key, unresolvedDataset(key, datasetId, this.options.hubUrl, problem));
      }
    });
  }

  /**
   * Follows base models breadth-first up to `lineageDepth` generations, each looked up once (so a
   * cycle or a diamond ends), and records every model's bases as `derived-from` relations.
   */
  private async addLineage(root: LineageNode): Promise<void> {
    const lookups = new Map<string, Lookup>([[root.id.toLowerCase(), { id: root.id, commit: root.commit }]]);
    const nodes: LineageNode[] = [root];
    let frontier: LineageNode[] = [root];
    for (let depth = 1; depth <= this.options.lineageDepth && frontier.length > 0; depth++) {
      const parents = new Map<string, { base: BaseRef; parent: LineageNode }>();
      for (const node of frontier) {
        for (const base of node.bases) {
          const key = base.id.toLowerCase();
          if (isRepoId(base.id) && !lookups.has(key) && !parents.has(key)) parents.set(key, { base, parent: node });
        }
      }
      const found = await mapPool([...parents.entries()], this.options.concurrency, async ([key, { base, parent }]) => {
        const subject = `base model ${base.id} (of ${parent.id})`;
        try {
          const info = await this.client.modelInfo(base.id, undefined, subject, false);
          const commit = info.sha.toLowerCase();
          lookups.set(key, { id: info.name, commit });
          lookups.set(info.name.toLowerCase(), { id: info.name, commit });
          const card = info.cardData ? cardFromCardData(info.cardData, 'cardData') : undefined;
          const mapped = this.mapCard(card, info, info.name, commit);
          const model = this.modelAsset(
            info.name,
            commit,
            info,
            mapped,
            [],
            [{ name: 'mlbom:lineage:depth', value: String(depth) }, ...mapped.properties],
            mapped.problems,
          );
          const path = new Set([...parent.path, info.name.toLowerCase()]);
          return {
            id: info.name,
            commit,
            model,
            bases: baseModelRefs(card, info.tags ?? []),
            depth,
            path,
          } as LineageNode;
        } catch (error) {
          lookups.set(key, { failed: recordFailure(error, subject, base.id, this.ctx, 'listed without its commit') });
          return undefined;
        }
      });
      frontier = found.filter((n): n is LineageNode => n !== undefined);
      nodes.push(...frontier);
      for (const node of frontier) this.models.push(node.model);
    }

    for (const node of nodes) {
      for (const base of node.bases) {
        const key = base.id.toLowerCase();
        const lookup = lookups.get(key);
        if (lookup && 'failed' in lookup) {
          node.model.problems.push({
            ...lookup.failed,
            code: 'BASE_MODEL_UNRESOLVED',
            message: `base model ${base.id}: ${lookup.failed.message}`,
          });
        }
        if (node.path.has(key)) {
          this.ctx.logger.warn(`${node.id}: base model ${base.id} is also one of its descendants; lineage cycle cut`);
          node.model.properties.push({ name: 'mlbom:lineage:cycle', value: base.id });
        }
        const resolved = lookup && !('failed' in lookup) ? lookup : undefined;
        this.relations.push({
          type: 'derived-from',
          from: node.model.key,
          ancestor: ancestorFor(base, this.options.hubUrl, resolved),
          ...(base.relation ? { relation: base.relation } : {}),
        });
      }
    }
  }
}

/** A repo file from the tree listing: LFS files carry their SHA-256 and size without being downloaded. */
function fileAsset(entry: HubFileEntry): MutableFile {
  const properties: Property[] = [];
  const lfsSha = entry.lfs?.oid && /^[0-9a-f]{64}$/i.test(entry.lfs.oid) ? entry.lfs.oid.toLowerCase() : undefined;
  const size = entry.lfs?.size ?? entry.size;
  properties.push({ name: 'mlbom:hf:storage', value: entry.xetHash ? 'xet' : entry.lfs ? 'lfs' : 'git' });
  if (lfsSha) properties.push({ name: 'mlbom:sha256:source', value: 'hub-lfs' });
  if (!entry.lfs && entry.oid && /^[0-9a-f]{40}$/i.test(entry.oid)) {
    properties.push({ name: 'mlbom:git:blob-sha1', value: entry.oid.toLowerCase() });
  }
  if (entry.xetHash) properties.push({ name: 'mlbom:hf:xet-hash', value: entry.xetHash });
  return {
    path: entry.path,
    format: formatFromName(entry.path),
    ...(size !== undefined ? { size } : {}),
    ...(lfsSha ? { sha256: lfsSha } : {}),
    properties,
    problems: [],
  };
}

/** Records the SHA-256 of a downloaded small file, and checks it is the blob the listing named. */
function verifyDownload(
  file: MutableFile,
  sha256: string | undefined,
  gitOid: string | undefined,
  ctx: SourceContext,
  label: string,
): void {
  if (!sha256) return;
  const listed = file.properties.find((p) => p.name === 'mlbom:git:blob-sha1')?.value;
  if (listed && gitOid && listed !== gitOid) {
    const message = `downloaded content has git blob id ${gitOid}, the listing says ${listed}`;
    ctx.logger.warn(`${label}: ${file.path}: ${message}`);
    file.problems.push({ code: 'HASH_MISMATCH', message, subject: file.path });
    return;
  }
  if (!file.sha256) {
    file.sha256 = sha256;
    file.properties.push({ name: 'mlbom:sha256:source', value: 'download' });
  }
}
