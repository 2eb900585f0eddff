import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { LayerProbeRow, ProbeRow } from '../../store/schema/index.js';
import { Connection } from '../relay/connection.js';
import { toGlobalId } from '../relay/global-id.js';
import { Node } from '../relay/node.type.js';
import { RunStatus } from '../run/training-run.type.js';
import { renderHeatmap } from './heatmap.js';

export enum FilterOrder {
  INDEX = 'INDEX',
  SNR_DESC = 'SNR_DESC',
  ABLATION_DESC = 'ABLATION_DESC',
  SCALE_DESC = 'SCALE_DESC',
}
registerEnumType(FilterOrder, {
  name: 'FilterOrder',
  description:
    "Order of a layer's filters, by the metrics stored for the default parameters; ties by index. SNR_DESC puts filters without noise (null SNR) last.",
});

/** Same values as analysis/metrics.ts `Normalization`. */
export enum NormalizationKind {
  COLUMN_CENTERED = 'COLUMN_CENTERED',
  MAX = 'MAX',
  NONE = 'NONE',
}
registerEnumType(NormalizationKind, {
  name: 'Normalization',
  description:
    "How a raw correlation matrix is normalised before thresholding. COLUMN_CENTERED: subtract each column's mean over rows, divide by the largest |entry|; MAX: divide by the largest entry; NONE: as is. See docs/METHOD.md#normalised-matrix.",
});

export enum ProbeEventType {
  STATUS = 'status',
  HEAD_EPOCH = 'headEpoch',
  LAYER_SR = 'layerSR',
  FILTERS = 'filters',
  LAYER_DONE = 'layerDone',
}
registerEnumType(ProbeEventType, { name: 'ProbeEventType' });

@ObjectType({ description: 'One epoch of a layer head (phase 2). See docs/METHOD.md#head.' })
export class HeadEpoch {
  @Field(() => Int, { description: '1-based.' }) epoch!: number;
  @Field(() => Float) trainLoss!: number;
  @Field(() => Float) testSR!: number;
  @Field(() => Float, { nullable: true }) learningRate!: number | null;

  static from(value: Record<string, unknown>): HeadEpoch {
    return Object.assign(new HeadEpoch(), {
      epoch: value.epoch,
      trainLoss: value.trainLoss,
      testSR: value.testSR,
      learningRate: (value.learningRate as number | undefined) ?? null,
    });
  }
}

@ObjectType({
  description:
    "AFCC (applying the filter's cluster connections) on a layer's head: each filter keeps only its head weights to the labels of its own clusters (default parameters), the bias is kept, nothing is retrained. See docs/METHOD.md#afcc.",
})
export class Afcc {
  @Field(() => Float, {
    description: 'Kernel weights kept / all kernel weights (bias excluded), in [0, 1].',
  })
  keptFraction!: number;
  @Field(() => Int) kept!: number;
  @Field(() => Int) total!: number;
  @Field(() => Float, { description: "Head test SR before masking (the layer's SR)." })
  srBefore!: number;
  @Field(() => Float, { description: 'Test SR of the masked head, without retraining.' })
  srAfter!: number;
}

@ObjectType({
  description:
    'Labels a filter singles out together: a connected component of the two-way marks among labels with a diagonal mark. See docs/METHOD.md#clusters.',
})
export class Cluster {
  @Field(() => [Int], { description: 'Label indices, ascending.' }) labels!: number[];
  @Field(() => [String], { description: "The dataset's names of `labels`." }) names!: string[];
}

@ObjectType({
  description:
    "A filter's raw correlation matrix: row = input (true) label, column = the output field averaged over that label's test images (head weights of this filter only, no bias; logit units). Not a Pearson correlation. See docs/METHOD.md#correlation-matrix.",
})
export class CorrelationMatrix {
  /** Raw values, float32 row-major. */
  values!: Float32Array;
  title!: string;

  @Field(() => Int, { description: 'C, the number of labels.' }) size!: number;
  @Field(() => [String], { description: 'Label names, for rows and columns.' }) labels!: string[];

  @Field(() => [[Float]], { description: 'C rows of C raw values.' })
  get rows(): number[][] {
    const C = this.size;
    return Array.from({ length: C }, (_, i) => Array.from(this.values.subarray(i * C, i * C + C)));
  }

  @Field({ description: 'The raw matrix as float32 little-endian row-major bytes, base64.' })
  get base64(): string {
    const bytes = Buffer.alloc(this.values.length * 4);
    this.values.forEach((v, q) => bytes.writeFloatLE(v, q * 4));
    return bytes.toString('base64');
  }

  @Field({ description: 'A standalone SVG heatmap (diverging colours about 0).' })
  get svg(): string {
    return renderHeatmap({ values: this.values, labels: this.labels, title: this.title });
  }
}

@ObjectType({
  implements: Node,
  description:
    'Phases 2 and 3 on a SUCCEEDED training run: a readout head per probed conv layer (SR per layer), then every filter of those layers. See docs/METHOD.md#phase-2-sr-per-layer.',
})
export class Probe extends Node {
  key!: number;
  runKey!: number;

  @Field(() => RunStatus) status!: RunStatus;
  @Field(() => GraphQLJSONObject, { description: 'The options used, every default filled in.' })
  options!: Record<string, unknown>;
  @Field(() => [String], { description: 'Probed conv layers, in network order.' })
  layerNames!: string[];
  @Field(() => String, { nullable: true }) backend!: string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'Batches run through the frozen network.',
  })
  forwardCalls!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static fromRow(row: ProbeRow): Probe {
    return Object.assign(new Probe(), {
      id: toGlobalId('Probe', row.id),
      key: row.id,
      runKey: row.runId,
      status: row.status as RunStatus,
      options: row.options,
      layerNames: row.layerNames,
      backend: row.backend,
      device: row.device,
      forwardCalls: row.forwardCalls,
      error: row.error,
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
    });
  }
}

const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

@ObjectType({
  implements: Node,
  description:
    "One probed conv layer: its head's SR, and aggregates over its non-silent filters for the default parameters (null until the layer is done). See docs/METHOD.md#layer-aggregates.",
})
export class LayerProbe extends Node {
  key!: number;
  probeKey!: number;
  layerKey!: number;

  @Field() layerName!: string;
  @Field(() => Float, {
    nullable: true,
    description: 'SR(l): head test SR after its last epoch. See docs/METHOD.md#success-rate.',
  })
  successRate!: number | null;
  @Field(() => [HeadEpoch]) history!: HeadEpoch[];
  @Field(() => Float, {
    nullable: true,
    description: 'All cluster members / all clusters, in labels; null without clusters.',
  })
  meanClusterSize!: number | null;
  @Field(() => Float, { nullable: true, description: 'Clusters / non-silent filters.' })
  meanClustersPerFilter!: number | null;
  @Field(() => Float, {
    nullable: true,
    description: 'Fraction of non-silent filters with at least one cluster.',
  })
  clusteredFraction!: number | null;
  @Field(() => Float, { nullable: true, description: 'Noise marks / non-silent filters.' })
  meanNoise!: number | null;
  @Field(() => Float, {
    nullable: true,
    description:
      'Total signal / total noise over the non-silent filters; null without noise. See docs/METHOD.md#layer-aggregates.',
  })
  snr!: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'Filters with scale < 0.05, left out of the aggregates. See docs/METHOD.md#scale-and-silent-filters.',
  })
  silentFilters!: number | null;
  @Field(() => Afcc, {
    nullable: true,
    description:
      "AFCC (applying the filter's cluster connections) on this layer's head. See docs/METHOD.md#afcc.",
  })
  afcc!: Afcc | null;
  @Field(() => [Int], {
    nullable: true,
    description: '[h, w, F] of the probe point. See docs/METHOD.md#probe-point.',
  })
  probePointShape!: number[] | null;
  @Field({ description: 'True once its filters, aggregates and AFCC are stored.' })
  complete!: boolean;

  static fromRow(row: LayerProbeRow): LayerProbe {
    const a = row.aggregates ?? {};
    const shape = row.probePoint?.shape;
    return Object.assign(new LayerProbe(), {
      id: toGlobalId('LayerProbe', row.id),
      key: row.id,
      probeKey: row.probeId,
      layerKey: row.layerId,
      layerName: row.layerName,
      successRate: row.successRate,
      history: row.history.map(HeadEpoch.from),
      meanClusterSize: num(a.meanClusterSize),
      meanClustersPerFilter: num(a.meanClustersPerFilter),
      clusteredFraction: num(a.fractionWithCluster),
      meanNoise: num(a.meanNoise),
      snr: num(a.snr),
      silentFilters: num(a.silentFilters),
      afcc: row.afcc ? Object.assign(new Afcc(), row.afcc) : null,
      probePointShape: Array.isArray(shape) ? (shape as number[]) : null,
      complete: row.complete,
    });
  }
}

@ObjectType({
  implements: Node,
  description:
    "One filter of a probed layer. Metrics are for the parameters given to `LayerProbe.filters` (defaults when reached otherwise); `ablation` is the head's test SR drop with this filter's readout zeroed. See docs/METHOD.md#phase-3-one-filter-at-a-time.",
})
export class FilterResult extends Node {
  key!: number;
  layerProbeKey!: number;

  @Field(() => Int) index!: number;
  @Field(() => Float, {
    description:
      "max |M| / the layer's largest, in [0, 1]. See docs/METHOD.md#scale-and-silent-filters.",
  })
  scale!: number;
  @Field({ description: 'scale < minScale: left out of the layer aggregates.' }) silent!: boolean;
  @Field(() => Int, {
    description:
      'The column of the raw matrix with the largest mean over rows. See docs/METHOD.md#preferred-label.',
  })
  preferredLabel!: number;
  @Field(() => Float, {
    description: "Fraction of rows whose largest raw entry is in preferredLabel's column.",
  })
  preference!: number;
  @Field(() => [Cluster], { description: 'See docs/METHOD.md#clusters.' }) clusters!: Cluster[];
  @Field(() => Int, {
    description:
      'Marks B[i][j] with i and j in the same cluster. See docs/METHOD.md#signal-noise-snr.',
  })
  signal!: number;
  @Field(() => Int, {
    description: 'Every other mark. See docs/METHOD.md#signal-noise-snr.',
  })
  noise!: number;
  @Field(() => Float, {
    nullable: true,
    description: 'signal / noise; null without noise. See docs/METHOD.md#signal-noise-snr.',
  })
  snr!: number | null;
  @Field({ description: 'noise = 0 (also when there is no mark at all).' }) noiseFree!: boolean;
  @Field(() => Float, {
    description:
      "Head test SR minus the SR with this filter's head weights zeroed (bias kept); may be negative. See docs/METHOD.md#ablation.",
  })
  ablation!: number;
  @Field(() => CorrelationMatrix, { description: 'See docs/METHOD.md#correlation-matrix.' })
  correlation!: CorrelationMatrix;
}

export const FilterResultConnection = Connection('FilterResult', FilterResult);

@ObjectType({
  description: "A filter's metrics (for the default parameters) as a FILTERS event carries them.",
})
export class FilterSummary {
  @Field(() => Int) index!: number;
  @Field(() => Float) scale!: number;
  @Field() silent!: boolean;
  @Field(() => Int) preferredLabel!: number;
  @Field(() => Float) preference!: number;
  @Field(() => [[Int]], { description: "Each cluster's labels." }) clusters!: number[][];
  @Field(() => Int) signal!: number;
  @Field(() => Int) noise!: number;
  @Field(() => Float, { nullable: true }) snr!: number | null;
  @Field() noiseFree!: boolean;
  @Field(() => Float) ablation!: number;
}

@ObjectType({ description: 'Something that happened to a probe; `sequence` orders them, from 1.' })
export class ProbeEvent {
  @Field(() => Int) sequence!: number;
  @Field(() => ID) probeId!: string;
  @Field(() => ProbeEventType) type!: ProbeEventType;
  @Field({ description: 'ISO time the event was recorded.' }) at!: string;
  @Field(() => RunStatus, { nullable: true, description: 'STATUS: the new status.' })
  status!: RunStatus | null;
  @Field(() => String, { nullable: true, description: 'The conv layer (all but STATUS).' })
  layer!: string | null;
  @Field(() => Int, { nullable: true, description: 'HEAD_EPOCH: 1-based.' }) epoch!: number | null;
  @Field(() => Float, { nullable: true, description: 'HEAD_EPOCH.' }) testSR!: number | null;
  @Field(() => Float, { nullable: true, description: 'HEAD_EPOCH.' }) trainLoss!: number | null;
  @Field(() => Float, { nullable: true, description: 'LAYER_SR.' }) successRate!: number | null;
  @Field(() => [Int], { nullable: true, description: 'FILTERS: indices just stored.' })
  filterIndices!: number[] | null;
  @Field(() => [FilterSummary], {
    nullable: true,
    description: 'FILTERS: the metrics of the filters just stored.',
  })
  filters!: FilterSummary[] | null;
  @Field(() => String, { nullable: true, description: 'FAILED (or QUEUED for a retry).' })
  error!: string | null;
  @Field(() => String, { nullable: true, description: 'CANCELLING and CANCELLED: why.' })
  reason!: string | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'CANCELLED by request while running: batches that finished after the cancel was committed (the one in progress then counts), 0 or 1 when the probe stopped within a batch.',
  })
  batchesAfterCancel!: number | null;
}
