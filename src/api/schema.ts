import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { ArchitectureResolver, LayerResolver } from './architecture/architecture.resolver.js';
import { DatasetResolver } from './dataset/dataset.resolver.js';
import { NodeResolver } from './node/node.resolver.js';
import type { ContainerType } from 'type-graphql';
import type { Services } from './services.js';
import { TrainingRunResolver } from './run/training-run.resolver.js';
import {
  FilterResultResolver,
  LayerProbeResolver,
  ProbeLayerResolver,
  ProbeResolver,
  ProbeRunResolver,
} from './probe/probe.resolver.js';

/** Per-request context: the container that holds this server's resolvers, and its services. */
export interface GraphQLContext {
  readonly container: ContainerType;
  readonly services: Services;
  /** Who asks: the API key's name and role (`anonymous`/write when no keys are configured). */
  readonly principal: { readonly name: string; readonly role: 'read' | 'write' };
  /** The HTTP request's id (x-request-id), or the WebSocket connection's id: for logs. */
  readonly requestId: string;
}

let cached: GraphQLSchema | null = null;

/** The executable schema (built once per process; resolvers come from each request's container). */
export function buildAppSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [
      NodeResolver,
      ArchitectureResolver,
      LayerResolver,
      DatasetResolver,
      TrainingRunResolver,
      ProbeResolver,
      LayerProbeResolver,
      FilterResultResolver,
      ProbeRunResolver,
      ProbeLayerResolver,
    ],
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
