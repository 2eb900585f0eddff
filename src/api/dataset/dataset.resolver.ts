import { Arg, Query, Resolver } from 'type-graphql';
import type { DatasetService } from './dataset.service.js';
import { Dataset } from './dataset.type.js';

@Resolver(() => Dataset)
export class DatasetResolver {
  constructor(private readonly service: DatasetService) {}

  @Query(() => [Dataset], {
    description: 'Every dataset this server knows, with `available` telling which it can use now.',
  })
  datasets(): Dataset[] {
    return this.service.findMany();
  }

  @Query(() => Dataset, { nullable: true })
  dataset(@Arg('name', () => String) name: string): Dataset | null {
    return this.service.findByName(name);
  }
}
