import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { RunStepRow } from '../../store/schema/index.js';

@ObjectType({
  description:
    'A training batch as the engine reported it (at most one a second, and the last batch of each epoch); stored, so a reload shows the same step-loss curve.',
})
export class RunStep {
  @Field(() => Int, { description: 'Batches trained since the run began, 1-based.' })
  step!: number;
  @Field(() => Int, { description: '1-based epoch.' }) epoch!: number;
  @Field(() => Int, { description: '1-based batch within the epoch.' }) batch!: number;
  @Field(() => Float, { description: 'Mean softmax cross-entropy of that batch.' }) loss!: number;
  @Field(() => Float, {
    nullable: true,
    description:
      "Training images a second since the previous stored step of the same attempt (test passes included); null for an attempt's first.",
  })
  imagesPerSecond!: number | null;
  @Field() at!: Date;

  static fromRow(row: RunStepRow): RunStep {
    return Object.assign(new RunStep(), {
      step: row.step,
      epoch: row.epoch,
      batch: row.batch,
      loss: row.loss,
      imagesPerSecond: row.imagesPerSecond,
      at: row.recordedAt,
    });
  }
}
