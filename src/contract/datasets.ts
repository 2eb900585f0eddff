import type { CifarLabelKind } from '../data/cifar.js';
import type { ProceduralOptions } from '../data/procedural.js';

/**
 * A dataset's options as a run stores them and the engine's loader reads them: the procedural
 * dataset's parameters as the client gave them (defaults are the generator's), or CIFAR-100's
 * label kind. Plain JSON.
 */
export interface DatasetOptions extends ProceduralOptions {
  readonly cifar100Labels?: CifarLabelKind;
}
