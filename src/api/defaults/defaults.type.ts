import { Field, Float, ObjectType } from 'type-graphql';
import { NormalizationKind } from '../probe/probe.type.js';
import { RunStatus } from '../run/training-run.type.js';

@ObjectType({
  description:
    "The server's defaults that clients otherwise copy: phase 3's metric parameters (the arguments of `LayerProbe.filters` left out) and which statuses are final. See docs/METHOD.md#phase-3-one-filter-at-a-time.",
})
export class Defaults {
  @Field(() => Float, { description: 'A mark is a normalised entry >= threshold.' })
  threshold!: number;
  @Field(() => NormalizationKind) normalization!: NormalizationKind;
  @Field(() => Float, { description: 'Filters with scale < minScale are silent.' })
  minScale!: number;
  @Field(() => [RunStatus], {
    description: 'Statuses after which a run or a probe never changes (its streams complete).',
  })
  finalStatuses!: RunStatus[];
}
