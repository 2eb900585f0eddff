import { Arg, Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Normalization } from '../../analysis/metrics.js';
import { Connection } from '../relay/connection.js';
import { Node } from '../relay/node.type.js';
import { renderHeatmap } from './heatmap.js';

export enum HeatmapView {
  NORMALIZED = 'NORMALIZED',
  RAW = 'RAW',
}
registerEnumType(HeatmapView, {
  name: 'HeatmapView',
  description: 'What a correlation matrix heatmap draws. See README.md#heatmaps.',
  valuesConfig: {
    NORMALIZED: {
      description:
        "The normalised matrix N (the normalization of the filter's parameters), a dot on each mark (N >= threshold) and an outline around each cluster, with the marks, signal, noise and SNR under it. See docs/METHOD.md#phase-3-one-filter-at-a-time.",
    },
    RAW: { description: 'The raw matrix M (logit units), as stored.' },
  },
});

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
  /** The parameters the filter's metrics were computed with (the NORMALIZED view uses them). */
  threshold!: number;
  normalization!: Normalization;
  silent!: boolean;

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

  @Field({
    description:
      "A standalone SVG heatmap (diverging colours about 0, label names on both axes, a colour legend). NORMALIZED (the default) shows N with its marks and clusters for the filter's threshold and normalization (those given to `LayerProbe.filters`, else METHOD.md's defaults); RAW shows M.",
  })
  svg(
    @Arg('view', () => HeatmapView, { defaultValue: HeatmapView.NORMALIZED }) view: HeatmapView,
  ): string {
    return renderHeatmap({
      values: this.values,
      labels: this.labels,
      title: this.title,
      view,
      threshold: this.threshold,
      normalization: this.normalization,
      silent: this.silent,
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
