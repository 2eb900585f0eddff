import { Field, Int, ObjectType } from 'type-graphql';
import type { DatasetAvailability } from '../../data/catalog.js';
import { proceduralLabelNames } from '../../data/procedural.js';
import { Node } from '../relay/node.type.js';
import { toGlobalId } from '../relay/global-id.js';

@ObjectType({
  implements: Node,
  description: 'Something this server can train on, and whether its files are here.',
})
export class Dataset extends Node {
  @Field({ description: '`procedural`, `fashion-mnist`, `mnist`, `cifar-10`, `cifar-100`.' })
  name!: string;

  @Field()
  title!: string;

  @Field({ description: '`procedural`, `idx` or `cifar`.' })
  source!: string;

  @Field(() => [Int], { description: '[height, width, channels].' })
  inputShape!: number[];

  @Field(() => Int, { description: 'Number of labels.' })
  labels!: number;

  @Field(() => [String])
  labelNames!: string[];

  @Field(() => Int)
  trainSize!: number;

  @Field(() => Int)
  testSize!: number;

  @Field({ description: 'True when every file is present (always for `procedural`).' })
  available!: boolean;

  @Field(() => String, { nullable: true, description: 'Folder where the files were found.' })
  location!: string | null;

  @Field(() => [String], { description: 'Required files that were not found.' })
  missingFiles!: string[];

  @Field(() => [String], { description: 'Folders searched, in order.' })
  searched!: string[];

  static from(entry: DatasetAvailability, searched: readonly string[]): Dataset {
    return Object.assign(new Dataset(), {
      id: toGlobalId('Dataset', entry.name),
      name: entry.name,
      title: entry.title,
      source: entry.source,
      inputShape: [...entry.inputShape],
      labels: entry.labelNames.length,
      labelNames:
        entry.source === 'procedural'
          ? proceduralLabelNames(entry.labelNames.length)
          : [...entry.labelNames],
      trainSize: entry.trainSize,
      testSize: entry.testSize,
      available: entry.available,
      location: entry.location,
      missingFiles: [...entry.missingFiles],
      searched: entry.source === 'procedural' ? [] : [...searched],
    });
  }
}
