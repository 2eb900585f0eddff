export * from './spec.js';
export * from './layers.js';
export * from './validate.js';
export * from './presets.js';
