import { createHash, randomUUID } from 'node:crypto';
import { type Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { MlBom } from './build.js';
import { type ComponentExtras, componentDataXml, modelCardXml, occurrencesXml, tagsXml } from './extras.js';
import { librarySpec, type OutputFormat } from './spec.js';

type JsonComponent = Serialize.JSON.Types.Normalized.Component & Record<string, unknown>;
type XmlElement = Serialize.XML.Types.SimpleXml.Element;
type NormalizerOptions = Serialize.Types.NormalizerOptions;

function specOf(mlbom: MlBom) {
  const spec = Spec.SpecVersionDict[librarySpec(mlbom.specVersion)];
  if (!spec) throw new Error(`CycloneDX ${mlbom.specVersion} is not supported by the serializer`);
  return spec;
}

/** JSON serializer that adds modelCard, data, pedigree and tags after the library's normalization. */
class MlJsonSerializer extends Serialize.JsonSerializer {
  readonly #extras: Map<string, ComponentExtras>;
  readonly #factory: Serialize.JSON.Normalize.Factory;

  constructor(factory: Serialize.JSON.Normalize.Factory, extras: Map<string, ComponentExtras>) {
    super(factory);
    this.#factory = factory;
    this.#extras = extras;
  }

  protected override _normalize(bom: Models.Bom, options: NormalizerOptions = {}) {
    const normalized = super._normalize(bom, options);
    const componentNormalizer = this.#factory.makeForComponent();
    const patch = (component: JsonComponent): void => {
      const ref = component['bom-ref'];
      const extra = ref === undefined ? undefined : this.#extras.get(ref);
      if (extra?.ancestors) {
        const ancestors = extra.ancestors.flatMap((a) => componentNormalizer.normalize(a, options) ?? []);
        component.pedigree = { ancestors };
      }
      if (extra?.modelCard) component.modelCard = extra.modelCard;
      if (extra?.data) component.data = extra.data;
      if (extra?.tags) component.tags = extra.tags;
      if (extra?.occurrences) {
        // The library's evidence type predates occurrences; the schema has them since 1.5.
        component.evidence = {
          ...(component.evidence ?? {}),
          occurrences: extra.occurrences,
        } as typeof component.evidence;
      }
      for (const child of component.components ?? []) patch(child as JsonComponent);
    };
    for (const component of normalized.components ?? []) patch(component as JsonComponent);
    return normalized;
  }
}

const BEFORE_PEDIGREE = new Set([
  'externalReferences',
  'properties',
  'components',
  'evidence',
  'releaseNotes',
  'modelCard',
  'data',
  'cryptoProperties',
  'tags',
  'signature',
]);
const BEFORE_MODEL_CARD = new Set(['cryptoProperties', 'tags', 'signature']);

/** Inserts `element` before the first existing child named in `before`, keeping the XSD's sequence order. */
function insertBefore(children: XmlElement[], element: XmlElement, before: Set<string>): void {
  const index = children.findIndex((c) => before.has(c.name));
  if (index === -1) children.push(element);
  else children.splice(index, 0, element);
}

/** XML serializer counterpart of MlJsonSerializer. */
class MlXmlSerializer extends Serialize.XmlSerializer {
  readonly #extras: Map<string, ComponentExtras>;
  readonly #factory: Serialize.XML.Normalize.Factory;

  constructor(factory: Serialize.XML.Normalize.Factory, extras: Map<string, ComponentExtras>) {
    super(factory);
    this.#factory = factory;
    this.#extras = extras;
  }

  protected override _normalize(bom: Models.Bom, options: NormalizerOptions = {}) {
    const normalized = super._normalize(bom, options);
    const componentNormalizer = this.#factory.makeForComponent();
    const visit = (element: XmlElement): void => {
      if (!Array.isArray(element.children)) return;
      const children = element.children as XmlElement[];
      if (element.name === 'component') {
        const ref = element.attributes?.['bom-ref'];
        const extra = ref === undefined ? undefined : this.#extras.get(String(ref));
        if (extra?.ancestors) {
          const ancestors = extra.ancestors.flatMap(
            (a) => componentNormalizer.normalize(a, options, 'component') ?? [],
          );
          insertBefore(
            children,
            {
              type: 'element',
              name: 'pedigree',
              children: [{ type: 'element', name: 'ancestors', children: ancestors }],
            },
            BEFORE_PEDIGREE,
          );
        }
        if (extra?.occurrences) {
          insertBefore(
            children,
            occurrencesXml(extra.occurrences),
            new Set(['releaseNotes', ...BEFORE_MODEL_CARD, 'modelCard', 'data']),
          );
        }
        if (extra?.modelCard) insertBefore(children, modelCardXml(extra.modelCard), BEFORE_MODEL_CARD);
        for (const data of extra?.data ?? []) insertBefore(children, componentDataXml(data), BEFORE_MODEL_CARD);
        if (extra?.tags) insertBefore(children, tagsXml(extra.tags), new Set(['signature']));
      }
      for (const child of children) if (child.type === 'element') visit(child);
    };
    visit(normalized);
    return normalized;
  }
}

export interface SerializeOptions {
  format: OutputFormat;
  /** Sorted lists and a serial number derived from the content: identical input, identical bytes. */
  reproducible?: boolean;
  space?: number;
}

/** RFC 4122 version-5 style UUID over a SHA-256 digest of the content (the schema allows versions 1-5). */
function contentUuid(content: string): string {
  const bytes = createHash('sha256').update(content).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Serializes an ML-BOM to CycloneDX JSON or XML for its spec version.
 * @throws {Error} from the CycloneDX library when an optional serializer dependency is missing
 */
export function serializeBom(mlbom: MlBom, options: SerializeOptions): string {
  const spec = specOf(mlbom);
  const serializer =
    options.format === 'json'
      ? new MlJsonSerializer(new Serialize.JSON.Normalize.Factory(spec), mlbom.extras)
      : new MlXmlSerializer(new Serialize.XML.Normalize.Factory(spec), mlbom.extras);
  const settings = { sortLists: options.reproducible === true, space: options.space ?? 2 };
  if (options.reproducible) {
    mlbom.bom.serialNumber = undefined;
    const withoutSerial = serializer.serialize(mlbom.bom, settings);
    mlbom.bom.serialNumber = `urn:uuid:${contentUuid(withoutSerial)}`;
  } else {
    mlbom.bom.serialNumber = `urn:uuid:${randomUUID()}`;
  }
  const text = serializer.serialize(mlbom.bom, settings);
  return text.endsWith('\n') ? text : `${text}\n`;
}
