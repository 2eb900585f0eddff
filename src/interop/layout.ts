/**
 * Moving weights between layouts. ONNX (PyTorch) is channels-first: conv kernels
 * [filters, inChannels, kh, kw] (OIHW), a flattened map in C*H*W order. filterscope (Keras,
 * TensorFlow.js) is channels-last: kernels [kh, kw, inChannels, filters] (HWIO), a flattened map
 * in H*W*C order, so the rows of the first dense layer after a flatten are permuted.
 */

/** OIHW -> HWIO. */
export function oihwToHwio(
  values: Float32Array,
  [o, i, h, w]: readonly [number, number, number, number],
): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[((y * w + x) * i + b) * o + a] = values[((a * i + b) * h + y) * w + x] as number;
  return out;
}

/** HWIO -> OIHW. */
export function hwioToOihw(
  values: Float32Array,
  [h, w, i, o]: readonly [number, number, number, number],
): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let b = 0; b < i; b++)
        for (let a = 0; a < o; a++)
          out[((a * i + b) * h + y) * w + x] = values[((y * w + x) * i + b) * o + a] as number;
  return out;
}

/**
 * Reorders the rows of a dense kernel [h*w*c, units] whose input is a flattened [h, w, c] map:
 * `to: 'hwc'` takes rows in C*H*W order (PyTorch's flatten) to H*W*C order (filterscope's),
 * `to: 'chw'` the other way.
 */
export function permuteFlattenRows(
  kernel: Float32Array,
  [h, w, c]: readonly [number, number, number],
  units: number,
  to: 'hwc' | 'chw',
): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        const hwc = (y * w + x) * c + ch;
        const chw = (ch * h + y) * w + x;
        const [from, into] = to === 'hwc' ? [chw, hwc] : [hwc, chw];
        out.set(kernel.subarray(from * units, from * units + units), into * units);
      }
  return out;
}

/** A 2-D [rows, cols] matrix transposed. */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c] as number;
  return out;
}

/** IEEE half-precision bits -> number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The float32 values of little-endian bytes (copied, so any offset works). */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(Math.floor(bytes.byteLength / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** Float32 values as little-endian bytes. */
export function bytesFromFloat32(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i] as number, true);
  return out;
}
