import {
  type Inventory,
  inventorySchema,
  type ParsedInventory,
  type ParsedModel,
  type Problem,
  type Property,
} from '../assets.js';
import { MlbomError } from '../errors.js';

function uniqueBy<T>(items: T[], keyOf: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(keyOf(item))) seen.set(keyOf(item), item);
  return [...seen.values()];
}

const propertyKey = (p: Property) => `${p.name}\u0000${p.value}`;
const problemKey = (p: Problem) => `${p.subject}\u0000${p.code}\u0000${p.message}`;

/** Two sightings of the same model: the first wins for scalars, lists are unioned. */
function mergeModels(a: ParsedModel, b: ParsedModel): ParsedModel {
  const merged: ParsedModel = { ...b, ...Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) };
  merged.authors = uniqueBy([...a.authors, ...b.authors], (x) => x);
  merged.tags = uniqueBy([...a.tags, ...b.tags], (x) => x);
  merged.licenses = uniqueBy([...a.licenses, ...b.licenses], (l) => l.value);
  merged.externalReferences = uniqueBy([...a.externalReferences, ...b.externalReferences], (r) => `${r.type} ${r.url}`);
  merged.properties = uniqueBy([...a.properties, ...b.properties], propertyKey);
  merged.problems = uniqueBy([...a.problems, ...b.problems], problemKey);
  merged.files = uniqueBy([...a.files, ...b.files], (f) => f.path);
  return merged;
}

/**
 * Validates what sources returned and merges duplicates (the same key seen twice is one asset).
 * @throws {MlbomError} code SOURCE_FAILED when a source returned something outside the asset model (a bug in that source)
 */
export function mergeInventories(inventories: Inventory[]): ParsedInventory {
  const parsed = inventories.map((inventory, index) => {
    const result = inventorySchema.safeParse(inventory);
    if (!result.success) {
      const first = result.error.issues[0];
      throw new MlbomError(
        'SOURCE_FAILED',
        `source result #${index + 1} does not match the asset model at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`,
        { cause: result.error },
      );
    }
    return result.data;
  });

  const models = new Map<string, ParsedModel>();
  const out: ParsedInventory = { models: [], datasets: [], packages: [], relations: [], problems: [] };
  for (const inv of parsed) {
    for (const model of inv.models) {
      const existing = models.get(model.key);
      models.set(model.key, existing ? mergeModels(existing, model) : model);
    }
    out.datasets.push(...inv.datasets);
    out.packages.push(...inv.packages);
    out.relations.push(...inv.relations);
    out.problems.push(...inv.problems);
  }
  out.models = [...models.values()];
  // A dataset known for real wins over a placeholder for the same key.
  out.datasets = uniqueBy(
    [...out.datasets].sort((x, y) => Number(x.unresolved) - Number(y.unresolved)),
    (d) => d.key,
  );
  out.packages = uniqueBy(out.packages, (p) => p.key);
  out.relations = uniqueBy(out.relations, (r) => JSON.stringify(r));
  out.problems = uniqueBy(out.problems, problemKey);
  return out;
}
