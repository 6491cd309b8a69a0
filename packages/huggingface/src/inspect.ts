import type { ByteSource, ModelAsset, ModelCardAsset, PackageAsset, Relation, SourceContext } from '@mlbom/core';
import { claimFromName, describeModelFile, frameworkPackage, isTextClaim, isWeightsName } from '@mlbom/formats';
import { isChatTemplateFile, scanIfRelevant } from '@mlbom/scanner';
import type { MutableFile } from './util.js';

/** Most weights files of one repo (or cached snapshot) whose bytes are read; the rest are listed only. */
export const MAX_INSPECTIONS = 200;
/** Bytes of a file's start handed to the scanner's `shouldScan`. */

export type CardHints = Pick<ModelCardAsset, 'architectureFamily' | 'modelArchitecture'>;

export interface WeightsHints {
  card: CardHints;
  /** `framework` / `library` packages the files record (torch from a pickle, the ONNX producer...). */
  frameworks: PackageAsset[];
}

/** Weights files and shard indexes: the files whose own bytes say something about the model. */
export function isInspectable(path: string): boolean {
  const claim = claimFromName(path);
  return (
    isWeightsName(path) ||
    claim === 'safetensors-index' ||
    (claim !== undefined && !isTextClaim(claim)) ||
    // A tokenizer's chat template runs when it is loaded: the scanner checks it like model code.
    isChatTemplateFile(path)
  );
}

/**
 * What one weights file says about itself (@mlbom/formats: format, parameter counts, dtypes, GGUF
 * metadata, pickle globals) and, when `scanFiles`, @mlbom/scanner's findings, all read statically
 * from `source` (HTTP range requests for the Hub, a cached blob for the cache). Nothing is loaded.
 * Hints go into `hints` (first one wins); the frameworks the file records are returned.
 * @throws {MlbomError} when the bytes cannot be read at all (the caller records it on the file)
 */
export async function inspectFile(
  file: MutableFile,
  source: ByteSource,
  subject: string,
  ctx: SourceContext,
  scanFiles: boolean,
  hints: CardHints,
): Promise<PackageAsset[]> {
  const description = await describeModelFile(source, file.path);
  if (description.format !== 'unknown' || file.format === 'unknown') file.format = description.format;
  file.properties.push(...description.properties);
  for (const problem of description.problems) {
    ctx.logger.warn(`${subject}: ${problem.message}`);
    file.problems.push({ ...problem, subject: file.path });
  }
  hints.architectureFamily ??= description.card.architectureFamily;
  hints.modelArchitecture ??= description.card.modelArchitecture;
  if (scanFiles) await scanFile(file, source, subject, ctx);
  return description.frameworks.map((hint) => frameworkPackage(hint, file.path));
}

/**
 * Scans a file for code that loading it would run (@mlbom/scanner; for a PyTorch zip, the central
 * directory and the pickle members only). Findings and the scan status go on the file.
 */
async function scanFile(file: MutableFile, source: ByteSource, subject: string, ctx: SourceContext): Promise<void> {
  const result = await scanIfRelevant(source, { path: file.path, signal: ctx.signal });
  if (!result) return;
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

/**
 * Puts what a model's weights said into the inventory: architecture hints fill a card that names
 * none, and each framework becomes one package component (first sighting wins) the model depends on, once.
 */
export function applyWeightsHints(
  model: ModelAsset,
  { card: hints, frameworks }: WeightsHints,
  packages: Map<string, PackageAsset>,
  relations: Relation[],
): void {
  if (hints.architectureFamily || hints.modelArchitecture) {
    const card = { ...(model.card ?? {}) };
    card.architectureFamily ??= hints.architectureFamily;
    card.modelArchitecture ??= hints.modelArchitecture;
    model.card = Object.fromEntries(Object.entries(card).filter(([, v]) => v !== undefined));
  }
  for (const pkg of frameworks) {
    if (!packages.has(pkg.key)) packages.set(pkg.key, pkg);
    if (relations.some((r) => r.type === 'depends-on' && r.from === model.key && r.to === pkg.key)) continue;
    relations.push({ type: 'depends-on', from: model.key, to: pkg.key });
  }
}
