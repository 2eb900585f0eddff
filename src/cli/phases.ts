import { UsageError } from './args.js';
import { resolveArchitecture } from './architecture.js';
import { fetchProbe, fetchRun } from './fetch.js';
import type { GraphQLClient } from './graphql-client.js';
import {
  DATASETS,
  FINAL_STATUSES,
  PROBE_PROGRESS,
  START_PROBE,
  START_TRAINING,
  TRAINING_PROGRESS,
  type Dataset,
  type ProbeEvent,
  type RunDetails,
  type Status,
  type TrainingEvent,
} from './operations.js';
import { probeInputFor, trainingInputFor, type ReproducePlan } from './plan.js';
import type { Progress } from './progress.js';
import { followSubscription, type FollowResult } from './subscriptions.js';
import { ProbeWatch, TrainingWatch } from './watch.js';

/** A run or probe that ended other than SUCCEEDED (exit status 1). */
export class PhaseFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhaseFailure';
  }
}

/** Ids as they become known, so that an interrupted command can say how to resume. */
export interface Progressing {
  runId: string | null;
  probeId: string | null;
}

export interface StreamStats {
  training: (Omit<FollowResult<unknown>, 'final'> & { epochEvents: number[] }) | null;
  probe: Omit<FollowResult<unknown>, 'final'> | null;
}

const isFinal = (e: { type: string; status: Status | null }) =>
  e.type === 'STATUS' && e.status !== null && FINAL_STATUSES.includes(e.status);

function streamCallbacks(progress: Progress, what: string) {
  return {
    onDisconnect: ({
      attempt,
      reason,
      after,
    }: {
      attempt: number;
      reason: string;
      after: number;
    }) => {
      if (attempt === 0 || attempt % 10 === 0)
        progress.note(`lost the ${what} stream (${reason}); resubscribing after event ${after}`);
    },
    onReconnect: ({ after }: { after: number }) =>
      progress.note(`reconnected: ${what} resumes after event ${after}`),
  };
}

/** Phase 1: checks the dataset, resolves the architecture, starts training. Returns the run id. */
export async function startTraining(
  client: GraphQLClient,
  plan: ReproducePlan,
  progress: Progress,
): Promise<string> {
  const { datasets } = await client.request<{ datasets: Dataset[] }>('datasets', DATASETS);
  const dataset = datasets.find((d) => d.name === plan.dataset);
  if (!dataset)
    throw new UsageError(
      `--dataset: unknown dataset ${JSON.stringify(plan.dataset)} (known: ${datasets.map((d) => d.name).join(', ')})`,
    );
  if (!dataset.available)
    throw new Error(
      `dataset ${dataset.name} is not available on the server: missing ${dataset.missingFiles.join(', ')} (searched ${dataset.searched.join(', ')}). Put its files under FILTERSCOPE_DATA${dataset.name === 'fashion-mnist' ? ', or apt-get install dataset-fashion-mnist' : ''}`,
    );
  const f = plan.flags;
  const side = (f['image-size'] as number | undefined) ?? dataset.inputShape[0]!;
  const shape =
    dataset.name === 'procedural'
      ? [side, side, (f.channels as number | undefined) ?? dataset.inputShape[2]!]
      : dataset.inputShape;
  const labels =
    dataset.name === 'procedural'
      ? ((f.labels as number | undefined) ?? dataset.labels)
      : dataset.labels;
  const arch = await resolveArchitecture(client, plan.arch, shape, labels, (l) => progress.note(l));
  const input = { architectureId: arch.id, ...trainingInputFor(plan) };
  const { startTraining } = await client.request<{ startTraining: { id: string; epochs: number } }>(
    'startTraining',
    START_TRAINING,
    { input },
  );
  progress.note(
    `phase 1: run ${startTraining.id} queued: ${arch.name} on ${dataset.name}, ${startTraining.epochs} epochs`,
  );
  return startTraining.id;
}

/** Follows a run to its end (at once when it has ended); throws PhaseFailure unless SUCCEEDED. */
export async function followTraining(
  client: GraphQLClient,
  plan: ReproducePlan,
  progress: Progress,
  runId: string,
): Promise<{ run: RunDetails; stats: StreamStats['training'] }> {
  let run = await fetchRun(client, runId);
  let stats: StreamStats['training'] = null;
  if (!FINAL_STATUSES.includes(run.status)) {
    const watch = new TrainingWatch(progress, run.epochs ?? 0, {
      batchSize: (run.hyperparameters?.batchSize as number | undefined) ?? null,
      trainExamples: run.trainExamples ?? run.hyperparameters?.maxTrainExamples ?? null,
    });
    const result = await followSubscription<TrainingEvent>({
      endpoint: client.endpoint,
      query: TRAINING_PROGRESS,
      variables: { runId },
      field: 'trainingProgress',
      isFinal,
      onEvent: (e) => watch.onEvent(e),
      retryForMs: plan.retryForMs,
      ...streamCallbacks(progress, 'training'),
    });
    const { final: _final, ...rest } = result;
    stats = { ...rest, epochEvents: watch.epochEvents };
    run = await fetchRun(client, runId);
  }
  if (run.status !== 'SUCCEEDED')
    throw new PhaseFailure(
      `training run ${runId} ended ${run.status}${run.error ? `: ${run.error}` : ''}`,
    );
  return { run, stats };
}

/** Phases 2 and 3: starts the probe. Returns its id. */
export async function startProbe(
  client: GraphQLClient,
  plan: ReproducePlan,
  progress: Progress,
  run: RunDetails,
): Promise<string> {
  const input = probeInputFor(plan, {
    id: run.id,
    dataset: run.dataset,
    maxTrainExamples: run.hyperparameters?.maxTrainExamples ?? null,
  });
  const { startProbe } = await client.request<{ startProbe: { id: string; layerNames: string[] } }>(
    'startProbe',
    START_PROBE,
    { input },
  );
  progress.note(`phases 2+3: probe ${startProbe.id} queued: ${startProbe.layerNames.join(', ')}`);
  return startProbe.id;
}

/** Follows a probe to its end; throws PhaseFailure unless SUCCEEDED. */
export async function followProbe(
  client: GraphQLClient,
  plan: ReproducePlan,
  progress: Progress,
  probeId: string,
  run: RunDetails,
): Promise<StreamStats['probe']> {
  const probe = await fetchProbe(client, probeId);
  let stats: StreamStats['probe'] = null;
  let status = probe.status;
  if (!FINAL_STATUSES.includes(status)) {
    const totals = new Map(run.architecture.layers.map((l) => [l.name, l.filters ?? 0]));
    const watch = new ProbeWatch(
      progress,
      probe.layerNames,
      totals,
      Number(probe.options.headEpochs ?? 0),
    );
    const result = await followSubscription<ProbeEvent>({
      endpoint: client.endpoint,
      query: PROBE_PROGRESS,
      variables: { probeId },
      field: 'probeProgress',
      isFinal,
      onEvent: (e) => watch.onEvent(e),
      retryForMs: plan.retryForMs,
      ...streamCallbacks(progress, 'probe'),
    });
    const { final, ...rest } = result;
    stats = rest;
    status = final.status ?? status;
  }
  if (status !== 'SUCCEEDED') {
    const ended = await fetchProbe(client, probeId);
    throw new PhaseFailure(
      `probe ${probeId} ended ${ended.status}${ended.error ? `: ${ended.error}` : ''}`,
    );
  }
  return stats;
}
