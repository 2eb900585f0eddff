import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { ArchitectureSpec } from '../../architecture/spec.js';

/** One row per architecture; `spec` is the validated plain-JSON spec. */
export const architectures = pgTable('architectures', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull().unique(),
  description: text('description'),
  spec: jsonb('spec').$type<ArchitectureSpec>().notNull(),
  preset: boolean('preset').notNull().default(false),
  labels: integer('labels').notNull(),
  inputShape: jsonb('input_shape').$type<number[]>().notNull(),
  parameterCount: bigint('parameter_count', { mode: 'number' }).notNull(),
  flops: bigint('flops', { mode: 'number' }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** The resolved layers of an architecture, derived from its spec at creation. */
export const layers = pgTable(
  'layers',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    architectureId: integer('architecture_id')
      .notNull()
      .references(() => architectures.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    filters: integer('filters'),
    kernelSize: integer('kernel_size'),
    inputShape: jsonb('input_shape').$type<number[]>().notNull(),
    outputShape: jsonb('output_shape').$type<number[]>().notNull(),
    parameterCount: bigint('parameter_count', { mode: 'number' }).notNull(),
    flops: bigint('flops', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('layers_architecture_index').on(t.architectureId, t.index),
    index('layers_architecture').on(t.architectureId),
  ],
);

export type ArchitectureRow = typeof architectures.$inferSelect;
export type LayerRow = typeof layers.$inferSelect;
