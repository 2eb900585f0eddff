import * as tf from '@tensorflow/tfjs';
import { AblationAccumulator, CorrelationAccumulator, type HeadShape } from '../analysis/index.js';
import type { ResolvedProbeOptions } from '../contract/probe-options.js';
import type { ProbePoint } from '../contract/probe-points.js';
import type { HeadEpochMetrics } from '../contract/probe-events.js';
import { SgdOptimizer } from './optimizer.js';

/** Phase 2's readout: a dense head per probed layer, and what phase 3 reads from it. */

/** What phase 3 accumulates for one head over the last test pass. */
export interface Phase3 {
  readonly kernel: Float32Array;
  readonly shape: HeadShape;
  readonly correlation: CorrelationAccumulator;
  /** Only for the replicate whose filters are reported. */
  readonly ablation: AblationAccumulator | null;
}

/** A dense head `[P * F] -> C` with bias, its SGD state and its epoch history. */
export class Head {
  readonly history: HeadEpochMetrics[] = [];
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly optimizer: SgdOptimizer;
  private lossSum: tf.Scalar | null = null;
  private examples = 0;

  constructor(
    readonly point: ProbePoint,
    private readonly labels: number,
    seed: number,
    opts: ResolvedProbeOptions,
  ) {
    // Keras' Dense defaults: Glorot-uniform kernel, zero bias.
    this.kernel = tf.tidy(() =>
      tf.variable(
        tf.initializers.glorotUniform({ seed }).apply([point.features, labels]),
        true,
        undefined,
        'float32',
      ),
    );
    this.bias = tf.tidy(() => tf.variable(tf.zeros([labels]), true, undefined, 'float32'));
    this.optimizer = new SgdOptimizer(
      [
        { name: `${point.layer}/kernel`, variable: this.kernel },
        { name: `${point.layer}/bias`, variable: this.bias },
      ],
      { momentum: opts.momentum, weightDecay: opts.weightDecay, nesterov: false },
    );
  }

  startEpoch(): void {
    tf.dispose(this.lossSum ?? []);
    this.lossSum = tf.scalar(0);
    this.examples = 0;
  }

  /**
   * One SGD step on the mean softmax cross-entropy of a batch. The gradient is written out
   * (d loss / d logits = (softmax - onehot) / n), so no tape over the frozen network is kept.
   */
  step(features: tf.Tensor2D, y: tf.Tensor1D, learningRate: number): void {
    const n = features.shape[0];
    const next = tf.tidy(() => {
      const logits = tf.add(tf.matMul(features, this.kernel), this.bias);
      const logProbs = tf.logSoftmax(logits);
      const oneHot = tf.oneHot(y, this.labels);
      const batchLoss = tf.neg(tf.sum(tf.mul(oneHot, logProbs)));
      const dLogits = tf.div(tf.sub(tf.exp(logProbs), oneHot), n);
      this.optimizer.step(
        new Map([
          // Transposed first: the wasm backend's matMul with transposeA takes a slow path
          // (`npm run bench:matmul`: 50.7 against 5.9 ms at [128, 12544] x [128, 30]).
          [`${this.point.layer}/kernel`, tf.matMul(tf.transpose(features), dLogits)],
          [`${this.point.layer}/bias`, tf.sum(dLogits, 0)],
        ]),
        learningRate,
      );
      return tf.add(this.lossSum ?? tf.scalar(0), batchLoss) as tf.Scalar;
    });
    tf.dispose(this.lossSum ?? []);
    this.lossSum = next;
    this.examples += n;
  }

  async endEpoch(epoch: number, learningRate: number, testSR: number): Promise<HeadEpochMetrics> {
    const sum = this.lossSum ? ((await this.lossSum.data())[0] as number) : 0;
    tf.dispose(this.lossSum ?? []);
    this.lossSum = null;
    const trainLoss = sum / Math.max(1, this.examples);
    if (!Number.isFinite(trainLoss)) {
      throw new Error(
        `the head of ${this.point.layer} diverged: train loss ${trainLoss} in head epoch ${epoch + 1}; lower the learning rate`,
      );
    }
    const metrics = { epoch: epoch + 1, learningRate, trainLoss, testSR };
    this.history.push(metrics);
    return metrics;
  }

  /** SR after the last epoch (0 before any). */
  successRate(): number {
    return this.history[this.history.length - 1]?.testSR ?? 0;
  }

  /** `[n, C]` logits of a batch, with the trained kernel or `kernel` instead; bias included. */
  async logits(features: tf.Tensor2D, kernel?: tf.Tensor2D): Promise<Float32Array> {
    const logits = tf.tidy(() => tf.add(tf.matMul(features, kernel ?? this.kernel), this.bias));
    try {
      return Float32Array.from((await logits.data()) as Float32Array);
    } finally {
      logits.dispose();
    }
  }

  /** Accumulators for phase 3 over the current (final) kernel; ablation on request. */
  async phase3(withAblation: boolean): Promise<Phase3> {
    const kernel = Float32Array.from((await this.kernel.data()) as Float32Array);
    const shape = {
      positions: this.point.positions,
      filters: this.point.filters,
      labels: this.labels,
    };
    return {
      kernel,
      shape,
      correlation: new CorrelationAccumulator(kernel, shape),
      ablation: withAblation ? new AblationAccumulator(kernel, shape) : null,
    };
  }

  async readBias(): Promise<Float32Array> {
    return Float32Array.from((await this.bias.data()) as Float32Array);
  }

  dispose(): void {
    tf.dispose(this.lossSum ?? []);
    this.lossSum = null;
    this.optimizer.dispose();
    this.kernel.dispose();
    this.bias.dispose();
  }
}
