/** Named float32 values (a model variable, a momentum buffer), as a checkpoint stores them. */
export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}
