export * from './assets.js';
export * from './bom/index.js';
export * from './bytes.js';
export * from './errors.js';
export * from './generate.js';
export * from './http.js';
export * from './python.js';
export * from './source.js';
