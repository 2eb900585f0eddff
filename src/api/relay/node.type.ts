import { Field, ID, InterfaceType } from 'type-graphql';

/** Relay's Node: every object with a global id can be fetched with `node(id)`. */
@InterfaceType({ description: 'An object with a stable global id.' })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
