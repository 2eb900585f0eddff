import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { RESOLVERS } from './container.js';
import type { GraphQLContext } from './context.js';

let cached: GraphQLSchema | null = null;

/** The executable schema (built once per process; resolvers come from each request's container). */
export function buildAppSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [...RESOLVERS],
    validate: false,
    // type-graphql insists on a PubSub when there are subscriptions; ours never publish to it:
    // each subscription streams from the database-backed EventBus through its own `subscribe`.
    pubSub: createPubSub(),
    container: ({ context }: { context: GraphQLContext }) => context.container,
  });
  return cached;
}

/** The SDL committed as schema.graphql: sorted so that it is stable. */
export function printAppSchema(schema: GraphQLSchema = buildAppSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
