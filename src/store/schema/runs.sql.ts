import { sql } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import type { DatasetOptions } from '../../contract/datasets.js';
import type { TrainHyperparameters } from '../../contract/hyperparameters.js';
import type { ImportRecord } from '../../contract/imports.js';
import type { RunStatus } from '../../contract/status.js';
import { architectures } from './architectures.sql.js';
import { bytea } from './bytea.js';

export type { RunStatus } from '../../contract/status.js';

/** Where a run's network comes from. */
export type RunOrigin = 'TRAINED' | 'IMPORTED';

/** Phase 1: one training run of an architecture on a dataset. */
export const trainingRuns = pgTable(
  'training_runs',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    architectureId: integer('architecture_id')
      .notNull()
      .references(() => architectures.id, { onDelete: 'restrict' }),
    /** A researcher's title, tags and notes (`updateRun` edits them); empty by default. */
    name: text('name').notNull().default(''),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    notes: text('notes').notNull().default(''),
    dataset: text('dataset').notNull(),
    datasetOptions: jsonb('dataset_options')
      .$type<DatasetOptions>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    /** TRAINED here, or IMPORTED from a file (then `imported` says which, and it has no hyperparameters or epochs). */
    origin: text('origin').$type<RunOrigin>().notNull().default('TRAINED'),
    imported: jsonb('imported').$type<ImportRecord>(),
    /** Every hyperparameter, resolved (defaults filled in) at creation; null for an imported run. */
    hyperparameters: jsonb('hyperparameters').$type<TrainHyperparameters>(),
    status: text('status').$type<RunStatus>().notNull().default('QUEUED'),
    /** Epochs to train; null for an imported run. */
    epochs: integer('epochs'),
    epochsDone: integer('epochs_done').notNull().default(0),
    keepCheckpoints: integer('keep_checkpoints').notNull().default(2),
    backend: text('backend'),
    device: text('device'),
    threads: integer('threads'),
    trainExamples: integer('train_examples'),
    testExamples: integer('test_examples'),
    bestTestSR: doublePrecision('best_test_sr'),
    finalTestSR: doublePrecision('final_test_sr'),
    error: text('error'),
    /** What a user should check (an imported network's SR near chance, and why it may be). */
    warnings: jsonb('warnings').$type<string[]>().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('training_runs_architecture').on(t.architectureId),
    index('training_runs_status').on(t.status),
  ],
);

/**
 * Training batches as the engine reports them (at most one a second, and each epoch's last), so
 * that a reload draws the same step-loss curve; `step` counts batches from the run's start.
 */
export const runSteps = pgTable(
  'run_steps',
  {
    runId: integer('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    step: integer('step').notNull(),
    epoch: integer('epoch').notNull(),
    batch: integer('batch').notNull(),
    loss: doublePrecision('loss').notNull(),
    /** Training images a second since the previous stored step of the same attempt; null for the first. */
    imagesPerSecond: doublePrecision('images_per_second'),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.step] })],
);

/** One row per finished epoch of a run: the primary key makes every epoch appear exactly once. */
export const runMetrics = pgTable(
  'run_metrics',
  {
    runId: integer('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    epoch: integer('epoch').notNull(),
    trainLoss: doublePrecision('train_loss').notNull(),
    trainSR: doublePrecision('train_sr').notNull(),
    testLoss: doublePrecision('test_loss').notNull(),
    testSR: doublePrecision('test_sr').notNull(),
    learningRate: doublePrecision('learning_rate').notNull(),
    wallSeconds: doublePrecision('wall_seconds').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.epoch] })],
);

/**
 * A checkpoint's bytes are stored in chunks so that writing a large one (VGG-16: ~120 MB) never
 * blocks the API's event loop for long; `complete` flips when the last chunk is in.
 */
export const checkpoints = pgTable(
  'checkpoints',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    runId: integer('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    epoch: integer('epoch').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    chunkCount: integer('chunk_count').notNull(),
    complete: boolean('complete').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('checkpoints_run').on(t.runId, t.epoch)],
);

export const checkpointChunks = pgTable(
  'checkpoint_chunks',
  {
    checkpointId: integer('checkpoint_id')
      .notNull()
      .references(() => checkpoints.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.checkpointId, t.index] })],
);

export type TrainingRunRow = typeof trainingRuns.$inferSelect;
export type RunMetricRow = typeof runMetrics.$inferSelect;
export type RunStepRow = typeof runSteps.$inferSelect;
