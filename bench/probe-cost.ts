/**
 * What sharing the frozen network's forward pass saves: probing every conv layer of VGG-6 in one
 * `probe()` (all heads fed by one pass per batch) against one `probe()` per layer, both without
 * the feature cache so that every epoch runs the network, in the same process and run.
 * Run: npm run bench:probe. Prints a table.
 */
import { vgg6 } from '../src/architecture/presets.js';
import { generateProcedural } from '../src/data/procedural.js';
import { initBackend } from '../src/engine/backend.js';
import { resolveHyperparameters } from '../src/contract/hyperparameters.js';
import { planProbe } from '../src/contract/probe-options.js';
import { probe } from '../src/engine/probe.js';
import { MessageType, type OutboundMessage } from '../src/contract/protocol.js';
import { train } from '../src/engine/train.js';

async function main(): Promise<void> {
  const backend = await initBackend((process.env.FILTERSCOPE_BACKEND as never) ?? 'auto');
  const spec = vgg6('VGG-6/28x28x1', [28, 28, 1], 10);
  const dataset = generateProcedural({
    imageSize: 28,
    channels: 1,
    labels: 10,
    trainSize: 512,
    testSize: 256,
    seed: 3,
  });
  // One short epoch gives a real checkpoint; a probe's cost does not depend on how well it trained.
  let checkpoint: Uint8Array | null = null;
  await train(
    {
      architecture: spec,
      dataset: { name: 'procedural' },
      hyperparameters: resolveHyperparameters({ epochs: 1, batchSize: 64 }, dataset),
    },
    dataset,
    {
      post: (m: OutboundMessage) => {
        if (m.type === MessageType.Checkpoint) checkpoint = m.bytes;
      },
      onMessage: () => () => undefined,
    },
    { backend },
  );
  const layers = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'];
  const options = { headEpochs: 2, featureCacheBytes: 0, batchSize: 64 };
  const run = async (names: string[]) => {
    const started = performance.now();
    const result = await probe(
      checkpoint!,
      dataset,
      planProbe({ ...options, layers: names }, { spec }),
      () => undefined,
    );
    return { seconds: (performance.now() - started) / 1000, forwardCalls: result.forwardCalls };
  };
  const shared = await run(layers);
  let separateSeconds = 0;
  let separateCalls = 0;
  for (const layer of layers) {
    const r = await run([layer]);
    separateSeconds += r.seconds;
    separateCalls += r.forwardCalls;
  }
  console.log(
    `probe cost, VGG-6 28x28x1, 5 conv layers, 512/256 examples, 2 head epochs, no feature cache, ${backend.device}`,
  );
  console.log('| strategy | forward calls | seconds |');
  console.log('| --- | --- | --- |');
  console.log(
    `| one shared pass for all layers | ${shared.forwardCalls} | ${shared.seconds.toFixed(1)} |`,
  );
  console.log(`| one probe per layer | ${separateCalls} | ${separateSeconds.toFixed(1)} |`);
  console.log(
    `ratio (per layer / shared): ${(separateSeconds / shared.seconds).toFixed(2)}x time, ${(separateCalls / shared.forwardCalls).toFixed(2)}x forward calls`,
  );
}

void main();
