/**
 * All three phases of METHOD.md for VGG-6 on Fashion-MNIST, on the engine directly (no server):
 * train, probe every conv layer, print the per-layer table. A stepping stone for the API-driven
 * `filterscope reproduce`; flags size the run to the time you have.
 *
 *   npm run reproduce:fashion -- --train 6000 --test 2000 --epochs 3 --head-epochs 5
 */
import { parseArgs } from 'node:util';
import { vgg6 } from '../src/architecture/presets.js';
import { dataRoots } from '../src/data/catalog.js';
import { loadDataset } from '../src/data/load.js';
import { initBackend } from '../src/engine/backend.js';
import type { EnginePort } from '../src/engine/port.js';
import { MessageType, type OutboundMessage } from '../src/contract/protocol.js';
import { resolveHyperparameters } from '../src/contract/hyperparameters.js';
import { planProbe } from '../src/contract/probe-options.js';
import { probe } from '../src/engine/probe.js';
import { train } from '../src/engine/train.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      train: { type: 'string', default: '6000' },
      test: { type: 'string', default: '2000' },
      epochs: { type: 'string', default: '3' },
      'head-epochs': { type: 'string', default: '5' },
      batch: { type: 'string', default: '128' },
      backend: { type: 'string', default: process.env.FILTERSCOPE_BACKEND ?? 'auto' },
    },
  });
  const started = Date.now();
  const backend = await initBackend(values.backend as never);
  const dataset = loadDataset('fashion-mnist', {
    roots: dataRoots(process.env.FILTERSCOPE_DATA),
    maxTrain: Number(values.train),
    maxTest: Number(values.test),
  });
  console.log(
    `backend ${backend.name} (${backend.device}); fashion-mnist ${dataset.train.count} train / ${dataset.test.count} test`,
  );

  let checkpoint: Uint8Array | null = null;
  const port: EnginePort = {
    post(message: OutboundMessage) {
      if (message.type === MessageType.Epoch) {
        const m = message.metrics;
        console.log(
          `phase 1 epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(3)} SR ${m.trainSR.toFixed(3)}, test SR ${m.testSR.toFixed(3)}, lr ${m.learningRate.toFixed(4)}, ${m.wallSeconds.toFixed(0)} s`,
        );
      }
      if (message.type === MessageType.Checkpoint) checkpoint = message.bytes;
    },
    onMessage: () => () => undefined,
  };
  const spec = vgg6('VGG-6/28x28x1', [28, 28, 1], 10);
  const trained = await train(
    {
      architecture: spec,
      dataset: { name: 'fashion-mnist' },
      hyperparameters: resolveHyperparameters(
        { epochs: Number(values.epochs), batchSize: Number(values.batch) },
        dataset,
      ),
    },
    dataset,
    port,
    { backend },
  );
  console.log(
    `phase 1 done: ${JSON.stringify({ status: trained.status })} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );

  const result = await probe(
    checkpoint!,
    dataset,
    planProbe({ headEpochs: Number(values['head-epochs']) }, { spec }),
    (event) => {
      if (event.type === 'layerSR')
        console.log(`phase 2 ${event.layer}: SR ${event.successRate.toFixed(3)}`);
    },
  );
  const fmt = (v: number | null, digits = 2) => (v === null ? 'n/a' : v.toFixed(digits));
  console.log('');
  console.log(
    '| layer | probe point | SR | mean cluster size | clusters/filter | silent | noise/filter | SNR | AFCC kept | AFCC SR before | AFCC SR after |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const l of result.layers) {
    const a = l.aggregates;
    console.log(
      `| ${l.layer} | ${l.probePoint.shape.join('x')} | ${l.successRate.toFixed(3)} | ${fmt(a.meanClusterSize)} | ${fmt(a.meanClustersPerFilter)} | ${a.silentFilters}/${a.filters} | ${fmt(a.meanNoise)} | ${fmt(a.snr)} | ${(l.afcc.keptFraction * 100).toFixed(1)}% | ${l.afcc.srBefore.toFixed(3)} | ${l.afcc.srAfter.toFixed(3)} |`,
    );
  }
  console.log(
    `\nforward calls ${result.forwardCalls}, features cached ${result.featuresCached}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

void main();
