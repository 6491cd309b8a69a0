import { Enums, Models } from '@cyclonedx/cyclonedx-library';
import type {
  ExternalReferenceAsset,
  Finding,
  ParsedDataset,
  ParsedFile,
  ParsedInventory,
  ParsedModel,
  ParsedPackage,
  Problem,
  Property,
} from '../assets.js';
import type { ComponentDataJson, ComponentExtras, ModelCardJson } from './extras.js';
import { toLicenses } from './licenses.js';
import { DEFAULT_SPEC_VERSION, type SpecVersion, specFeatures } from './spec.js';

export interface BuildOptions {
  specVersion?: SpecVersion;
  /** Name of the BOM's subject (metadata.component), e.g. the scanned folder or product. */
  subjectName?: string;
  subjectVersion?: string;
  /** The generating tool, recorded in metadata.tools. */
  tool?: { name: string; version: string };
  /** Omit the timestamp (for reproducible output). */
  timestamp?: Date | null;
}

/** A CycloneDX BOM plus what the library cannot model, keyed by bom-ref; see serialize.ts. */
export interface MlBom {
  bom: Models.Bom;
  extras: Map<string, ComponentExtras>;
  specVersion: SpecVersion;
}

export const SUBJECT_BOM_REF = 'mlbom:subject';

const refTypes: Record<ExternalReferenceAsset['type'], Enums.ExternalReferenceType> = {
  website: Enums.ExternalReferenceType.Website,
  distribution: Enums.ExternalReferenceType.Distribution,
  documentation: Enums.ExternalReferenceType.Documentation,
  vcs: Enums.ExternalReferenceType.VCS,
  license: Enums.ExternalReferenceType.License,
  'model-card': Enums.ExternalReferenceType.ModelCard,
  other: Enums.ExternalReferenceType.Other,
};

function problemProperties(problems: Problem[]): Property[] {
  return problems.map((p) => ({ name: 'mlbom:problem', value: `${p.code}: ${p.message}` }));
}

function applyCommon(
  component: Models.Component,
  asset: {
    description?: string | undefined;
    supplier?: string | undefined;
    authors: string[];
    licenses: ParsedModel['licenses'];
    externalReferences: ExternalReferenceAsset[];
    properties: Property[];
    problems: Problem[];
  },
): void {
  if (asset.description) component.description = asset.description;
  if (asset.supplier) component.supplier = new Models.OrganizationalEntity({ name: asset.supplier });
  if (asset.authors.length > 0) component.author = asset.authors.join(', ');
  for (const license of toLicenses(asset.licenses)) component.licenses.add(license);
  for (const ref of asset.externalReferences) {
    component.externalReferences.add(
      new Models.ExternalReference(ref.url, refTypes[ref.type], ref.comment ? { comment: ref.comment } : {}),
    );
  }
  for (const p of [...asset.properties, ...problemProperties(asset.problems)]) {
    component.properties.add(new Models.Property(p.name, p.value));
  }
}

function fileComponent(model: ParsedModel, file: ParsedFile): Models.Component {
  const component = new Models.Component(Enums.ComponentType.File, file.path, {
    bomRef: `${model.key}#${file.path}`,
  });
  if (file.sha256) component.hashes.set(Enums.HashAlgorithm['SHA-256'], file.sha256);
  const properties: Property[] = [
    { name: 'mlbom:format', value: file.format },
    ...(file.size !== undefined ? [{ name: 'mlbom:size', value: String(file.size) }] : []),
    ...file.properties,
    ...problemProperties(file.problems),
  ];
  if (file.scanStatus) properties.push({ name: 'mlbom:scan:status', value: file.scanStatus });
  for (const p of properties) component.properties.add(new Models.Property(p.name, p.value));
  return component;
}

const severities: Record<Finding['severity'], Enums.Vulnerability.Severity> = {
  critical: Enums.Vulnerability.Severity.Critical,
  high: Enums.Vulnerability.Severity.High,
  medium: Enums.Vulnerability.Severity.Medium,
  low: Enums.Vulnerability.Severity.Low,
  info: Enums.Vulnerability.Severity.Info,
};

/** One CycloneDX vulnerability per finding, affecting the file component it was found in. */
function findingVulnerabilities(
  model: ParsedModel,
  file: ParsedFile,
  fileRef: Models.BomRef,
): Models.Vulnerability.Vulnerability[] {
  return file.findings.map((finding, index) => {
    const vulnerability = new Models.Vulnerability.Vulnerability({
      bomRef: `${model.key}#${file.path}#${finding.ruleId}#${index}`,
      id: finding.ruleId,
      source: new Models.Vulnerability.Source({ name: 'mlbom' }),
      description: finding.title,
      detail: finding.location ? `${finding.detail} (at ${finding.location})` : finding.detail,
    });
    vulnerability.ratings.add(
      new Models.Vulnerability.Rating({
        severity: severities[finding.severity],
        method: Enums.Vulnerability.RatingMethod.Other,
      }),
    );
    vulnerability.affects.add(new Models.Vulnerability.Affect(fileRef));
    return vulnerability;
  });
}

function modelCardJson(
  model: ParsedModel,
  datasetRefs: string[],
  features: ReturnType<typeof specFeatures>,
): ModelCardJson | undefined {
  const card = model.card;
  const parameters: ModelCardJson['modelParameters'] = {};
  if (card?.approach) parameters.approach = { type: card.approach };
  if (card?.task) parameters.task = card.task;
  if (card?.architectureFamily) parameters.architectureFamily = card.architectureFamily;
  if (card?.modelArchitecture) parameters.modelArchitecture = card.modelArchitecture;
  if (datasetRefs.length > 0) parameters.datasets = [...new Set(datasetRefs)].sort().map((ref) => ({ ref }));
  if (card && card.inputs.length > 0) parameters.inputs = card.inputs.map((format) => ({ format }));
  if (card && card.outputs.length > 0) parameters.outputs = card.outputs.map((format) => ({ format }));

  const result: ModelCardJson = {};
  if (Object.keys(parameters).length > 0) result.modelParameters = parameters;
  if (card && card.performanceMetrics.length > 0) {
    result.quantitativeAnalysis = { performanceMetrics: card.performanceMetrics.map((m) => ({ ...m })) };
  }
  const c = card?.considerations;
  if (c) {
    const considerations: NonNullable<ModelCardJson['considerations']> = {};
    if (c.users.length > 0) considerations.users = c.users;
    if (c.useCases.length > 0) considerations.useCases = c.useCases;
    if (c.technicalLimitations.length > 0) considerations.technicalLimitations = c.technicalLimitations;
    if (c.performanceTradeoffs.length > 0) considerations.performanceTradeoffs = c.performanceTradeoffs;
    if (c.ethicalConsiderations.length > 0) considerations.ethicalConsiderations = c.ethicalConsiderations;
    if (features.environmentalConsiderations && c.environmentalProperties.length > 0) {
      considerations.environmentalConsiderations = { properties: c.environmentalProperties };
    }
    if (Object.keys(considerations).length > 0) result.considerations = considerations;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function datasetData(dataset: ParsedDataset): ComponentDataJson {
  return {
    type: 'dataset',
    name: dataset.name,
    ...(dataset.url ? { contents: { url: dataset.url } } : {}),
    ...(dataset.description ? { description: dataset.description } : {}),
  };
}

function packageComponent(pkg: ParsedPackage): Models.Component {
  const type = pkg.role === 'framework' ? Enums.ComponentType.Framework : Enums.ComponentType.Library;
  const component = new Models.Component(type, pkg.name, { bomRef: pkg.key });
  if (pkg.group) component.group = pkg.group;
  if (pkg.version) component.version = pkg.version;
  if (pkg.purl) component.purl = pkg.purl;
  const properties = pkg.versionSpec
    ? [...pkg.properties, { name: 'mlbom:versionSpec', value: pkg.versionSpec }]
    : pkg.properties;
  applyCommon(component, { ...pkg, properties });
  return component;
}

/**
 * Turns a validated inventory into a CycloneDX BOM. The only place mlbom creates CycloneDX objects.
 * Every reference it writes (dependencies, model-card datasets) points at a component it also writes:
 * a relation to an unknown dataset creates a placeholder `data` component marked unresolved.
 */
export function buildBom(inventory: ParsedInventory, options: BuildOptions = {}): MlBom {
  const specVersion = options.specVersion ?? DEFAULT_SPEC_VERSION;
  const features = specFeatures(specVersion);
  const extras = new Map<string, ComponentExtras>();
  const bom = new Models.Bom();

  if (options.timestamp !== null) bom.metadata.timestamp = options.timestamp ?? new Date();
  if (options.tool) {
    bom.metadata.tools.components.add(
      new Models.Component(Enums.ComponentType.Application, options.tool.name, {
        version: options.tool.version,
        group: 'mlbom',
      }),
    );
  }
  const subject = new Models.Component(Enums.ComponentType.Application, options.subjectName ?? 'ml-inventory', {
    bomRef: SUBJECT_BOM_REF,
    ...(options.subjectVersion ? { version: options.subjectVersion } : {}),
  });
  bom.metadata.component = subject;
  for (const p of problemProperties(inventory.problems))
    bom.metadata.properties.add(new Models.Property(p.name, p.value));

  const datasets = new Map(inventory.datasets.map((d) => [d.key, d]));
  for (const relation of inventory.relations) {
    if (relation.type === 'trained-on' && !datasets.has(relation.to)) {
      datasets.set(relation.to, {
        kind: 'dataset',
        key: relation.to,
        name: relation.to,
        unresolved: true,
        authors: [],
        licenses: [],
        externalReferences: [],
        tags: [],
        properties: [],
        problems: [],
      });
    }
  }

  const components = new Map<string, Models.Component>();

  for (const dataset of datasets.values()) {
    const component = new Models.Component(Enums.ComponentType.Data, dataset.name, { bomRef: dataset.key });
    if (dataset.group) component.group = dataset.group;
    if (dataset.version) component.version = dataset.version;
    if (dataset.purl) component.purl = dataset.purl;
    const properties = dataset.unresolved
      ? [...dataset.properties, { name: 'mlbom:unresolved', value: 'true' }]
      : dataset.properties;
    applyCommon(component, { ...dataset, properties });
    extras.set(dataset.key, {
      data: [datasetData(dataset)],
      ...(features.tags && dataset.tags.length > 0 ? { tags: [...dataset.tags].sort() } : {}),
    });
    components.set(dataset.key, component);
  }

  for (const pkg of inventory.packages) components.set(pkg.key, packageComponent(pkg));

  for (const model of inventory.models) {
    const component = new Models.Component(Enums.ComponentType.MachineLearningModel, model.name, {
      bomRef: model.key,
    });
    if (model.group) component.group = model.group;
    if (model.version) component.version = model.version;
    if (model.purl) component.purl = model.purl;
    // CycloneDX 1.5 has no environmentalConsiderations: keep those figures on the component.
    const environmental = features.environmentalConsiderations
      ? []
      : (model.card?.considerations?.environmentalProperties ?? []);
    applyCommon(component, { ...model, properties: [...model.properties, ...environmental] });
    const files = [...model.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const file of files) {
      const child = fileComponent(model, file);
      component.components.add(child);
      for (const v of findingVulnerabilities(model, file, child.bomRef)) bom.vulnerabilities.add(v);
    }
    const onlyFile = files.length === 1 ? files[0] : undefined;
    if (onlyFile?.sha256) component.hashes.set(Enums.HashAlgorithm['SHA-256'], onlyFile.sha256);

    const relations = inventory.relations.filter((r) => r.from === model.key);
    const datasetRefs = relations.flatMap((r) => (r.type === 'trained-on' ? [r.to] : []));
    const ancestors = relations.flatMap((r) => {
      if (r.type !== 'derived-from') return [];
      // Ancestors carry no bom-ref: the same base may be listed under several models or at top level.
      const ancestor = new Models.Component(Enums.ComponentType.MachineLearningModel, r.ancestor.name);
      if (r.ancestor.group) ancestor.group = r.ancestor.group;
      if (r.ancestor.version) ancestor.version = r.ancestor.version;
      if (r.ancestor.purl) ancestor.purl = r.ancestor.purl;
      if (r.ancestor.url) {
        ancestor.externalReferences.add(
          new Models.ExternalReference(r.ancestor.url, Enums.ExternalReferenceType.Website),
        );
      }
      if (r.relation) ancestor.properties.add(new Models.Property('mlbom:relation', r.relation));
      return [ancestor];
    });
    const modelCard = modelCardJson(model, datasetRefs, features);
    extras.set(model.key, {
      ...(modelCard ? { modelCard } : {}),
      ...(ancestors.length > 0 ? { ancestors } : {}),
      ...(features.tags && model.tags.length > 0 ? { tags: [...new Set(model.tags)].sort() } : {}),
      ...(model.occurrences.length > 0
        ? {
            occurrences: model.occurrences.map((o) =>
              features.occurrenceLine && o.line !== undefined
                ? { location: o.location, line: o.line }
                : { location: o.location },
            ),
          }
        : {}),
    });
    components.set(model.key, component);
    subject.dependencies.add(component.bomRef);
  }

  for (const relation of inventory.relations) {
    if (relation.type !== 'depends-on') continue;
    const from = components.get(relation.from);
    const to = components.get(relation.to);
    if (from && to) from.dependencies.add(to.bomRef);
  }

  for (const component of components.values()) bom.components.add(component);
  return { bom, extras, specVersion };
}
