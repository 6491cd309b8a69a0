export * from './build.js';
export type { ComponentDataJson, ComponentExtras, ModelCardJson } from './extras.js';
export * from './merge.js';
export * from './serialize.js';
export * from './spec.js';
export * from './validate.js';
