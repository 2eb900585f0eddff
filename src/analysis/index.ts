/** METHOD.md's phase-3 math on plain arrays; no TensorFlow.js, no imports of the app. */
export * from './ablation.js';
export * from './afcc.js';
export * from './correlation.js';
export * from './downsample.js';
export * from './layer.js';
export * from './metrics.js';
