// The public API: the source, its options, the URI forms it reads, and the MLmodel reader the local
// source shares. Backends, readers of MLflow's environment files and helpers stay internal.
export type { ArtifactScanner, MlflowHooks, ScanResult } from './collect.js';
export { type MlmodelInfo, parseMlmodel } from './mlmodel.js';
export {
  type ArtifactMode,
  artifactModeSchema,
  type MlflowOptions,
  mlflowOptionsSchema,
} from './options.js';
export { mlflow, type ReadMlmodelDirectoryOptions, readMlmodelDirectory } from './source.js';
export { type MlflowTarget, parseMlflowUri, registryTarget } from './target.js';
export type * from './types.js';
