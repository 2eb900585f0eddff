import {
  DEFAULT_DATASET,
  DEFAULT_HEATMAPS,
  DEFAULT_RETRY_SECONDS,
  QUICK_DEFAULTS,
} from './plan.js';

const fashion = QUICK_DEFAULTS['fashion-mnist']!;

/** `filterscope reproduce --help`. */
export const REPRODUCE_USAGE = `usage: filterscope reproduce [options]

Runs the three phases of docs/METHOD.md through the GraphQL API: trains a CNN (phase 1),
trains a readout head on every conv layer (phase 2: SR per layer) and computes every filter's
correlation matrix, clusters, noise and SNR (phase 3), then writes a report folder.
Progress goes to stderr; the report folder's path to stdout.

Server
  --url <url>               GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. Without it an
                            embedded server runs in this process (FILTERSCOPE_HOME or DATABASE_URL
                            as for \`serve\`, a free port, at least 1 runner) and stops at the end
  --api-key <key>           sent as "Authorization: Bearer <key>" over HTTP and WebSocket
                            (default: $FILTERSCOPE_API_KEY)
  --retry-for <seconds>     keep retrying while the server is unreachable (default ${DEFAULT_RETRY_SECONDS})

What to run
  --dataset <name>          fashion-mnist, mnist, cifar-10, cifar-100 or procedural
                            (default ${DEFAULT_DATASET})
  --arch <arch>             a preset name (VGG-6/28x28x1, VGG-16/CIFAR-10...), an architecture id,
                            a JSON file holding createArchitecture's input, or that JSON inline
                            (default: the VGG-6 preset that fits the dataset)
  --run <id>                skip phase 1: probe this run (one still training is followed first)
  --probe <id>              start nothing: follow this probe and write its report

Data
  --train <n>               training examples: the first n of a file dataset, or the procedural
                            dataset's trainSize (fashion-mnist, mnist: ${fashion.train}; others: all)
  --test <n>                a file dataset's first n test examples, for phase 1's test SR and
                            the probe (fashion-mnist, mnist: ${fashion.test}), or the procedural
                            dataset's testSize
  --image-size <px>  --channels <1|3>  --labels <n>  --data-seed <n>
                            procedural dataset options (server defaults 32, 3, 10, 1)

Phase 1: training (left out: the server's defaults, docs/METHOD.md)
  --epochs <n>              fashion-mnist, mnist: ${fashion.epochs}; others: 30
  --batch-size <n>          128
  --lr <rate>               peak learning rate, 0.05
  --momentum <m>            0.9          --nesterov            off
  --weight-decay <w>        5e-4
  --schedule <kind>         cosine (default), step or constant
  --warmup <epochs>         linear warm-up epochs, 0
  --milestones <e,e,...>    --schedule step: 0-based epochs where the rate is multiplied
  --factor <f>              --schedule step: the multiplier, 0.1
  --augmentation <a>        crop-flip or none (default: crop-flip for colour, none for grey)
  --seed <n>                1
  --keep-checkpoints <n>    2            --max-attempts <n>    3

Phases 2 and 3: probing
  --layers <conv1,conv2>    conv layers to probe (default: every conv layer)
  --head-epochs <n>         fashion-mnist, mnist: ${fashion.headEpochs}; others: 10
  --head-lr <rate>          0.01 (cosine-decayed)
  --head-momentum <m>       0.9          --head-weight-decay <w>   5e-4
  --head-batch-size <n>     128          --max-features <n>        32768
  --no-after-pooling        read each layer before the pooling that follows it
  --probe-train <n>         head training examples (default: those of the run)
  --probe-test <n>          test examples (default: --test for file datasets, else all)
  --probe-seed <n>          0

Report
  --out <folder>            default ./reports/<run id>-<probe id>
  --heatmaps <n>            label-matrix heatmaps of the n best and n worst filters of each
                            layer by SNR (default ${DEFAULT_HEATMAPS})
  --no-progress             no progress on stderr (when stderr is not a terminal, progress is
                            plain lines, at most one every 5 s besides epoch and layer ends)
  -h, --help                this text

With the defaults, fashion-mnist on VGG-6/28x28x1 trains ${fashion.epochs} epochs on ${fashion.train} examples and
probes with ${fashion.headEpochs} head epochs: about 10 minutes on 2 CPU cores with the wasm backend
(measured: 5.9 min training, 3.3 min probing, final test SR 0.773).

Exit status: 0 done; 1 a GraphQL error (its message and code are printed), a failed run or
probe, or a server unreachable for --retry-for seconds; 2 bad arguments; 130 interrupted (the
run or probe goes on on a --url server: resume with --run <id> or --probe <id>).

Example
  filterscope reproduce --dataset fashion-mnist --out reports/fashion
`;
