import * as tf from '@tensorflow/tfjs';

/**
 * A closed-form gradient for `FusedBatchNorm` (tf.batchNorm), registered for every backend.
 *
 * The stock gradient tiles rsqrt(variance) to the full input shape (its Tile took 23% of a wasm
 * training step) and evaluates sum(dy) and sum(dy * (x - mean)) once per parameter that needs
 * them. With per-channel statistics along the last axis, r = rsqrt(variance + eps), g = scale
 * (1 when absent), S1 = sum(dy) and S2 = sum(dy * (x - mean)) over every axis but the last:
 *   dx = dy * g * r            (a broadcast multiply, no Tile)
 *   dmean = -g * r * S1        dvariance = -g * r^3 * S2 / 2
 *   dscale = r * S2            doffset = S1
 * These are the partial derivatives of the kernel for its five inputs, exactly as the stock
 * gradient defines them. In training, tfjs-layers' BatchNormalization computes mean and variance
 * from x itself (tf.moments) and passes them in; the terms through them reach x by autodiff of
 * tf.moments, as with the stock gradient.
 *
 * Other statistic shapes (not one value per last-axis channel) go to the stock gradient.
 */

type Saved = [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];

/** True when `t` holds one value per channel of the last axis (shape [C] or [1, ..., 1, C]). */
function perChannel(t: tf.Tensor, channels: number): boolean {
  return t.size === channels && t.shape[t.shape.length - 1] === channels;
}

/** The closed-form gradient config; `stock` is the one it replaces, used for other shapes. */
export function batchNormGradConfig(stock: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dyOrDys, saved, attrs) => {
      const dy = Array.isArray(dyOrDys) ? dyOrDys[0] : dyOrDys;
      if (dy === undefined) return stock.gradFunc(dyOrDys, saved, attrs);
      const [x, mean, variance, scale] = saved as Saved;
      const channels = x.shape[x.rank - 1] ?? 0;
      const fits =
        x.rank >= 2 &&
        perChannel(mean, channels) &&
        perChannel(variance, channels) &&
        (scale == null || perChannel(scale, channels));
      if (!fits) return stock.gradFunc(dyOrDys, saved, attrs);
      const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
      const axes = [...Array(x.rank - 1).keys()];
      // Every derivative below runs in its own tidy (tfjs' backprop), so S1 and S2 cannot be
      // memoized lazily across them; they are computed here once, up front. They are [C]
      // tensors, freed when the backward pass ends.
      const [r, gr, s1, s2] = tf.tidy(() => {
        const r = tf.rsqrt(tf.add(tf.reshape(variance, [channels]), varianceEpsilon));
        const gr = scale == null ? r : tf.mul(tf.reshape(scale, [channels]), r);
        const s1 = tf.sum(dy, axes);
        const centred = tf.sub(x, tf.reshape(mean, [channels]));
        const s2 = tf.sum(tf.mul(dy, centred), axes);
        return [r, gr, s1, s2];
      });
      return {
        x: () => tf.mul(dy, gr),
        mean: () => tf.reshape(tf.neg(tf.mul(gr, s1)), mean.shape),
        variance: () =>
          tf.reshape(tf.mul(tf.mul(gr, tf.mul(tf.square(r), -0.5)), s2), variance.shape),
        scale: () => tf.reshape(tf.mul(r, s2), scale?.shape ?? mean.shape),
        // The offset is not saved; like the stock gradient, assume it has the mean's shape.
        offset: () => tf.reshape(s1, mean.shape),
      };
    },
  };
}
