// The shape of the CycloneDX JSON the end-to-end tests read back, and small helpers over it.

export interface Property {
  name: string;
  value: string;
}

export interface Component {
  'bom-ref'?: string;
  type: string;
  name: string;
  group?: string;
  version?: string;
  purl?: string;
  author?: string;
  hashes?: Array<{ alg: string; content: string }>;
  licenses?: unknown[];
  properties?: Property[];
  components?: Component[];
  modelCard?: {
    modelParameters?: {
      task?: string;
      architectureFamily?: string;
      modelArchitecture?: string;
      datasets?: Array<{ ref: string }>;
      inputs?: Array<{ format: string }>;
      outputs?: Array<{ format: string }>;
    };
    quantitativeAnalysis?: { performanceMetrics?: Array<{ type: string; value: string; slice?: string }> };
  };
  pedigree?: { ancestors?: Component[] };
  data?: Array<{ type: string; name?: string; contents?: { url: string } }>;
}

export interface Vulnerability {
  id: string;
  ratings: Array<{ severity: string }>;
  affects: Array<{ ref: string }>;
}

export interface Bom {
  specVersion: string;
  metadata: { component?: Component; properties?: Property[] };
  components: Component[];
  dependencies?: Array<{ ref: string; dependsOn?: string[] }>;
  vulnerabilities?: Vulnerability[];
}

export const property = (c: { properties?: Property[] }, name: string): string | undefined =>
  c.properties?.find((p) => p.name === name)?.value;

/** Every component, nested ones (files) included. */
export const allComponents = (cs: Component[]): Component[] =>
  cs.flatMap((c) => [c, ...allComponents(c.components ?? [])]);
