import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { layers } from './architectures.sql.js';
import { bytea } from './bytea.js';
import type { LayerAggregates } from '../../analysis/index.js';
import type {
  AfccSummary,
  HeadEpochMetrics,
  ProbeTimings,
  ReplicateSummary,
} from '../../contract/probe-events.js';
import type { ResolvedProbeOptions } from '../../contract/probe-options.js';
import type { ProbePoint } from '../../contract/probe-points.js';
import type { RunStatus } from '../../contract/status.js';
import { trainingRuns } from './runs.sql.js';

/** Phases 2 and 3 (METHOD.md) on a finished training run's last checkpoint. */
export const probes = pgTable(
  'probes',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    runId: integer('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    /** Probe options with every default filled in (`planProbe`). */
    options: jsonb('options').$type<ResolvedProbeOptions>().notNull(),
    /** Conv layer names probed, in network order. */
    layerNames: jsonb('layer_names').$type<string[]>().notNull(),
    status: text('status').$type<RunStatus>().notNull().default('QUEUED'),
    backend: text('backend'),
    device: text('device'),
    forwardCalls: integer('forward_calls'),
    /** Where the time went (features, heads, phase 3, AFCC) and how the frozen pass ran. */
    timings: jsonb('timings').$type<ProbeTimings>(),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('probes_run').on(t.runId)],
);

/** One probed conv layer of a probe: its head's SR (phase 2), aggregates and AFCC (phase 3). */
export const layerProbes = pgTable(
  'layer_probes',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    probeId: integer('probe_id')
      .notNull()
      .references(() => probes.id, { onDelete: 'cascade' }),
    layerId: integer('layer_id')
      .notNull()
      .references(() => layers.id, { onDelete: 'cascade' }),
    layerName: text('layer_name').notNull(),
    /**
     * Where the layer is read (`planProbe`): [h, w, F] and the poolings it includes. Probes
     * planned before 0.2 hold only `shape`, `extraPoolings` and `poolings`.
     */
    probePoint: jsonb('probe_point').$type<ProbePoint>(),
    /** Test SR of the head after its last epoch; null until phase 2 ends. */
    successRate: doublePrecision('success_rate'),
    /** One per head epoch so far. */
    history: jsonb('history').$type<HeadEpochMetrics[]>().notNull().default([]),
    /** Layer aggregates for the default parameters; null until the layer is done. */
    aggregates: jsonb('aggregates').$type<LayerAggregates>(),
    afcc: jsonb('afcc').$type<AfccSummary>(),
    /** SR(l), layer SNR and the aggregates over the probe's replicates; null until done. */
    replicates: jsonb('replicates').$type<ReplicateSummary>(),
    complete: boolean('complete').notNull().default(false),
  },
  (t) => [
    uniqueIndex('layer_probes_probe_layer').on(t.probeId, t.layerName),
    index('layer_probes_layer').on(t.layerId),
  ],
);

/**
 * One filter of a probed layer: its raw correlation matrix (C x C float32, little-endian, row
 * major) and the metrics for METHOD.md's default parameters, used for sorting and filtering.
 */
export const filterResults = pgTable(
  'filter_results',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    layerProbeId: integer('layer_probe_id')
      .notNull()
      .references(() => layerProbes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    labels: integer('labels').notNull(),
    matrix: bytea('matrix').notNull(),
    scale: doublePrecision('scale').notNull(),
    silent: boolean('silent').notNull(),
    preferredLabel: integer('preferred_label').notNull(),
    preference: doublePrecision('preference').notNull(),
    clusters: jsonb('clusters').$type<number[][]>().notNull(),
    signal: integer('signal').notNull(),
    noise: integer('noise').notNull(),
    snr: doublePrecision('snr'),
    noiseFree: boolean('noise_free').notNull(),
    ablation: doublePrecision('ablation').notNull(),
  },
  (t) => [
    uniqueIndex('filter_results_layer_index').on(t.layerProbeId, t.index),
    index('filter_results_snr').on(t.layerProbeId, t.snr),
  ],
);

export type ProbeRow = typeof probes.$inferSelect;
export type LayerProbeRow = typeof layerProbes.$inferSelect;
export type FilterResultRow = typeof filterResults.$inferSelect;
