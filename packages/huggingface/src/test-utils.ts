import {
  defaultContext,
  inventorySchema,
  type Logger,
  type ParsedInventory,
  type ParsedModel,
  type Source,
  type SourceContext,
} from '@mlbom/core';

/** A logger that keeps every line, to assert on warnings and on what never appears (tokens). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

export async function collect(
  source: Source,
  target: string,
  context: Partial<SourceContext> = {},
): Promise<ParsedInventory> {
  return inventorySchema.parse(await source.collect(target, defaultContext(context)));
}

export function modelNamed(inventory: ParsedInventory, id: string): ParsedModel {
  const [org, name] = id.includes('/') ? id.split('/') : [undefined, id];
  const model = inventory.models.find((m) => m.name === name && m.group === org);
  if (!model) throw new Error(`no model ${id} in ${inventory.models.map((m) => m.key).join(', ')}`);
  return model;
}

export function prop(item: { properties: { name: string; value: string }[] }, name: string): string | undefined {
  return item.properties.find((p) => p.name === name)?.value;
}
