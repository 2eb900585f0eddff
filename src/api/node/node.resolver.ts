import { Arg, ID, Query, Resolver } from 'type-graphql';
import { badInput } from '../errors.js';
import { Node } from '../relay/node.type.js';
import type { NodeService } from './node.service.js';

const MAX_IDS = 200;

@Resolver()
export class NodeResolver {
  constructor(private readonly service: NodeService) {}

  @Query(() => Node, {
    nullable: true,
    description: 'Any object by its global id; null when it does not exist.',
  })
  node(@Arg('id', () => ID) id: string): Promise<Node | null> {
    return this.service.findOne(id);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: `Objects by global id, in order (at most ${MAX_IDS}).`,
  })
  nodes(@Arg('ids', () => [ID]) ids: string[]): Promise<(Node | null)[]> {
    if (ids.length > MAX_IDS)
      throw badInput('ids', `${ids.length} ids`, `must list at most ${MAX_IDS} ids`);
    return this.service.findMany(ids);
  }
}
