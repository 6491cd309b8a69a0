import type { AncestorAsset } from '@mlbom/core';
import { huggingFaceAncestor, type ModelCardInfo } from '@mlbom/formats';
import type { HubModelExtras } from './client.js';
import { isRepoId, modelPurl, splitId } from './target.js';

/** Relations the Hub records between a model and its base (`base_model_relation`, `base_model:<relation>:<id>` tags). */
export const RELATIONS = ['finetune', 'adapter', 'quantized', 'merge'] as const;

export interface BaseRef {
  /** As named: a Hub id (`org/name` or a legacy `name`) or free text. */
  id: string;
  relation?: string | undefined;
}

/** `https://huggingface.co/org/name` and `org/name/` are the id `org/name`. */
export function normalizeBaseId(reference: string): string {
  return reference
    .trim()
    .replace(/^https?:\/\/(?:www\.)?huggingface\.co\//i, '')
    .replace(/\/+$/, '');
}

/**
 * The base models a model names, from its card (`base_model`, `base_model_relation`), the Hub's
 * lineage tags (`base_model:<id>`, `base_model:<relation>:<id>`) and the Hub's `baseModels` field.
 * One entry per id (case-insensitive); an explicit relation wins over none.
 */
export function baseModelRefs(
  card: ModelCardInfo | undefined,
  tags: readonly string[],
  extras?: HubModelExtras,
): BaseRef[] {
  const byId = new Map<string, BaseRef>();
  const add = (rawId: string, relation: string | undefined) => {
    const id = normalizeBaseId(rawId);
    if (id === '') return;
    const key = id.toLowerCase();
    const existing = byId.get(key);
    if (!existing) byId.set(key, { id, ...(relation ? { relation } : {}) });
    else if (!existing.relation && relation) existing.relation = relation;
  };
  for (const tag of tags) {
    if (!tag.startsWith('base_model:')) continue;
    const rest = tag.slice('base_model:'.length);
    const colon = rest.indexOf(':');
    const maybeRelation = colon > 0 ? rest.slice(0, colon) : undefined;
    if (maybeRelation && (RELATIONS as readonly string[]).includes(maybeRelation))
      add(rest.slice(colon + 1), maybeRelation);
    else add(rest, undefined);
  }
  for (const base of card?.baseModels ?? []) add(base.id, base.relation);
  for (const base of extras?.baseModels?.models ?? []) add(base.id, extras?.baseModels?.relation);
  return [...byId.values()];
}

/** The ancestor entry for a base: pinned to its commit when it was looked up, by name otherwise. */
export function ancestorFor(base: BaseRef, hubUrl: string, resolved?: { id: string; commit: string }): AncestorAsset {
  if (!resolved || !isRepoId(base.id)) {
    const ancestor = huggingFaceAncestor(base.id);
    return isRepoId(base.id) ? { ...ancestor, url: `${hubUrl}/${base.id}` } : ancestor;
  }
  const { org, name } = splitId(resolved.id);
  const purl = modelPurl(resolved.id, resolved.commit);
  return {
    key: purl,
    name,
    ...(org ? { group: org } : {}),
    version: resolved.commit,
    purl,
    url: `${hubUrl}/${resolved.id}`,
  };
}
