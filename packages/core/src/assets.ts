import { z } from 'zod';

/**
 * The asset model: the plain values every source returns. Only core turns them into CycloneDX.
 * Keys are stable identities: a purl where one exists, otherwise a source-specific, deterministic string.
 */

export const propertySchema = z.object({
  name: z.string().regex(/^mlbom:[a-z0-9:._-]+$/i, 'property names live in the mlbom: namespace'),
  value: z.string(),
});
export type Property = z.infer<typeof propertySchema>;

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

export const licenseSchema = z.object({
  /** What the source says: an SPDX id or expression, or free text. Core decides which CycloneDX form it takes. */
  value: z.string().min(1),
  url: z.url().optional(),
});
export type LicenseAsset = z.infer<typeof licenseSchema>;

export const externalReferenceSchema = z.object({
  type: z.enum(['website', 'distribution', 'documentation', 'vcs', 'license', 'model-card', 'other']),
  url: z.string().min(1),
  comment: z.string().optional(),
});
export type ExternalReferenceAsset = z.infer<typeof externalReferenceSchema>;

export const modelFormatSchema = z.enum([
  'safetensors',
  'safetensors-index',
  'gguf',
  'onnx',
  'pytorch-zip',
  'pytorch-legacy',
  'torchscript',
  'keras',
  'keras-h5',
  'tf-savedmodel',
  'tflite',
  'pickle',
  'joblib',
  'numpy',
  'numpy-archive',
  'config',
  'model-card',
  'requirements',
  'tokenizer',
  'unknown',
]);
export type ModelFormat = z.infer<typeof modelFormatSchema>;

/** A problem met while reading one thing; recorded in the BOM instead of aborting the inventory. */
export const problemSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** Path or key of the thing at fault. */
  subject: z.string(),
});
export type Problem = z.infer<typeof problemSchema>;

export const severitySchema = z.enum(['critical', 'high', 'medium', 'low', 'info']);
export type Severity = z.infer<typeof severitySchema>;

/** A security finding in one file (e.g. code hidden in a pickle); written as a CycloneDX vulnerability. */
export const findingSchema = z.object({
  /** Stable rule id, e.g. `MLBOM-PICKLE-CRITICAL-GLOBAL`. */
  ruleId: z.string().regex(/^MLBOM-[A-Z0-9-]+$/),
  severity: severitySchema,
  /** One line: what was found. */
  title: z.string().min(1),
  /** The evidence: the global, op or template construct, and where (offset, zip member). */
  detail: z.string().min(1),
  /** Where inside the file, e.g. `archive/data.pkl@1234`. */
  location: z.string().optional(),
});
export type Finding = z.infer<typeof findingSchema>;

export const scanStatusSchema = z.enum(['clean', 'unsafe', 'error']);

export const fileAssetSchema = z.object({
  /** Path relative to the model's root, with forward slashes. */
  path: z.string().min(1),
  format: modelFormatSchema,
  size: z.number().int().nonnegative().optional(),
  sha256: sha256Schema.optional(),
  properties: z.array(propertySchema).default([]),
  problems: z.array(problemSchema).default([]),
  /** Set when the file was scanned; `error` when it could not be fully analysed (never "clean" then). */
  scanStatus: scanStatusSchema.optional(),
  findings: z.array(findingSchema).default([]),
});
export type FileAsset = z.input<typeof fileAssetSchema>;

export const performanceMetricSchema = z.object({
  type: z.string().min(1),
  value: z.string(),
  slice: z.string().optional(),
  confidenceInterval: z.object({ lowerBound: z.string(), upperBound: z.string() }).optional(),
});

export const riskSchema = z.object({ name: z.string().min(1), mitigationStrategy: z.string().optional() });

export const modelCardSchema = z.object({
  approach: z
    .enum(['supervised', 'unsupervised', 'reinforcement-learning', 'semi-supervised', 'self-supervised'])
    .optional(),
  task: z.string().optional(),
  architectureFamily: z.string().optional(),
  modelArchitecture: z.string().optional(),
  inputs: z.array(z.string()).default([]),
  outputs: z.array(z.string()).default([]),
  performanceMetrics: z.array(performanceMetricSchema).default([]),
  considerations: z
    .object({
      users: z.array(z.string()).default([]),
      useCases: z.array(z.string()).default([]),
      technicalLimitations: z.array(z.string()).default([]),
      performanceTradeoffs: z.array(z.string()).default([]),
      ethicalConsiderations: z.array(riskSchema).default([]),
      /**
       * environmentalConsiderations.properties (CycloneDX 1.6+; earlier specs get them on the component).
       * Not energyConsumptions: that requires kWh and energy-provider figures model cards do not give.
       */
      environmentalProperties: z.array(propertySchema).default([]),
    })
    .optional(),
});
export type ModelCardAsset = z.input<typeof modelCardSchema>;

const componentBase = {
  key: z.string().min(1),
  name: z.string().min(1),
  group: z.string().optional(),
  version: z.string().optional(),
  purl: z.string().startsWith('pkg:').optional(),
  description: z.string().optional(),
  supplier: z.string().optional(),
  authors: z.array(z.string()).default([]),
  licenses: z.array(licenseSchema).default([]),
  externalReferences: z.array(externalReferenceSchema).default([]),
  tags: z.array(z.string()).default([]),
  properties: z.array(propertySchema).default([]),
  problems: z.array(problemSchema).default([]),
};

export const modelAssetSchema = z.object({
  kind: z.literal('model'),
  ...componentBase,
  /** Files that make up the model; a single-file model has exactly one. */
  files: z.array(fileAssetSchema).default([]),
  card: modelCardSchema.optional(),
  /** Where the model is referenced (e.g. `from_pretrained("org/name")` in code): CycloneDX evidence occurrences. */
  occurrences: z
    .array(z.object({ location: z.string().min(1), line: z.number().int().positive().optional() }))
    .default([]),
});
export type ModelAsset = z.input<typeof modelAssetSchema>;

export const datasetAssetSchema = z.object({
  kind: z.literal('dataset'),
  ...componentBase,
  /** Set when the dataset is named (e.g. by a model card) but could not be looked up. */
  unresolved: z.boolean().default(false),
  url: z.string().optional(),
});
export type DatasetAsset = z.input<typeof datasetAssetSchema>;

export const packageAssetSchema = z.object({
  kind: z.literal('package'),
  ...componentBase,
  /** `framework` for ML frameworks (torch, tensorflow, ...), `library` for everything else. */
  role: z.enum(['framework', 'library']),
  ecosystem: z.enum(['pypi', 'conda', 'generic']),
  /** The requirement as written, e.g. `torch>=2.1,<3`, when no exact version is pinned. */
  versionSpec: z.string().optional(),
});
export type PackageAsset = z.input<typeof packageAssetSchema>;

export const ancestorSchema = z.object({
  key: z.string().min(1),
  name: z.string().min(1),
  group: z.string().optional(),
  version: z.string().optional(),
  purl: z.string().startsWith('pkg:').optional(),
  url: z.string().optional(),
});
export type AncestorAsset = z.input<typeof ancestorSchema>;

export const relationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('trained-on'), from: z.string(), to: z.string() }),
  z.object({ type: z.literal('depends-on'), from: z.string(), to: z.string() }),
  z.object({
    type: z.literal('derived-from'),
    from: z.string(),
    ancestor: ancestorSchema,
    /** How the model relates to its base: finetune, adapter, quantized, merge. */
    relation: z.string().optional(),
  }),
]);
export type Relation = z.input<typeof relationSchema>;

export const inventorySchema = z.object({
  models: z.array(modelAssetSchema).default([]),
  datasets: z.array(datasetAssetSchema).default([]),
  packages: z.array(packageAssetSchema).default([]),
  relations: z.array(relationSchema).default([]),
  /** Problems not tied to one component (e.g. a directory that could not be listed). */
  problems: z.array(problemSchema).default([]),
});
/** What a source returns (defaults may be omitted). */
export type Inventory = z.input<typeof inventorySchema>;
/** An inventory after validation: every default filled in. */
export type ParsedInventory = z.output<typeof inventorySchema>;
export type ParsedModel = z.output<typeof modelAssetSchema>;
export type ParsedDataset = z.output<typeof datasetAssetSchema>;
export type ParsedPackage = z.output<typeof packageAssetSchema>;
export type ParsedFile = z.output<typeof fileAssetSchema>;
export type ParsedModelCard = z.output<typeof modelCardSchema>;
export type ParsedRelation = z.output<typeof relationSchema>;

export function emptyInventory(): ParsedInventory {
  return { models: [], datasets: [], packages: [], relations: [], problems: [] };
}
