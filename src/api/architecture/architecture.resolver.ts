import { Arg, Args, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { badInput, notFound } from '../errors.js';
import { PageArgs, toPage, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import { type BlockInput, CreateArchitectureInput } from './architecture.input.js';
import type { ArchitectureService } from './architecture.service.js';
import { Architecture, ArchitectureConnection, Layer } from './architecture.type.js';

@Resolver(() => Architecture)
export class ArchitectureResolver {
  constructor(private readonly service: ArchitectureService) {}

  @Query(() => ArchitectureConnection, { description: 'Every architecture, oldest first.' })
  architectures(@Args() page: PageArgs): Promise<ConnectionShape<Architecture>> {
    return this.service.findMany(toPage(page));
  }

  @Query(() => Architecture, {
    nullable: true,
    description: 'One architecture, by `id` or by `name`.',
  })
  architecture(
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('name', () => String, { nullable: true }) name?: string,
  ): Promise<Architecture | null> {
    if ((id == null) === (name == null))
      throw badInput('id', id ?? null, 'give exactly one of id and name');
    return id != null
      ? this.service.findOne(decodeIntId(id, 'Architecture', 'id'))
      : this.service.findByName(name as string);
  }

  @FieldResolver(() => [Layer], { description: 'Layers in order, the implicit classifier last.' })
  layers(@Root() architecture: Architecture): Promise<Layer[]> {
    return this.service.layersOf(architecture.key);
  }

  @Mutation(() => Architecture, {
    description: 'Validates and stores an architecture; nothing is stored on error.',
  })
  createArchitecture(
    @Arg('input', () => CreateArchitectureInput) input: CreateArchitectureInput,
  ): Promise<Architecture> {
    return this.service.create({ ...input, blocks: input.blocks?.map(specBlock) });
  }

  @Mutation(() => ID, {
    description: 'Deletes a user architecture and its layers; returns its id.',
  })
  async deleteArchitecture(@Arg('id', () => ID) id: string): Promise<string> {
    await this.service.delete(decodeIntId(id, 'Architecture', 'id'), id);
    return id;
  }
}

@Resolver(() => Layer)
export class LayerResolver {
  constructor(private readonly service: ArchitectureService) {}

  @FieldResolver(() => Architecture)
  async architecture(@Root() layer: Layer): Promise<Architecture> {
    const found = await this.service.findOne(layer.architectureKey);
    if (!found) throw notFound('Architecture', String(layer.architectureKey));
    return found;
  }
}

/** A block as the spec takes it: `explicitPadding` becomes the spec's object `padding`. */
function specBlock(block: BlockInput, index: number): Record<string, unknown> {
  const { explicitPadding, ...rest } = block;
  if (explicitPadding === undefined || explicitPadding === null) return { ...rest };
  if (rest.padding !== undefined && rest.padding !== null)
    throw badInput(
      `input.blocks[${index}].explicitPadding`,
      { ...explicitPadding },
      `cannot be given with padding ${rest.padding}: give one of the two`,
    );
  return { ...rest, padding: { ...explicitPadding } };
}
