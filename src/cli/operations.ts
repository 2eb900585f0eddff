/**
 * The GraphQL operations `filterscope reproduce` sends, and the shapes of their answers (as in
 * schema.graphql). Connections are paged with `first: PAGE` and `after`.
 */

/** Largest page the API serves. */
export const PAGE = 200;

export type Status = 'QUEUED' | 'RUNNING' | 'CANCELLING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const FINAL_STATUSES: readonly Status[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ArchitectureSummary {
  id: string;
  name: string;
  preset: boolean;
  inputShape: number[];
  labels: number;
  spec: Record<string, unknown>;
}
const ARCH_FIELDS = 'id name preset inputShape labels spec';

export const DATASETS = `query Datasets { datasets { name available inputShape labels labelNames trainSize testSize location missingFiles searched } }`;
export interface Dataset {
  name: string;
  available: boolean;
  inputShape: number[];
  labels: number;
  labelNames: string[];
  trainSize: number;
  testSize: number;
  location: string | null;
  missingFiles: string[];
  searched: string[];
}

export const ARCHITECTURES = `query Architectures($after: String) { architectures(first: ${PAGE}, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { ${ARCH_FIELDS} } } }`;
export const ARCHITECTURE_BY_NAME = `query ArchitectureByName($name: String!) { architecture(name: $name) { ${ARCH_FIELDS} } }`;
export const NODE_ARCHITECTURE = `query ArchitectureById($id: ID!) { node(id: $id) { __typename ... on Architecture { ${ARCH_FIELDS} } } }`;
export const CREATE_ARCHITECTURE = `mutation CreateArchitecture($input: CreateArchitectureInput!) { createArchitecture(input: $input) { ${ARCH_FIELDS} } }`;

export const START_TRAINING = `mutation StartTraining($input: StartTrainingInput!) { startTraining(input: $input) { id status epochs } }`;
export const START_PROBE = `mutation StartProbe($input: StartProbeInput!) { startProbe(input: $input) { id status layerNames } }`;

export interface EpochMetric {
  epoch: number;
  trainLoss: number;
  trainSR: number;
  testLoss: number;
  testSR: number;
  learningRate: number;
  wallSeconds: number;
}
const METRIC_FIELDS = 'epoch trainLoss trainSR testLoss testSR learningRate wallSeconds';

export interface RunDetails {
  id: string;
  status: Status;
  dataset: string;
  datasetOptions: Record<string, unknown>;
  epoch: number;
  /** Null for an imported run (it was trained elsewhere). */
  epochs: number | null;
  backend: string | null;
  device: string | null;
  threads: number | null;
  trainExamples: number | null;
  testExamples: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  finalTestSR: number | null;
  bestTestSR: number | null;
  keepCheckpoints: number;
  /** Null for an imported run. */
  hyperparameters: (Record<string, unknown> & { maxTrainExamples: number | null }) | null;
  origin: 'TRAINED' | 'IMPORTED';
  imported: { fileName: string; format: string; sizeBytes: number; sha256: string } | null;
  architecture: {
    id: string;
    name: string;
    inputShape: number[];
    labels: number;
    parameterCount: number;
    flops: number;
    layers: { name: string; kind: string; filters: number | null; outputShape: number[] }[];
  };
  metrics: EpochMetric[];
}
export const RUN = `query Run($id: ID!) { run(id: $id) { id status dataset datasetOptions epoch epochs backend device
  threads trainExamples testExamples error createdAt startedAt finishedAt finalTestSR bestTestSR keepCheckpoints
  origin imported { fileName format sizeBytes sha256 }
  hyperparameters { epochs batchSize learningRate momentum nesterov weightDecay augmentation seed maxTrainExamples
    maxTestExamples schedule { kind warmupEpochs milestones factor } }
  architecture { id name inputShape labels parameterCount flops layers { name kind filters outputShape } }
  metrics { ${METRIC_FIELDS} } } }`;

export interface TrainingEvent {
  sequence: number;
  type: 'STATUS' | 'STEP' | 'EPOCH' | 'CHECKPOINT';
  at: string;
  status: Status | null;
  backend: string | null;
  device: string | null;
  error: string | null;
  epoch: number | null;
  finalTestSR: number | null;
  metrics: EpochMetric | null;
  step: { epoch: number; batch: number; batches: number; loss: number } | null;
}
export const TRAINING_PROGRESS = `subscription TrainingProgress($runId: ID!, $after: Int) {
  trainingProgress(runId: $runId, afterSequence: $after) { sequence type at status backend device error
    epoch finalTestSR metrics { ${METRIC_FIELDS} } step { epoch batch batches loss } } }`;

export interface ProbeEvent {
  sequence: number;
  type: 'STATUS' | 'HEAD_EPOCH' | 'LAYER_SR' | 'FILTERS' | 'LAYER_DONE' | 'FEATURES';
  at: string;
  status: Status | null;
  layer: string | null;
  epoch: number | null;
  testSR: number | null;
  trainLoss: number | null;
  successRate: number | null;
  filterIndices: number[] | null;
  error: string | null;
  /** FEATURES: the frozen pass over a split ('train' or 'test'), images done of total. */
  split?: string | null;
  done?: number | null;
  total?: number | null;
  imagesPerSecond?: number | null;
}
export const PROBE_PROGRESS = `subscription ProbeProgress($probeId: ID!, $after: Int) {
  probeProgress(probeId: $probeId, afterSequence: $after) { sequence type at status layer epoch testSR
    trainLoss successRate filterIndices error split done total imagesPerSecond } }`;

export interface Afcc {
  keptFraction: number;
  kept: number;
  total: number;
  srBefore: number;
  srAfter: number;
}
export interface LayerDetails {
  id: string;
  layerName: string;
  complete: boolean;
  successRate: number | null;
  probePointShape: number[] | null;
  meanClusterSize: number | null;
  meanClustersPerFilter: number | null;
  clusteredFraction: number | null;
  meanNoise: number | null;
  snr: number | null;
  silentFilters: number | null;
  afcc: Afcc | null;
  history: { epoch: number; trainLoss: number; testSR: number; learningRate: number | null }[];
  layer: { filters: number | null };
  /** The spread over the probe's replicate heads; null for a probe stored before replicates. */
  replicates: {
    replicates: number;
    successRate: Spread;
    snr: Spread;
    meanNoise: Spread;
    meanClustersPerFilter: Spread;
  } | null;
}
export interface Spread {
  mean: number | null;
  std: number | null;
  values: (number | null)[];
}
const SPREAD = 'mean std values';
export interface ProbeDetails {
  id: string;
  status: Status;
  options: Record<string, unknown>;
  layerNames: string[];
  backend: string | null;
  device: string | null;
  forwardCalls: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  run: { id: string };
  layers: LayerDetails[];
}
export const PROBE = `query Probe($id: ID!) { probe(id: $id) { id status options layerNames backend device forwardCalls
  error createdAt startedAt finishedAt run { id }
  layers { id layerName complete successRate probePointShape meanClusterSize meanClustersPerFilter
    clusteredFraction meanNoise snr silentFilters afcc { keptFraction kept total srBefore srAfter }
    history { epoch trainLoss testSR learningRate } layer { filters }
    replicates { replicates successRate { ${SPREAD} } snr { ${SPREAD} } meanNoise { ${SPREAD} }
      meanClustersPerFilter { ${SPREAD} } } } } }`;

export interface FilterRow {
  id: string;
  index: number;
  scale: number;
  silent: boolean;
  preferredLabel: number;
  preference: number;
  clusters: { labels: number[]; names: string[] }[];
  signal: number;
  noise: number;
  snr: number | null;
  noiseFree: boolean;
  ablation: number;
  correlation: { rows: number[][] };
}
export const LAYER_FILTERS = `query LayerFilters($id: ID!, $after: String) { node(id: $id) { ... on LayerProbe {
  filters(first: ${PAGE}, after: $after, orderBy: INDEX) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id index scale silent preferredLabel preference clusters { labels names } signal noise snr
      noiseFree ablation correlation { rows } } } } } }`;

export const LABEL_NAMES = `query LabelNames($id: ID!) { node(id: $id) { ... on LayerProbe {
  filters(first: 1) { nodes { correlation { labels } } } } } }`;

/** Each filter's heatmap in both views (README.md#heatmaps). */
export const HEATMAPS = `query Heatmaps($ids: [ID!]!) { nodes(ids: $ids) { id ... on FilterResult { index
  correlation { svg: svg(view: NORMALIZED) raw: svg(view: RAW) } } } }`;
