import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { ArchitectureResolver, LayerResolver } from './architecture/architecture.resolver.js';
import { DatasetResolver } from './dataset/dataset.resolver.js';
import { NodeResolver } from './node/node.resolver.js';
import type { ContainerType } from 'type-graphql';

/** Per-request context: the container that holds this server's resolvers. */
export interface GraphQLContext {
  readonly container: ContainerType;
}

let cached: GraphQLSchema | null = null;

/** The executable schema (built once per process; resolvers come from each request's container). */
export function buildAppSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [NodeResolver, ArchitectureResolver, LayerResolver, DatasetResolver],
    validate: false,
    container: ({ context }: { context: GraphQLContext }) => context.container,
  });
  return cached;
}

/** The SDL committed as schema.graphql: sorted so that it is stable. */
export function printAppSchema(schema: GraphQLSchema = buildAppSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
