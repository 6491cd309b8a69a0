import type { ModelFormat, Problem, Property } from '@mlbom/core';

/** A framework (or library) a model file says it was written with or needs to be read. */
export interface FrameworkHint {
  /** The PyPI name (PEP 503 normalised by the consumer), or a plain name for `generic`. */
  name: string;
  /** Only when the file records it. */
  version?: string | undefined;
  /** `pypi` unless the producer is not a Python package. */
  ecosystem?: 'pypi' | 'generic' | undefined;
  /** What in the file says so, e.g. `onnx producer_name`, `_sklearn_version`. */
  evidence: string;
}

/** What a file tells about the model, for `modelCard.modelParameters`. */
export interface CardHints {
  architectureFamily?: string | undefined;
  modelArchitecture?: string | undefined;
  /** Input formats, e.g. `input: float32[batch,4]`. */
  inputs?: string[] | undefined;
  outputs?: string[] | undefined;
}

/** Everything read from one file. */
export interface FileDescription {
  format: ModelFormat;
  /** True when the bytes show a model format (not merely the name). */
  recognised: boolean;
  properties: Property[];
  card: CardHints;
  frameworks: FrameworkHint[];
  /** Other files this one references, relative to its folder (ONNX external data, shards of an index). */
  references: string[];
  problems: Problem[];
}
