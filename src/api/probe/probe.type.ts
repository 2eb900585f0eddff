import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { ResolvedProbeOptions } from '../../contract/probe-options.js';
import type {
  HeadEpochMetrics,
  ReplicateSummary,
  Spread as SpreadValue,
} from '../../contract/probe-events.js';
import type { LayerProbeRow, ProbeRow } from '../../store/schema/index.js';
import { toGlobalId } from '../relay/global-id.js';
import { Node } from '../relay/node.type.js';
import { RunStatus } from '../run/training-run.type.js';

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
  FEATURES = 'features',
}
registerEnumType(ProbeEventType, { name: 'ProbeEventType' });

@ObjectType({ description: 'One epoch of a layer head (phase 2). See docs/METHOD.md#head.' })
export class HeadEpoch {
  @Field(() => Int, { description: '1-based.' }) epoch!: number;
  @Field(() => Float) trainLoss!: number;
  @Field(() => Float) testSR!: number;
  @Field(() => Float, { nullable: true }) learningRate!: number | null;

  static from(value: HeadEpochMetrics): HeadEpoch {
    return Object.assign(new HeadEpoch(), {
      epoch: value.epoch,
      trainLoss: value.trainLoss,
      testSR: value.testSR,
      // Histories stored before the rate was recorded lack it.
      learningRate: value.learningRate ?? null,
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
    "A quantity measured once per replicate (the layer's head trained from another seed on the same features): mean, sample standard deviation, values. See docs/METHOD.md#phase-2-sr-per-layer.",
})
export class Spread {
  @Field(() => Float, {
    nullable: true,
    description: 'Over the replicates where it is defined; null where none is.',
  })
  mean!: number | null;
  @Field(() => Float, {
    nullable: true,
    description: 'Sample standard deviation (n - 1); 0 with one value, null with none.',
  })
  std!: number | null;
  @Field(() => [Float], {
    nullable: 'items',
    description: 'One per replicate, in seed order; null where undefined (an SNR without noise).',
  })
  values!: (number | null)[];

  static from(spread: SpreadValue): Spread {
    return Object.assign(new Spread(), { ...spread, values: [...spread.values] });
  }
}

@ObjectType({
  description:
    "A layer's SR and aggregates over its probe's replicates; the layer's other fields (and every filter) are the first replicate's. See docs/METHOD.md#phase-2-sr-per-layer.",
})
export class ReplicateStats {
  @Field(() => Int) replicates!: number;
  @Field(() => Spread) successRate!: Spread;
  @Field(() => Spread, { description: 'Layer SNR.' }) snr!: Spread;
  @Field(() => Spread) meanNoise!: Spread;
  @Field(() => Spread) meanClusterSize!: Spread;
  @Field(() => Spread) meanClustersPerFilter!: Spread;
  @Field(() => Spread) clusteredFraction!: Spread;

  static from(summary: ReplicateSummary): ReplicateStats {
    return Object.assign(new ReplicateStats(), {
      replicates: summary.replicates,
      successRate: Spread.from(summary.successRate),
      snr: Spread.from(summary.snr),
      meanNoise: Spread.from(summary.meanNoise),
      meanClusterSize: Spread.from(summary.meanClusterSize),
      meanClustersPerFilter: Spread.from(summary.meanClustersPerFilter),
      clusteredFraction: Spread.from(summary.clusteredFraction),
    });
  }
}

@ObjectType({ description: 'Where a probe’s time went, and how its frozen features ran.' })
export class ProbeTiming {
  @Field(() => Float, { description: 'The frozen pass over the train and test examples, s.' })
  featuresSeconds!: number;
  @Field(() => Float, { description: 'Head training and evaluation, every replicate, s.' })
  headsSeconds!: number;
  @Field(() => Float, { description: 'Correlation matrices, metrics and ablation, s.' })
  phase3Seconds!: number;
  @Field(() => Float, { description: 'The masked heads of AFCC, s.' }) afccSeconds!: number;
  @Field({ description: 'What ran the frozen pass: a TensorFlow.js backend, or onnxruntime.' })
  frozenPath!: string;
  @Field({ description: 'memory, disk-float32, disk-float16, or none (recomputed each epoch).' })
  featureStore!: string;
  @Field(() => Float) featureImagesPerSecond!: number;
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
  options!: ResolvedProbeOptions;
  @Field(() => [String], { description: 'Probed conv layers, in network order.' })
  layerNames!: string[];
  @Field(() => String, { nullable: true }) backend!: string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'Batches run through the frozen network.',
  })
  forwardCalls!: number | null;
  @Field(() => ProbeTiming, { nullable: true, description: 'Once the probe has succeeded.' })
  timings!: ProbeTiming | null;
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
      timings: row.timings ? Object.assign(new ProbeTiming(), row.timings) : null,
      error: row.error,
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
    });
  }
}

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
  @Field(() => ReplicateStats, {
    nullable: true,
    description:
      'SR and aggregates over the replicates (mean and spread); null until the layer is done.',
  })
  replicates!: ReplicateStats | null;
  @Field({ description: 'True once its filters, aggregates and AFCC are stored.' })
  complete!: boolean;

  static fromRow(row: LayerProbeRow): LayerProbe {
    const a = row.aggregates;
    const r = row.replicates;
    return Object.assign(new LayerProbe(), {
      id: toGlobalId('LayerProbe', row.id),
      key: row.id,
      probeKey: row.probeId,
      layerKey: row.layerId,
      layerName: row.layerName,
      successRate: row.successRate,
      history: row.history.map(HeadEpoch.from),
      // Means over the replicates when the probe had them; the first replicate's otherwise.
      meanClusterSize: r ? r.meanClusterSize.mean : (a?.meanClusterSize ?? null),
      meanClustersPerFilter: r ? r.meanClustersPerFilter.mean : (a?.meanClustersPerFilter ?? null),
      clusteredFraction: r ? r.clusteredFraction.mean : (a?.fractionWithCluster ?? null),
      meanNoise: r ? r.meanNoise.mean : (a?.meanNoise ?? null),
      snr: r ? r.snr.mean : (a?.snr ?? null),
      silentFilters: a?.silentFilters ?? null,
      afcc: row.afcc ? Object.assign(new Afcc(), row.afcc) : null,
      probePointShape: row.probePoint ? [...row.probePoint.shape] : null,
      replicates: row.replicates ? ReplicateStats.from(row.replicates) : null,
      complete: row.complete,
    });
  }
}
