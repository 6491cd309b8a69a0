import type {
  AncestorAsset,
  DatasetAsset,
  LicenseAsset,
  ModelCardAsset,
  Problem,
  Property,
  Relation,
} from '@mlbom/core';
import { parseDocument } from 'yaml';
import { z } from 'zod';

/** The Hugging Face Hub's front matter block regex. */
export const FRONT_MATTER_RE = /^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))/;

/** Longest paragraph kept from a card body. */
const MAX_PARAGRAPH = 1000;
const MAX_METRICS = 500;
const MAX_LIST = 200;

/** A Hub repo id: `name` or `org/name`. */
const HF_ID_RE = /^(?:([A-Za-z0-9][\w.-]{0,95})\/)?([A-Za-z0-9][\w.-]{0,95})$/;

/**
 * Front matter keys only the Hub uses; one of them makes a README a model card rather than, say, a
 * static-site page (whose front matter commonly has title, tags, layout, language).
 */
const HUB_KEYS = [
  'license',
  'license_name',
  'datasets',
  'base_model',
  'pipeline_tag',
  'library_name',
  'model-index',
  'model_name',
  'metrics',
  'widget',
  'inference',
  'co2_eq_emissions',
];

export interface BaseModelRef {
  id: string;
  relation?: string | undefined;
}

/** What a model card (README.md with Hub front matter) says, in asset terms. */
export interface ModelCardInfo {
  hasFrontMatter: boolean;
  /** Whether the front matter has a key the Hub reads (license, tags, base_model, ...). */
  hasHubMetadata: boolean;
  description?: string | undefined;
  licenses: LicenseAsset[];
  tags: string[];
  properties: Property[];
  card?: ModelCardAsset | undefined;
  /** Dataset ids from `datasets`. */
  datasets: string[];
  baseModels: BaseModelRef[];
  problems: Problem[];
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v).trim());
const stringOrList = z
  .union([scalar, z.array(scalar.nullable())])
  .transform((v) => (Array.isArray(v) ? v : [v]).filter((s): s is string => !!s).slice(0, MAX_LIST));

const metricSchema = z.looseObject({
  type: scalar,
  value: z.unknown().optional(),
  name: scalar.nullish(),
});
const resultSchema = z.looseObject({
  task: z.looseObject({ type: scalar.nullish(), name: scalar.nullish() }).nullish(),
  dataset: z
    .looseObject({ type: scalar.nullish(), name: scalar.nullish(), config: scalar.nullish(), split: scalar.nullish() })
    .nullish(),
  metrics: z.array(metricSchema).nullish(),
});
const modelIndexSchema = z.array(z.looseObject({ name: scalar.nullish(), results: z.array(resultSchema).nullish() }));

const fieldSchemas = {
  license: stringOrList,
  license_name: scalar,
  license_link: scalar,
  datasets: stringOrList,
  base_model: stringOrList,
  base_model_relation: scalar,
  pipeline_tag: scalar,
  tags: stringOrList,
  language: stringOrList,
  library_name: scalar,
  model_name: scalar,
  'model-index': modelIndexSchema,
  co2_eq_emissions: z.union([z.number().nonnegative(), z.looseObject({ emissions: z.number().nonnegative() })]),
} as const;

type Fields = { [K in keyof typeof fieldSchemas]?: z.output<(typeof fieldSchemas)[K]> };

export interface FrontMatterSplit {
  /** The YAML between the `---` lines, when the markdown starts with a front matter block. */
  yaml?: string | undefined;
  body: string;
}

export function splitFrontMatter(markdown: string): FrontMatterSplit {
  const text = markdown.charCodeAt(0) === 0xfeff ? markdown.slice(1) : markdown;
  const match = FRONT_MATTER_RE.exec(text);
  if (!match) return { body: text };
  return { yaml: match[2] ?? '', body: text.slice(match[0].length) };
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** Parses and validates the front matter, field by field: a field of the wrong type is dropped with a problem. */
function readFields(yaml: string, subject: string, problems: Problem[]): { fields: Fields; hub: boolean } {
  const doc = parseDocument(yaml, { uniqueKeys: false, prettyErrors: false, logLevel: 'silent' });
  if (doc.errors.length > 0) {
    const message = (doc.errors[0]?.message ?? 'invalid YAML').split('\n')[0];
    problems.push({ code: 'CARD_INVALID', message: `model card front matter is not valid YAML: ${message}`, subject });
    return { fields: {}, hub: false };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    problems.push({ code: 'CARD_INVALID', message: `model card front matter cannot be read: ${message}`, subject });
    return { fields: {}, hub: false };
  }
  if (data === null || data === undefined) return { fields: {}, hub: false };
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ code: 'CARD_INVALID', message: 'model card front matter is not a mapping', subject });
    return { fields: {}, hub: false };
  }
  const record = data as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(fieldSchemas)) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    const parsed = schema.safeParse(value);
    if (parsed.success) fields[key] = parsed.data;
    else {
      problems.push({
        code: 'CARD_FIELD_INVALID',
        message: `model card field "${key}" ignored: ${firstIssue(parsed.error)}`,
        subject,
      });
    }
  }
  return { fields: fields as Fields, hub: HUB_KEYS.some((k) => k in record) };
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function licensesOf(fields: Fields, properties: Property[]): LicenseAsset[] {
  const out: LicenseAsset[] = [];
  for (const value of fields.license ?? []) {
    if (value.toLowerCase() === 'other') {
      const name = fields.license_name?.trim() || 'other';
      const link = fields.license_link?.trim();
      if (link && isAbsoluteHttpUrl(link)) out.push({ value: name, url: link });
      else {
        out.push({ value: name });
        if (link) properties.push({ name: 'mlbom:license:link', value: link });
      }
    } else out.push({ value });
  }
  const seen = new Set<string>();
  return out.filter((l) => !seen.has(l.value) && seen.add(l.value));
}

/**
 * The Hub's `co2_eq_emissions` (grams CO2eq, alone or with how it was measured) as
 * environmental-consideration properties. tCO2eq is the unit CycloneDX uses for CO2.
 */
function co2Properties(co2: Fields['co2_eq_emissions']): Property[] {
  if (co2 === undefined) return [];
  const details = typeof co2 === 'number' ? { emissions: co2 } : co2;
  const properties: Property[] = [
    { name: 'mlbom:co2eq:tCO2eq', value: String(details.emissions / 1e6) },
    { name: 'mlbom:co2eq:grams', value: String(details.emissions) },
  ];
  const described: Array<[string, string]> = [
    ['source', 'mlbom:co2eq:source'],
    ['training_type', 'mlbom:co2eq:trainingType'],
    ['geographical_location', 'mlbom:co2eq:location'],
    ['hardware_used', 'mlbom:co2eq:hardware'],
  ];
  for (const [key, name] of described) {
    const value = (details as Record<string, unknown>)[key];
    if (typeof value === 'string' && value.trim() !== '') properties.push({ name, value: value.trim() });
  }
  return properties;
}

function metricsOf(index: NonNullable<Fields['model-index']>): NonNullable<ModelCardAsset['performanceMetrics']> {
  const metrics: NonNullable<ModelCardAsset['performanceMetrics']> = [];
  for (const entry of index) {
    for (const result of entry.results ?? []) {
      const dataset = result.dataset;
      const parts = [dataset?.name || dataset?.type, dataset?.config, dataset?.split].filter((p): p is string => !!p);
      for (const metric of result.metrics ?? []) {
        if (metrics.length >= MAX_METRICS) return metrics;
        const v = metric.value;
        if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') continue;
        if (!metric.type) continue;
        metrics.push({ type: metric.type, value: String(v), ...(parts.length > 0 ? { slice: parts.join('/') } : {}) });
      }
    }
  }
  return metrics;
}

// ---- card body ----

interface Section {
  level: number;
  title: string;
  paragraphs: string[];
}

const MAX_PARAGRAPHS_PER_SECTION = 50;

function sectionsOf(body: string): Section[] {
  const text = body.replace(/<!--[\s\S]*?-->/g, '');
  const first: Section = { level: 0, title: '', paragraphs: [] };
  const sections: Section[] = [first];
  let current = first;
  let lines: string[] = [];
  let fence: string | undefined;
  const flush = () => {
    if (lines.length > 0 && current.paragraphs.length < MAX_PARAGRAPHS_PER_SECTION) {
      current.paragraphs.push(lines.join('\n'));
    }
    lines = [];
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (fence !== undefined) {
      if (line.trimStart().startsWith(fence)) fence = undefined;
      continue;
    }
    const fenceOpen = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceOpen) {
      flush();
      fence = fenceOpen[1];
      continue;
    }
    const heading = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading) {
      flush();
      current = { level: heading[1]?.length ?? 1, title: heading[2] ?? '', paragraphs: [] };
      sections.push(current);
      continue;
    }
    if (line.trim() === '') flush();
    else lines.push(line);
  }
  flush();
  return sections;
}

function normalizeTitle(title: string): string {
  return title
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Text the Hub's card template ships with; not information about the model. */
const BOILERPLATE = [
  'users both direct and downstream should be made aware of the risks biases and limitations of the model',
  'this is the model card of a transformers model that has been pushed on the hub',
  'more information needed',
];

function truncate(text: string): string {
  return text.length <= MAX_PARAGRAPH ? text : `${text.slice(0, MAX_PARAGRAPH - 1).trimEnd()}…`;
}

/** A paragraph cleaned of template placeholders, images and HTML; undefined when nothing informative is left. */
function cleanParagraph(paragraph: string): string | undefined {
  const lines = paragraph
    .split('\n')
    .map((l) =>
      l
        .replace(/\[More Information Needed\]/gi, '')
        .replace(/\{\{[^}]*\}\}/g, '')
        .replace(/\[optional\]/gi, '')
        .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
        .replace(/<[^>]{0,500}>/g, '')
        .trim(),
    )
    .filter((l) => l !== '');
  if (lines.length === 0) return undefined;
  if (lines[0]?.startsWith('|')) return undefined; // a table
  // A list of "**Label:**" items whose values were all placeholders.
  if (lines.every((l) => /^([-*+]|\d+\.)\s*(\*\*|__)?[^:]{0,80}:(\*\*|__)?\s*$/.test(l) || /^[-*+]\s*$/.test(l))) {
    return undefined;
  }
  const text = lines.join(' ').replace(/\s+/g, ' ').trim();
  const plain = normalizeTitle(text);
  if (plain === '' || BOILERPLATE.some((b) => plain.startsWith(b))) return undefined;
  if (!/[\p{L}\p{N}]/u.test(text)) return undefined;
  return truncate(text);
}

function firstParagraph(section: Section | undefined): string | undefined {
  for (const p of section?.paragraphs ?? []) {
    const clean = cleanParagraph(p);
    if (clean) return clean;
  }
  return undefined;
}

const BIAS_TITLES = new Set([
  'bias risks and limitations',
  'bias risks limitations',
  'limitations and bias',
  'bias and limitations',
  'risks and limitations',
  'limitations and biases',
  'biases and limitations',
]);

interface BodyInfo {
  description?: string | undefined;
  useCases: string[];
  technicalLimitations: string[];
  ethicalConsiderations: { name: string; mitigationStrategy?: string }[];
}

function readBody(body: string): BodyInfo {
  const sections = sectionsOf(body);
  let description: string | undefined;
  for (const s of sections) {
    description = firstParagraph(s);
    if (description) break;
  }
  const find = (pred: (title: string) => boolean) =>
    sections.filter((s) => s.level > 0 && pred(normalizeTitle(s.title)));
  const texts = (list: Section[]) => [...new Set(list.map(firstParagraph).filter((p): p is string => p !== undefined))];

  const useCases = texts(find((t) => t === 'uses' || t === 'direct use'));
  const biasSections = find((t) => BIAS_TITLES.has(t));
  const technicalLimitations = texts([
    ...find((t) => t === 'out of scope use' || t === 'limitations'),
    ...biasSections,
  ]);
  const ethicalConsiderations: BodyInfo['ethicalConsiderations'] = [];
  const bias = texts(biasSections)[0];
  if (bias) {
    const mitigation = texts(find((t) => t === 'recommendations'))[0];
    ethicalConsiderations.push({ name: bias, ...(mitigation ? { mitigationStrategy: mitigation } : {}) });
  }
  return { description, useCases, technicalLimitations, ethicalConsiderations };
}

/**
 * Reads a model card: Hub front matter (validated field by field) and the usual body sections.
 * `subject` names the card in problems.
 */
export function parseModelCard(markdown: string, subject: string): ModelCardInfo {
  const problems: Problem[] = [];
  const properties: Property[] = [];
  const { yaml, body } = splitFrontMatter(markdown);
  const { fields, hub } =
    yaml === undefined ? { fields: {} as Fields, hub: false } : readFields(yaml, subject, problems);

  const licenses = licensesOf(fields, properties);
  const cardName = fields['model-index']?.find((e) => e.name)?.name || fields.model_name;
  if (cardName) properties.push({ name: 'mlbom:card:name', value: cardName });
  if (fields.language && fields.language.length > 0) {
    properties.push({ name: 'mlbom:language', value: fields.language.join(',') });
  }
  if (fields.library_name) properties.push({ name: 'mlbom:library_name', value: fields.library_name });

  const bodyInfo = readBody(body);
  const performanceMetrics = fields['model-index'] ? metricsOf(fields['model-index']) : [];
  const environmentalProperties = co2Properties(fields.co2_eq_emissions);
  const card: ModelCardAsset = {};
  if (fields.pipeline_tag) card.task = fields.pipeline_tag;
  if (performanceMetrics.length > 0) card.performanceMetrics = performanceMetrics;
  if (
    bodyInfo.useCases.length > 0 ||
    bodyInfo.technicalLimitations.length > 0 ||
    bodyInfo.ethicalConsiderations.length > 0 ||
    environmentalProperties.length > 0
  ) {
    card.considerations = {
      ...(bodyInfo.useCases.length > 0 ? { useCases: bodyInfo.useCases } : {}),
      ...(bodyInfo.technicalLimitations.length > 0 ? { technicalLimitations: bodyInfo.technicalLimitations } : {}),
      ...(bodyInfo.ethicalConsiderations.length > 0 ? { ethicalConsiderations: bodyInfo.ethicalConsiderations } : {}),
      ...(environmentalProperties.length > 0 ? { environmentalProperties } : {}),
    };
  }

  return {
    hasFrontMatter: yaml !== undefined,
    hasHubMetadata: hub,
    description: bodyInfo.description,
    licenses,
    tags: [...new Set(fields.tags ?? [])],
    properties,
    card: Object.keys(card).length > 0 ? card : undefined,
    datasets: [...new Set(fields.datasets ?? [])],
    baseModels: [...new Set(fields.base_model ?? [])].map((id) => ({
      id,
      ...(fields.base_model_relation ? { relation: fields.base_model_relation } : {}),
    })),
    problems,
  };
}

function stripHubUrl(id: string): string {
  return id
    .trim()
    .replace(/^https?:\/\/huggingface\.co\//, '')
    .replace(/\/+$/, '');
}

/** Whether a string looks like a Hub repo id (`name` or `org/name`). */
export function isHubId(id: string): boolean {
  return HF_ID_RE.test(id);
}

/**
 * The ancestor for a `base_model` entry: a Hub id becomes `pkg:huggingface/<org>/<name>` (no version:
 * the card names no revision); anything else (a path, free text) is kept by name only.
 */
export function huggingFaceAncestor(reference: string): AncestorAsset {
  const id = stripHubUrl(reference);
  const match = HF_ID_RE.exec(id);
  if (!match) return { key: `base-model:${reference.trim()}`, name: reference.trim() };
  const org = match[1];
  const name = match[2] as string;
  const purl = org
    ? `pkg:huggingface/${encodeURIComponent(org)}/${encodeURIComponent(name)}`
    : `pkg:huggingface/${encodeURIComponent(name)}`;
  return { key: purl, name, ...(org ? { group: org } : {}), purl, url: `https://huggingface.co/${id}` };
}

/** A dataset named by a card; there is no purl type for Hub datasets, so the key is `hf-dataset:<id>`. */
export function huggingFaceDataset(id: string): DatasetAsset {
  const trimmed = id.trim();
  return {
    kind: 'dataset',
    key: `hf-dataset:${trimmed}`,
    name: trimmed,
    ...(isHubId(trimmed)
      ? { externalReferences: [{ type: 'website' as const, url: `https://huggingface.co/datasets/${trimmed}` }] }
      : {}),
  };
}

/** The datasets and relations (trained-on, derived-from) a card gives the model `modelKey`. */
export function cardRelations(
  modelKey: string,
  info: ModelCardInfo,
): { datasets: DatasetAsset[]; relations: Relation[] } {
  const datasets = info.datasets.map(huggingFaceDataset);
  const relations: Relation[] = [
    ...datasets.map((d): Relation => ({ type: 'trained-on', from: modelKey, to: d.key })),
    ...info.baseModels.map(
      (b): Relation => ({
        type: 'derived-from',
        from: modelKey,
        ancestor: huggingFaceAncestor(b.id),
        ...(b.relation ? { relation: b.relation } : {}),
      }),
    ),
  ];
  return { datasets, relations };
}
