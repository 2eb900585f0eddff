import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { ProbeEvents, StoredEvent } from '../../contract/events.js';
import { RunStatus } from '../run/training-run.type.js';
import { FilterSummary } from './filter.type.js';
import { ProbeEventType } from './probe.type.js';

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
  @Field(() => String, { nullable: true, description: 'FEATURES: `train` or `test`.' })
  split!: string | null;
  @Field(() => Int, { nullable: true, description: 'FEATURES: examples of the split done.' })
  done!: number | null;
  @Field(() => Int, { nullable: true, description: 'FEATURES: examples in the split.' })
  total!: number | null;
  @Field(() => Float, { nullable: true, description: 'FEATURES: frozen-pass examples per second.' })
  imagesPerSecond!: number | null;
  @Field(() => String, { nullable: true, description: 'CANCELLING and CANCELLED: why.' })
  reason!: string | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'CANCELLED by request while running: batches that finished after the cancel was committed (the one in progress then counts), 0 or 1 when the probe stopped within a batch.',
  })
  batchesAfterCancel!: number | null;

  /** The one mapping of a stored probe event to its GraphQL form. */
  static from(event: StoredEvent<ProbeEvents>, probeId: string): ProbeEvent {
    const base = Object.assign(new ProbeEvent(), {
      sequence: event.sequence,
      probeId,
      type: event.type as ProbeEventType,
      at: event.at,
      status: null,
      layer: null,
      epoch: null,
      testSR: null,
      trainLoss: null,
      successRate: null,
      filterIndices: null,
      filters: null,
      error: null,
      reason: null,
      batchesAfterCancel: null,
      split: null,
      done: null,
      total: null,
      imagesPerSecond: null,
    });
    switch (event.type) {
      case 'status': {
        const p = event.payload;
        return Object.assign(base, {
          status: p.status as RunStatus,
          error: p.error ?? null,
          reason: p.reason ?? null,
          batchesAfterCancel: p.batchesAfterCancel ?? null,
        });
      }
      case 'headEpoch': {
        const p = event.payload;
        return Object.assign(base, {
          layer: p.layer,
          epoch: p.epoch,
          testSR: p.testSR,
          trainLoss: p.trainLoss,
        });
      }
      case 'layerSR':
        return Object.assign(base, {
          layer: event.payload.layer,
          successRate: event.payload.successRate,
        });
      case 'filters':
        return Object.assign(base, {
          layer: event.payload.layer,
          filterIndices: [...event.payload.indices],
          filters: event.payload.filters.map((f) => Object.assign(new FilterSummary(), f)),
        });
      case 'layerDone':
        return Object.assign(base, { layer: event.payload.layer });
      case 'features':
        return Object.assign(base, { ...event.payload });
    }
  }
}
