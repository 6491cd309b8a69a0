export { artifactFormat, isModelFile } from './artifact-format.js';
export {
  type ArtifactScanner,
  defaultScanner,
  MAX_TEXT_BYTES,
  type MlflowHooks,
  mlflowPurl,
  type ScanResult,
} from './collect.js';
export { type EnvironmentFacts, readCondaYaml, readPythonEnvYaml, readRequirements } from './env.js';
export { huggingFaceBase, type MlmodelFacts, type MlmodelInfo, mlmodelFacts, parseMlmodel } from './mlmodel.js';
export {
  type ArtifactMode,
  artifactModeSchema,
  DEFAULT_AUTH_HINT,
  DEFAULT_MAX_ARTIFACT_FILES,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type MlflowOptions,
  mlflowOptionsSchema,
  type ResolvedMlflowOptions,
  resolveMlflowOptions,
} from './options.js';
export { filterLiteral, proxyPath, restBackend } from './rest.js';
export {
  canHandleMlflow,
  isMlrunsTarget,
  mlflow,
  type ReadMlmodelDirectoryOptions,
  readMlmodelDirectory,
} from './source.js';
export { fileStoreBackend, isMlrunsStore, registeredModelFilter } from './store.js';
export { type MlflowTarget, parseMlflowUri, REGISTRY_PREFIX, registryTarget } from './target.js';
export type * from './types.js';
