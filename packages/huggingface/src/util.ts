import type {
  DatasetAsset,
  ExternalReferenceAsset,
  FileAsset,
  Inventory,
  ModelAsset,
  PackageAsset,
  Problem,
  Property,
  Relation,
} from '@mlbom/core';
import { readTextPrefix } from '@mlbom/core';

/** A file asset whose properties and problems are filled in as it is read. */
export type MutableFile = FileAsset & { properties: Property[]; problems: Problem[] };

/** Code-unit order, independent of the locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A small text file's first `cap` bytes, or undefined when it cannot be read (the caller records nothing). */
export function readSmall(path: string, cap: number): Promise<string | undefined> {
  return readTextPrefix(path, cap).then(
    (r) => r.text,
    () => undefined,
  );
}

/** What a collector gathers, and the inventory it makes of it (datasets and packages sorted by key). */
export class InventoryParts<M extends ModelAsset = ModelAsset> {
  readonly models: M[] = [];
  readonly datasets = new Map<string, DatasetAsset>();
  readonly packages = new Map<string, PackageAsset>();
  readonly relations: Relation[] = [];
  readonly problems: Problem[] = [];

  inventory(): Inventory {
    return {
      models: this.models,
      datasets: [...this.datasets.values()].sort((a, b) => compare(a.key, b.key)),
      packages: [...this.packages.values()].sort((a, b) => compare(a.key, b.key)),
      relations: this.relations,
      problems: this.problems,
    };
  }
}

/** A Hub repo's page and, at a commit, the tree of its files there. */
export function repoReferences(page: string, commit: string | undefined): ExternalReferenceAsset[] {
  const website: ExternalReferenceAsset = { type: 'website', url: page };
  if (!commit) return [website];
  return [website, { type: 'distribution', url: `${page}/tree/${commit}`, comment: 'files at this commit' }];
}
