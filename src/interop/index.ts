/**
 * Networks in and out of filterscope: ONNX files and TensorFlow.js layers models read into an
 * architecture spec and channels-last weights, and any spec with its weights written back in
 * both formats. Plain TypeScript without TensorFlow.js: it runs in the API process (in a worker
 * thread). docs/METHOD.md, "Importing and exporting networks", says what is taken and how.
 */
export { ImportError, IMPORT_ERROR_CODES } from './errors.js';
export type { ImportErrorCode, SourceNode } from './errors.js';
export type { ImportedNetwork, ModelFormat, NetworkMetadata } from './types.js';
export { METADATA_KEYS } from './types.js';
export { readOnnx, SUPPORTED_ONNX_OPS } from './onnx-read.js';
export { writeOnnx, ONNX_IR_VERSION, ONNX_OPSET } from './onnx-write.js';
export { readTfjsLayers, SUPPORTED_TFJS_LAYERS } from './tfjs-read.js';
export type { WeightFiles } from './tfjs-weights.js';
export { writeTfjsLayers, TFJS_WEIGHTS_PATH } from './tfjs-write.js';
export type { KerasLayer, TfjsModelJson } from './tfjs-write.js';
export { applyInputSettings, applyLabelMapping } from './input-settings.js';
export type { InputSettings } from './input-settings.js';
