import type { Models, Serialize } from '@cyclonedx/cyclonedx-library';

/** JSON shapes of the CycloneDX parts @cyclonedx/cyclonedx-library 10 does not model. */
export interface ModelCardJson {
  modelParameters?: {
    approach?: { type: string };
    task?: string;
    architectureFamily?: string;
    modelArchitecture?: string;
    datasets?: Array<{ ref: string }>;
    inputs?: Array<{ format: string }>;
    outputs?: Array<{ format: string }>;
  };
  quantitativeAnalysis?: {
    performanceMetrics?: Array<{
      type: string;
      value: string;
      slice?: string | undefined;
      confidenceInterval?: { lowerBound: string; upperBound: string } | undefined;
    }>;
  };
  considerations?: {
    users?: string[];
    useCases?: string[];
    technicalLimitations?: string[];
    performanceTradeoffs?: string[];
    ethicalConsiderations?: Array<{ name: string; mitigationStrategy?: string | undefined }>;
    environmentalConsiderations?: { properties: Array<{ name: string; value: string }> };
  };
}

export interface ComponentDataJson {
  type: 'source-code' | 'configuration' | 'dataset' | 'definition' | 'other';
  name?: string;
  contents?: { url: string };
  description?: string;
}

export interface ComponentExtras {
  modelCard?: ModelCardJson;
  data?: ComponentDataJson[];
  /** Library components, normalized with the library's own component normalizer. */
  ancestors?: Models.Component[];
  tags?: string[];
  /** evidence.occurrences: where the component was seen (line only from CycloneDX 1.6). */
  occurrences?: Array<{ location: string; line?: number }>;
}

type XmlElement = Serialize.XML.Types.SimpleXml.Element;

const el = (name: string, children?: XmlElement[] | string): XmlElement => ({ type: 'element', name, children });
const textList = (outer: string, inner: string, values: string[] | undefined): XmlElement[] =>
  values && values.length > 0
    ? [
        el(
          outer,
          values.map((v) => el(inner, v)),
        ),
      ]
    : [];
const optionalText = (name: string, value: string | undefined): XmlElement[] =>
  value === undefined ? [] : [el(name, value)];

export function modelCardXml(card: ModelCardJson): XmlElement {
  const children: XmlElement[] = [];
  const p = card.modelParameters;
  if (p) {
    children.push(
      el('modelParameters', [
        ...(p.approach ? [el('approach', [el('type', p.approach.type)])] : []),
        ...optionalText('task', p.task),
        ...optionalText('architectureFamily', p.architectureFamily),
        ...optionalText('modelArchitecture', p.modelArchitecture),
        ...(p.datasets
          ? [
              el(
                'datasets',
                p.datasets.map((d) => el('ref', d.ref)),
              ),
            ]
          : []),
        ...(p.inputs
          ? [
              el(
                'inputs',
                p.inputs.map((i) => el('input', [el('format', i.format)])),
              ),
            ]
          : []),
        ...(p.outputs
          ? [
              el(
                'outputs',
                p.outputs.map((o) => el('output', [el('format', o.format)])),
              ),
            ]
          : []),
      ]),
    );
  }
  const metrics = card.quantitativeAnalysis?.performanceMetrics;
  if (metrics) {
    children.push(
      el('quantitativeAnalysis', [
        el(
          'performanceMetrics',
          metrics.map((m) =>
            el('performanceMetric', [
              el('type', m.type),
              el('value', m.value),
              ...optionalText('slice', m.slice),
              ...(m.confidenceInterval
                ? [
                    el('confidenceInterval', [
                      el('lowerBound', m.confidenceInterval.lowerBound),
                      el('upperBound', m.confidenceInterval.upperBound),
                    ]),
                  ]
                : []),
            ]),
          ),
        ),
      ]),
    );
  }
  const c = card.considerations;
  if (c) {
    children.push(
      el('considerations', [
        ...textList('users', 'user', c.users),
        ...textList('useCases', 'useCase', c.useCases),
        ...textList('technicalLimitations', 'technicalLimitation', c.technicalLimitations),
        ...textList('performanceTradeoffs', 'performanceTradeoff', c.performanceTradeoffs),
        ...(c.ethicalConsiderations
          ? [
              el(
                'ethicalConsiderations',
                c.ethicalConsiderations.map((e) =>
                  el('ethicalConsideration', [
                    el('name', e.name),
                    ...optionalText('mitigationStrategy', e.mitigationStrategy),
                  ]),
                ),
              ),
            ]
          : []),
        ...(c.environmentalConsiderations
          ? [
              el('environmentalConsiderations', [
                el(
                  'properties',
                  c.environmentalConsiderations.properties.map((p) => ({
                    type: 'element' as const,
                    name: 'property',
                    attributes: { name: p.name },
                    children: p.value,
                  })),
                ),
              ]),
            ]
          : []),
      ]),
    );
  }
  return el('modelCard', children);
}

export function componentDataXml(data: ComponentDataJson): XmlElement {
  return el('data', [
    el('type', data.type),
    ...optionalText('name', data.name),
    ...(data.contents ? [el('contents', [el('url', data.contents.url)])] : []),
    ...optionalText('description', data.description),
  ]);
}

export function tagsXml(tags: string[]): XmlElement {
  return el(
    'tags',
    tags.map((t) => el('tag', t)),
  );
}

export function occurrencesXml(occurrences: Array<{ location: string; line?: number }>): XmlElement {
  return el('evidence', [
    el(
      'occurrences',
      occurrences.map((o) =>
        el('occurrence', [el('location', o.location), ...(o.line === undefined ? [] : [el('line', String(o.line))])]),
      ),
    ),
  ]);
}
