import type { ExternalReferenceAsset, LicenseAsset, ModelCardAsset, Problem, Property } from '@mlbom/core';
import { type ModelCardInfo, parseModelCard } from '@mlbom/formats';
import { stringify } from 'yaml';

/** Longest model card read (as @mlbom/local). */
export const MAX_CARD_BYTES = 1024 * 1024;
/** Longest config.json read (as @mlbom/local). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Hub tags that restate something the BOM records elsewhere (license, datasets, lineage, papers). */
const STRUCTURED_TAG_PREFIXES = ['license:', 'dataset:', 'base_model:', 'region:', 'arxiv:', 'doi:'];

/** Input and output formats implied by the Hub's task (pipeline_tag). */
const TASK_IO: Record<string, [string[], string[]]> = {
  'text-generation': [['text'], ['text']],
  'text2text-generation': [['text'], ['text']],
  'fill-mask': [['text'], ['text']],
  'text-classification': [['text'], ['label']],
  'token-classification': [['text'], ['label']],
  'zero-shot-classification': [['text'], ['label']],
  'question-answering': [['text'], ['text']],
  'table-question-answering': [['table', 'text'], ['text']],
  summarization: [['text'], ['text']],
  translation: [['text'], ['text']],
  'sentence-similarity': [['text'], ['number']],
  'feature-extraction': [['text'], ['embedding']],
  'image-classification': [['image'], ['label']],
  'image-segmentation': [['image'], ['image']],
  'object-detection': [['image'], ['bounding-boxes']],
  'image-to-text': [['image'], ['text']],
  'image-text-to-text': [['image', 'text'], ['text']],
  'text-to-image': [['text'], ['image']],
  'image-to-image': [['image'], ['image']],
  'zero-shot-image-classification': [['image', 'text'], ['label']],
  'depth-estimation': [['image'], ['image']],
  'visual-question-answering': [['image', 'text'], ['text']],
  'automatic-speech-recognition': [['audio'], ['text']],
  'audio-classification': [['audio'], ['label']],
  'text-to-speech': [['text'], ['audio']],
  'text-to-audio': [['text'], ['audio']],
  'audio-to-audio': [['audio'], ['audio']],
  'video-classification': [['video'], ['label']],
  'text-to-video': [['text'], ['video']],
  'tabular-classification': [['table'], ['label']],
  'tabular-regression': [['table'], ['number']],
  'time-series-forecasting': [['time-series'], ['time-series']],
};

/** The task's inputs and outputs, when the task is one the Hub defines. */
export function taskInputsOutputs(task: string | undefined): { inputs: string[]; outputs: string[] } {
  const io = task ? TASK_IO[task] : undefined;
  return io ? { inputs: io[0], outputs: io[1] } : { inputs: [], outputs: [] };
}

const APPROACHES = [
  'supervised',
  'unsupervised',
  'reinforcement-learning',
  'semi-supervised',
  'self-supervised',
] as const;

/** The learning approach, only where a tag or the task states it. */
export function approachOf(tags: string[], task: string | undefined): ModelCardAsset['approach'] {
  if (task === 'reinforcement-learning') return 'reinforcement-learning';
  const lower = new Set(tags.map((t) => t.toLowerCase()));
  return APPROACHES.find((a) => lower.has(a));
}

/** Tags worth keeping as CycloneDX tags: the Hub's structured ones are recorded elsewhere. */
export function freeTags(tags: readonly string[]): string[] {
  return tags.filter((t) => t.trim() !== '' && !STRUCTURED_TAG_PREFIXES.some((p) => t.startsWith(p)));
}

/** `arxiv:<id>` tags as documentation links. */
export function arxivReferences(tags: readonly string[]): ExternalReferenceAsset[] {
  const refs: ExternalReferenceAsset[] = [];
  for (const tag of tags) {
    const match = /^arxiv:([\w./-]{4,64})$/i.exec(tag);
    if (match) refs.push({ type: 'documentation', url: `https://arxiv.org/abs/${match[1]}`, comment: 'paper' });
  }
  return refs;
}

/**
 * A card from the Hub's parsed `cardData` when the README itself cannot be read (gated repo, no
 * README): the same YAML goes through the same parser, so both paths map fields identically.
 */
export function cardFromCardData(cardData: Record<string, unknown>, subject: string): ModelCardInfo {
  let yaml: string;
  try {
    yaml = stringify(cardData, { lineWidth: 0 });
  } catch {
    return parseModelCard('', subject);
  }
  return parseModelCard(`---\n${yaml}---\n`, subject);
}

/**
 * Resolves a `license_link` that points into the repo (`LICENSE`, `LICENSE.md`) to an absolute URL
 * at the commit, and attaches it to the named license when the card names exactly one.
 */
export function resolveLicenseLinks(
  licenses: LicenseAsset[],
  properties: Property[],
  repoFileUrl: (path: string) => string,
): { licenses: LicenseAsset[]; properties: Property[] } {
  const linkProperty = properties.find((p) => p.name === 'mlbom:license:link');
  if (!linkProperty) return { licenses, properties };
  const path = linkProperty.value.replace(/^\.?\//, '');
  if (path === '' || path.includes('..') || /^[a-z][a-z0-9+.-]*:/i.test(path)) return { licenses, properties };
  const url = repoFileUrl(path);
  const rest = properties.filter((p) => p !== linkProperty);
  if (licenses.length === 1 && licenses[0] && !licenses[0].url) {
    return { licenses: [{ ...licenses[0], url }], properties: rest };
  }
  return { licenses, properties: [...rest, { name: 'mlbom:license:link', value: url }] };
}

/** What the Hub says about a model besides its card. */
export interface ModelFacts {
  task?: string | undefined;
  modelType?: string | undefined;
  architecture?: string | undefined;
  libraryName?: string | undefined;
  tags: string[];
}

export interface MappedCard {
  description?: string | undefined;
  licenses: LicenseAsset[];
  tags: string[];
  properties: Property[];
  externalReferences: ExternalReferenceAsset[];
  card?: ModelCardAsset | undefined;
  problems: Problem[];
}

/** Combines a parsed card with the Hub's facts (task, config, tags) into model asset fields. */
export function mapModelCard(
  info: ModelCardInfo,
  facts: ModelFacts,
  repoFileUrl: (path: string) => string,
): MappedCard {
  const { licenses, properties } = resolveLicenseLinks(info.licenses, info.properties, repoFileUrl);
  if (facts.libraryName && !properties.some((p) => p.name === 'mlbom:library_name')) {
    properties.push({ name: 'mlbom:library_name', value: facts.libraryName });
  }
  const card: ModelCardAsset = { ...(info.card ?? {}) };
  const task = card.task ?? facts.task;
  if (task) card.task = task;
  if (facts.modelType) card.architectureFamily = facts.modelType;
  if (facts.architecture) card.modelArchitecture = facts.architecture;
  const allTags = [...new Set([...info.tags, ...facts.tags])];
  const approach = approachOf(allTags, task);
  if (approach) card.approach = approach;
  const io = taskInputsOutputs(task);
  if (io.inputs.length > 0) card.inputs = io.inputs;
  if (io.outputs.length > 0) card.outputs = io.outputs;
  return {
    description: info.description,
    licenses,
    tags: freeTags(allTags),
    properties,
    externalReferences: arxivReferences(facts.tags),
    card: Object.keys(card).length > 0 ? card : undefined,
    problems: info.problems,
  };
}
