import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { AnyPayload } from '../../contract/events.js';

/**
 * Everything a client can watch, as rows: one per event, numbered per topic. A NOTIFY carries
 * only `topic:sequence`; listeners read the rows, and subscribers replay from `afterSequence`.
 */
export const events = pgTable(
  'events',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    topic: text('topic').notNull(),
    sequence: integer('sequence').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').$type<AnyPayload>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('events_topic_sequence').on(t.topic, t.sequence),
    index('events_created').on(t.createdAt),
  ],
);

/** The last sequence number of each topic; its row lock serialises writers of one topic. */
export const eventTopics = pgTable('event_topics', {
  topic: text('topic').primaryKey(),
  lastSequence: integer('last_sequence').notNull(),
});

export type EventRow = typeof events.$inferSelect;
