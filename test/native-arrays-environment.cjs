// Jest's node environment with the typed-array constructors of the real realm, as it already
// does for ArrayBuffer and Uint8Array: onnxruntime-node's native binding returns Float32Arrays
// made outside the test's sandbox, and its JavaScript checks them with `instanceof`.
// SharedArrayBuffer stays the sandbox's: threaded wasm checks its memory's buffer against it.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class NativeArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = NativeArraysEnvironment;
