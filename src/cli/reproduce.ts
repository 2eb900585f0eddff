import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './args.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded.js';
import {
  fetchDataset,
  fetchFilters,
  fetchHeatmaps,
  fetchLabelNames,
  fetchProbe,
  fetchRun,
} from './fetch.js';
import { GraphQLClient, GraphQLRequestError, endpointOf } from './graphql-client.js';
import type { FilterRow } from './operations.js';
import {
  PhaseFailure,
  followProbe,
  followTraining,
  startProbe,
  startTraining,
  type Progressing,
  type StreamStats,
} from './phases.js';
import { planFromArgs, type ReproducePlan } from './plan.js';
import { Progress, progressModeFor, type ProgressStream } from './progress.js';
import { writeReport } from './report.js';
import { REPRODUCE_USAGE } from './usage.js';

export interface ReproduceIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Resolves when the user interrupts (SIGINT); default: never. */
  readonly interrupted?: Promise<void>;
}

class Interrupted extends Error {}

const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? 'n/a' : v.toFixed(digits);

/** Runs what the plan asks for against `client` and writes the report; returns its folder. */
async function reproduce(
  client: GraphQLClient,
  plan: ReproducePlan,
  progress: Progress,
  ids: Progressing,
  command: { argv: readonly string[]; startedAt: string; server: string; embedded: boolean },
): Promise<string> {
  const stream: StreamStats = { training: null, probe: null };
  if (plan.mode === 'probe') {
    const probe = await fetchProbe(client, plan.probeId!);
    ids.probeId = probe.id;
    ids.runId = probe.run.id;
  } else if (plan.mode === 'run') {
    ids.runId = plan.runId;
  } else {
    ids.runId = await startTraining(client, plan, progress);
  }
  const trained = await followTraining(client, plan, progress, ids.runId!);
  stream.training = trained.stats;
  ids.probeId ??= await startProbe(client, plan, progress, trained.run);
  stream.probe = await followProbe(client, plan, progress, ids.probeId, trained.run);
  progress.clear();
  progress.note('writing the report');

  const run = await fetchRun(client, ids.runId!);
  const probe = await fetchProbe(client, ids.probeId);
  const filters = new Map<string, FilterRow[]>();
  for (const layer of probe.layers)
    filters.set(layer.layerName, await fetchFilters(client, layer.id));
  const labelNames = probe.layers[0] ? await fetchLabelNames(client, probe.layers[0].id) : [];
  const heatmaps = await fetchHeatmaps(client, filters, plan.heatmaps);
  const dataset = await fetchDataset(client, run.dataset);
  const folder = resolve(plan.out ?? join('reports', `${run.id}-${probe.id}`));
  rmSync(join(folder, 'heatmaps'), { recursive: true, force: true });
  writeReport(folder, {
    command: { ...command, finishedAt: new Date().toISOString() },
    run,
    probe,
    dataset,
    labelNames,
    filters,
    heatmaps,
    stream: stream as unknown as Record<string, unknown>,
  });
  progress.note(`final test SR ${fmt(run.finalTestSR)}; SR per layer:`);
  for (const l of probe.layers)
    progress.note(
      `  ${l.layerName.padEnd(8)} SR ${fmt(l.successRate)}  SNR ${fmt(l.snr, 2)}  noise/filter ${fmt(l.meanNoise, 2)}  silent ${l.silentFilters ?? '?'}/${filters.get(l.layerName)?.length ?? '?'}`,
    );
  return folder;
}

/** `filterscope reproduce [options]`; resolves with the exit status. */
export async function reproduceCommand(argv: readonly string[], io: ReproduceIo): Promise<number> {
  const { stderr } = io;
  let plan: ReproducePlan;
  try {
    plan = planFromArgs(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr.write(
      `filterscope reproduce: ${error.message}\n(filterscope reproduce --help lists the options)\n`,
    );
    return 2;
  }
  if (plan.help) {
    io.stdout.write(REPRODUCE_USAGE);
    return 0;
  }
  const progress = new Progress(stderr, progressModeFor(stderr, plan.progress));
  const ids: Progressing = { runId: null, probeId: null };
  const startedAt = new Date().toISOString();
  // Set inside `work`, closed in `finally` whether the work ended, failed or was interrupted.
  const server: { embedded: EmbeddedServer | null } = { embedded: null };
  const interrupted = (io.interrupted ?? new Promise<never>(() => undefined)).then(() => {
    throw new Interrupted('interrupted');
  });
  const work = (async () => {
    if (plan.url === null) {
      progress.note('starting an embedded server (FILTERSCOPE_HOME / DATABASE_URL as for serve)');
      const embedded = await startEmbeddedServer(io.env, (line) => progress.note(line));
      server.embedded = embedded;
      progress.note(`embedded server on ${embedded.url}, database ${embedded.database}`);
    }
    const url = plan.url ?? server.embedded!.url;
    let lastNotice = 0;
    const client = new GraphQLClient(endpointOf(url, plan.apiKey), {
      retryForMs: plan.retryForMs,
      onRetry: ({ operation, reason }) => {
        if (Date.now() - lastNotice < 10_000) return;
        lastNotice = Date.now();
        progress.note(`waiting for ${url} (${reason}) to send ${operation}`);
      },
    });
    return reproduce(client, plan, progress, ids, {
      argv,
      startedAt,
      server: url,
      embedded: plan.url === null,
    });
  })();
  try {
    const folder = await Promise.race([work, interrupted]);
    io.stdout.write(`${folder}\n`);
    return 0;
  } catch (error) {
    progress.stop();
    const say = (text: string) => stderr.write(`filterscope reproduce: ${text}\n`);
    if (error instanceof Interrupted) {
      const resume = ids.probeId
        ? `--probe ${ids.probeId}`
        : ids.runId
          ? `--run ${ids.runId}`
          : null;
      say(
        `interrupted${resume ? `; ${plan.url ? 'the server goes on with it' : 'the job goes back to the queue'}: resume with ${resume}` : ''}`,
      );
      return 130;
    }
    if (error instanceof UsageError) {
      say(error.message);
      return 2;
    }
    if (error instanceof GraphQLRequestError) {
      say(`${error.operation}: ${error.message} (${error.code ?? 'no code'})`);
      return 1;
    }
    if (error instanceof PhaseFailure) {
      say(error.message);
      return 1;
    }
    say((error as Error).message ?? String(error));
    return 1;
  } finally {
    work.catch(() => undefined);
    await server.embedded?.close().catch(() => undefined);
  }
}
