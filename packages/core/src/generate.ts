import { createRequire } from 'node:module';
import { z } from 'zod';
import type { Inventory, ParsedInventory } from './assets.js';
import { buildBom } from './bom/build.js';
import { mergeInventories } from './bom/merge.js';
import { serializeBom } from './bom/serialize.js';
import { DEFAULT_SPEC_VERSION, outputFormatSchema, specVersionSchema } from './bom/spec.js';
import { type BomValidationResult, validateBom } from './bom/validate.js';
import { MlbomError } from './errors.js';
import { parseOptions } from './options.js';
import { defaultContext, type Source, type SourceContext } from './source.js';

/** Options of one BOM generation; published as JSON Schema in `schemas/`. */
export const generateOptionsSchema = z.object({
  targets: z.array(z.string().min(1)).min(1).describe('What to inventory: paths (and later hf://, models:/ URIs)'),
  specVersion: specVersionSchema.default(DEFAULT_SPEC_VERSION).describe('CycloneDX spec version'),
  outputFormat: outputFormatSchema.default('json'),
  reproducible: z
    .boolean()
    .default(false)
    .describe('No timestamp, content-derived serial number and sorted lists: identical input gives identical bytes'),
  subjectName: z.string().min(1).optional().describe('Name of the BOM subject (metadata.component)'),
  subjectVersion: z.string().min(1).optional(),
});
export type GenerateOptions = z.input<typeof generateOptionsSchema>;

export interface GenerateResult {
  /** The serialized BOM. */
  text: string;
  inventory: ParsedInventory;
  validation: BomValidationResult;
}

const { version: toolVersion } = createRequire(import.meta.url)('../package.json') as { version: string };
const TOOL = { name: 'mlbom', version: toolVersion };

/**
 * Runs every target through the first source that can handle it, builds, serializes and validates
 * the BOM. A BOM that fails schema validation is a bug and is reported as BOM_INVALID.
 * @throws {MlbomError} INVALID_INPUT for bad options or a target no source handles; whatever a source
 *   throws for a target it cannot read at all; BOM_INVALID when the result does not validate
 */
export async function generateBom(
  sources: Source[],
  options: GenerateOptions,
  context: Partial<SourceContext> = {},
): Promise<GenerateResult> {
  const opts = parseOptions(generateOptionsSchema, options, 'generate');
  const ctx = defaultContext(context);
  const inventories: Inventory[] = [];
  for (const target of opts.targets) {
    if (ctx.signal.aborted) throw new MlbomError('ABORTED', 'generation aborted');
    const source = sources.find((s) => s.canHandle(target));
    if (!source) {
      throw new MlbomError(
        'INVALID_INPUT',
        `no source can read "${target}" (available: ${sources.map((s) => s.name).join(', ') || 'none'})`,
      );
    }
    ctx.logger.debug(`${source.name}: collecting ${target}`);
    inventories.push(await source.collect(target, ctx));
  }
  const inventory = mergeInventories(inventories);
  const mlbom = buildBom(inventory, {
    specVersion: opts.specVersion,
    tool: TOOL,
    timestamp: opts.reproducible ? null : new Date(),
    ...(opts.subjectName ? { subjectName: opts.subjectName } : {}),
    ...(opts.subjectVersion ? { subjectVersion: opts.subjectVersion } : {}),
  });
  const text = serializeBom(mlbom, { format: opts.outputFormat, reproducible: opts.reproducible });
  const validation = await validateBom(text, { format: opts.outputFormat, specVersion: opts.specVersion });
  if (!validation.valid) {
    const details = validation.issues
      .slice(0, 10)
      .map((i) => `  ${i.path}: ${i.message}`)
      .join('\n');
    throw new MlbomError(
      'BOM_INVALID',
      `generated BOM does not validate against CycloneDX ${opts.specVersion}:\n${details}`,
    );
  }
  return { text, inventory, validation };
}
