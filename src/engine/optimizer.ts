import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from '../contract/tensors.js';

/**
 * SGD with momentum and weight decay, PyTorch semantics (torch.optim.SGD with dampening 0):
 *
 *     d = g + weightDecay * w
 *     v = momentum * v + d
 *     w = w - lr * (nesterov ? d + momentum * v : v)
 *
 * tfjs' own MomentumOptimizer scales the accumulator differently and has no decoupled state we can
 * checkpoint by name, so the update is written out here. A zero-initialised buffer gives PyTorch's
 * first step exactly (PyTorch copies the first gradient into the buffer: m * 0 + d = d).
 */

export interface SgdSettings {
  /** Default 0.9. */
  readonly momentum: number;
  /** lambda, added as lambda * w to every gradient; default 5e-4. */
  readonly weightDecay: number;
  /** Default false. */
  readonly nesterov: boolean;
}

/** A trainable variable under a stable name (layer name + weight, e.g. `conv1/kernel`). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * One SGD update of a single parameter, as new tensors (the caller owns them). Same shapes in,
 * same shape out.
 *
 * @param weight current parameter w
 * @param gradient dL/dw of the mean batch loss
 * @param velocity momentum buffer v (zeros before the first step)
 * @param learningRate this step's rate
 */
export function sgdUpdate(
  weight: tf.Tensor,
  gradient: tf.Tensor,
  velocity: tf.Tensor,
  learningRate: number,
  settings: SgdSettings,
): { weight: tf.Tensor; velocity: tf.Tensor } {
  return tf.tidy(() => {
    const decayed =
      settings.weightDecay === 0
        ? gradient
        : tf.add(gradient, tf.mul(weight, settings.weightDecay));
    const v = tf.add(tf.mul(velocity, settings.momentum), decayed);
    const direction = settings.nesterov ? tf.add(decayed, tf.mul(v, settings.momentum)) : v;
    return { weight: tf.sub(weight, tf.mul(direction, learningRate)), velocity: v };
  });
}

/** SGD state for a fixed list of variables: one momentum buffer each, checkpointable by name. */
export class SgdOptimizer {
  private readonly buffers: Map<string, tf.Variable>;

  constructor(
    private readonly params: readonly NamedVariable[],
    private readonly settings: SgdSettings,
  ) {
    const names = new Set(params.map((p) => p.name));
    if (names.size !== params.length) {
      throw new Error(`SgdOptimizer: parameter names must be unique, got ${params.length} params`);
    }
    this.buffers = new Map(
      params.map(
        (p) => [p.name, tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false))] as const,
      ),
    );
  }

  /**
   * Applies one update to every parameter in place.
   *
   * @param gradients gradient per parameter name; every parameter must have one
   * @param learningRate this step's rate
   */
  step(gradients: ReadonlyMap<string, tf.Tensor>, learningRate: number): void {
    tf.tidy(() => {
      for (const p of this.params) {
        const g = gradients.get(p.name);
        if (!g) throw new Error(`SgdOptimizer.step: no gradient for parameter ${p.name}`);
        const v = this.buffer(p.name);
        const next = sgdUpdate(p.variable, g, v, learningRate, this.settings);
        p.variable.assign(next.weight);
        v.assign(next.velocity);
      }
    });
  }

  /** The momentum buffers, copied out, in parameter order. */
  async getState(): Promise<NamedArray[]> {
    return Promise.all(
      this.params.map(async (p) => {
        const v = this.buffer(p.name);
        // Copied: some backends hand out their live buffer.
        const values = Float32Array.from((await v.data()) as Float32Array);
        return { name: p.name, shape: v.shape, values };
      }),
    );
  }

  /** Restores buffers saved by `getState`; names and shapes must match exactly. */
  setState(state: readonly NamedArray[]): void {
    const byName = new Map(state.map((s) => [s.name, s]));
    if (byName.size !== this.params.length || state.length !== this.params.length) {
      throw new Error(
        `optimizer state has ${state.length} momentum buffers, the model has ${this.params.length} trainable parameters`,
      );
    }
    for (const p of this.params) {
      const saved = byName.get(p.name);
      const v = this.buffer(p.name);
      if (!saved) throw new Error(`optimizer state has no momentum buffer for ${p.name}`);
      if (saved.shape.join('x') !== v.shape.join('x')) {
        throw new Error(
          `momentum buffer ${p.name} has shape [${saved.shape.join(', ')}], expected [${v.shape.join(', ')}]`,
        );
      }
      tf.tidy(() => v.assign(tf.tensor(saved.values, v.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }

  private buffer(name: string): tf.Variable {
    const v = this.buffers.get(name);
    if (!v) throw new Error(`SgdOptimizer: no momentum buffer for ${name} (disposed?)`);
    return v;
  }
}
