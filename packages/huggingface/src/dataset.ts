import type { DatasetAsset, Problem, Property } from '@mlbom/core';
import type { ModelCardInfo } from '@mlbom/formats';
import { cardFromCardData } from './card.js';
import type { HubDatasetInfo } from './client.js';
import { splitId } from './target.js';
import { repoReferences } from './util.js';

const MAX_DESCRIPTION = 1000;

/** Key of a Hub dataset: there is no purl type for Hub datasets, so `hf-dataset:<id as named>` (as @mlbom/local). */
export function datasetKey(id: string): string {
  return `hf-dataset:${id.trim()}`;
}

function stringList(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .map((v) => String(v).trim())
    .filter((v) => v !== '')
    .slice(0, 200);
}

function fromTags(tags: readonly string[], prefix: string): string[] {
  return tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
}

function truncate(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length <= MAX_DESCRIPTION ? clean : `${clean.slice(0, MAX_DESCRIPTION - 1).trimEnd()}…`;
}

/** A dataset card's license and language, read with the model-card parser (same YAML rules). */
function cardLicenses(cardData: Record<string, unknown>, subject: string): ModelCardInfo {
  const fields = Object.fromEntries(
    ['license', 'license_name', 'license_link', 'language'].flatMap((k) => (k in cardData ? [[k, cardData[k]]] : [])),
  );
  return cardFromCardData(fields, subject);
}

export interface DatasetFacts {
  /** The id as the Hub names it (may differ from the id asked for, e.g. a legacy id moved to an org). */
  id: string;
  commit?: string | undefined;
  cardData?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
  description?: string | null | undefined;
  gated?: string | false | undefined;
  isPrivate?: boolean | undefined;
}

/** A `data` component for a Hub dataset, from its info (or a cached dataset card). */
export function datasetAsset(
  key: string,
  facts: DatasetFacts,
  hubUrl: string,
  extraProperties: Property[] = [],
): DatasetAsset {
  const { org } = splitId(facts.id);
  const cardData = facts.cardData ?? {};
  const tags = facts.tags ?? [];
  const subject = `dataset ${facts.id}`;
  const license = cardLicenses(cardData, subject);
  const properties: Property[] = [...license.properties];
  const problems: Problem[] = [...license.problems];
  const listProperty = (name: string, values: string[]) => {
    if (values.length > 0) properties.push({ name, value: [...new Set(values)].join(',') });
  };
  /** A card field's values, or else the Hub's `<field>:` tags. */
  const cardOrTags = (field: string) => {
    const values = stringList(cardData[field]);
    return values.length > 0 ? values : fromTags(tags, `${field}:`);
  };
  const taskCategories = cardOrTags('task_categories');
  listProperty('mlbom:hf:task_categories', taskCategories);
  listProperty('mlbom:hf:size_categories', cardOrTags('size_categories'));
  listProperty('mlbom:hf:source_datasets', cardOrTags('source_datasets'));
  if (!properties.some((p) => p.name === 'mlbom:language')) listProperty('mlbom:language', fromTags(tags, 'language:'));
  if (facts.gated) properties.push({ name: 'mlbom:hf:gated', value: String(facts.gated) });
  if (facts.isPrivate) properties.push({ name: 'mlbom:hf:private', value: 'true' });
  properties.push(...extraProperties);

  let licenses = license.licenses;
  if (licenses.length === 0) licenses = fromTags(tags, 'license:').map((value) => ({ value }));

  const prettyName = typeof cardData.pretty_name === 'string' ? cardData.pretty_name.trim() : '';
  const description = facts.description?.trim() ? truncate(facts.description) : prettyName || undefined;
  const page = `${hubUrl}/datasets/${facts.id}`;
  const externalReferences = repoReferences(page, facts.commit);
  return {
    kind: 'dataset',
    key,
    name: facts.id,
    ...(org ? { group: org, supplier: org } : {}),
    ...(facts.commit ? { version: facts.commit } : {}),
    ...(description ? { description } : {}),
    licenses,
    tags: [...new Set(taskCategories)],
    externalReferences,
    properties,
    problems,
    url: page,
  };
}

/** A dataset from the Hub's `datasetInfo`. */
export function datasetFromInfo(
  key: string,
  info: HubDatasetInfo,
  hubUrl: string,
  extra: Property[] = [],
): DatasetAsset {
  return datasetAsset(
    key,
    {
      id: info.name,
      commit: info.sha.toLowerCase(),
      cardData: info.cardData,
      tags: info.tags,
      description: info.description,
      gated: info.gated,
      isPrivate: info.private,
    },
    hubUrl,
    extra,
  );
}

/** A dataset named by a card that could not be looked up: still a component, so refs to it resolve. */
export function unresolvedDataset(key: string, id: string, hubUrl: string, problem?: Problem): DatasetAsset {
  const valid = /^[\w.-]+(\/[\w.-]+)?$/.test(id);
  return {
    kind: 'dataset',
    key,
    name: id,
    unresolved: true,
    ...(valid ? { externalReferences: [{ type: 'website' as const, url: `${hubUrl}/datasets/${id}` }] } : {}),
    problems: problem ? [problem] : [],
  };
}
