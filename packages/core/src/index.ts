export * from './assets.js';
export * from './errors.js';
export * from './python.js';
export * from './source.js';
export * from './bom/index.js';
