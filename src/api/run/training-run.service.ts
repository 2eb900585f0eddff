import { and, asc, count, desc, eq, lt, type SQL } from 'drizzle-orm';
import { downsampleIndices } from '../../analysis/downsample.js';
import { resolveProceduralOptions } from '../../data/procedural.js';
import { resolveHyperparameters } from '../../engine/hyperparameters.js';
import { scheduleIssues } from '../../engine/schedule.js';
import type { TrainHyperparametersInput } from '../../engine/protocol.js';
import { appendEvent, type EventBus, type StoredEvent } from '../../events/bus.js';
import { RUNS_TOPIC, runTopic } from '../../events/topics.js';
import { JobQueue } from '../../jobs/queue.js';
import { recordStatus } from '../../jobs/training-job.js';
import type { Store } from '../../store/db.js';
import {
  architectures,
  runMetrics,
  trainingRuns,
  type RunStatus,
} from '../../store/schema/index.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import { badInput, checkNumber, conflict, notFound } from '../errors.js';
import { toConnection, type ConnectionShape, type Page } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import type { StartTrainingInput } from './training-run.input.js';
import { EpochMetric, TrainingRun } from './training-run.type.js';

const TERMINAL: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Training runs: validation, queueing, cancellation and reads. */
export class TrainingRunService {
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly bus: EventBus,
    private readonly limits: { readonly maxQueuedJobs: number },
  ) {}

  async findOne(key: number): Promise<TrainingRun | null> {
    const [row] = await this.store.db.select().from(trainingRuns).where(eq(trainingRuns.id, key));
    return row ? TrainingRun.fromRow(row) : null;
  }

  async findMany(
    page: Page,
    filter: { status?: RunStatus; architectureKey?: number },
  ): Promise<ConnectionShape<TrainingRun>> {
    const conditions: SQL[] = [];
    if (filter.status) conditions.push(eq(trainingRuns.status, filter.status));
    if (filter.architectureKey)
      conditions.push(eq(trainingRuns.architectureId, filter.architectureKey));
    // Newest first: keys decrease, so the cursor bounds from above.
    const pageCondition = page.afterKey > 0 ? [lt(trainingRuns.id, page.afterKey)] : [];
    const rows = await this.store.db
      .select()
      .from(trainingRuns)
      .where(and(...conditions, ...pageCondition))
      .orderBy(desc(trainingRuns.id))
      .limit(page.first + 1);
    const [total] = await this.store.db
      .select({ n: count() })
      .from(trainingRuns)
      .where(and(...conditions));
    return toConnection(rows, page, (r) => r.id, TrainingRun.fromRow, Number(total?.n ?? 0));
  }

  /** Every epoch's metrics, or at most `downsample` of them keeping the first, last and extremes. */
  async metrics(runKey: number, downsample: number | null | undefined): Promise<EpochMetric[]> {
    const rows = await this.store.db
      .select()
      .from(runMetrics)
      .where(eq(runMetrics.runId, runKey))
      .orderBy(asc(runMetrics.epoch));
    if (downsample === undefined || downsample === null) return rows.map(EpochMetric.fromRow);
    if (!Number.isInteger(downsample) || downsample < 2)
      throw badInput('downsample', downsample, 'must be an integer >= 2');
    const series = [
      rows.map((r) => r.testSR),
      rows.map((r) => r.testLoss),
      rows.map((r) => r.trainSR),
      rows.map((r) => r.trainLoss),
    ];
    return downsampleIndices(series, rows.length, downsample).map((i) =>
      EpochMetric.fromRow(rows[i]!),
    );
  }

  /** Validates everything, then stores the run and queues its job in one transaction. */
  async start(input: StartTrainingInput, requestedBy = 'anonymous'): Promise<TrainingRun> {
    const archKey = decodeIntId(input.architectureId, 'Architecture', 'input.architectureId');
    const [arch] = await this.store.db
      .select()
      .from(architectures)
      .where(eq(architectures.id, archKey));
    if (!arch) throw notFound('Architecture', input.architectureId);
    const dataset = this.datasets.findByName(input.dataset);
    if (!dataset) {
      const names = this.datasets.findMany().map((d) => d.name);
      throw badInput(
        'input.dataset',
        input.dataset,
        `is not a known dataset (${names.join(', ')})`,
      );
    }
    if (!dataset.available) {
      throw badInput(
        'input.dataset',
        input.dataset,
        `is not available here: missing ${dataset.missingFiles.join(', ')} (searched ${dataset.searched.join(', ')})`,
      );
    }
    let datasetOptions: Record<string, unknown> = {};
    let shape = dataset.inputShape;
    let labels = dataset.labels;
    if (input.datasetOptions && dataset.name !== 'procedural') {
      throw badInput(
        'input.datasetOptions',
        { ...input.datasetOptions },
        `only the procedural dataset takes options, not ${dataset.name}`,
      );
    }
    if (dataset.name === 'procedural') {
      const given = Object.fromEntries(
        Object.entries(input.datasetOptions ?? {}).filter(([, v]) => v !== undefined && v !== null),
      );
      try {
        const resolved = resolveProceduralOptions(given);
        // The generator version is stored even when left out: a later version must not change
        // the data this run regenerates when it resumes or is probed.
        datasetOptions = { ...given, generatorVersion: resolved.generatorVersion };
        shape = [resolved.imageSize, resolved.imageSize, resolved.channels];
        labels = resolved.labels;
      } catch (error) {
        const message = (error as Error).message;
        const field = /: (\w+) must/.exec(message)?.[1] ?? 'datasetOptions';
        throw badInput(
          `input.datasetOptions.${field}`,
          (given as Record<string, unknown>)[field],
          message.replace(/^procedural dataset: \w+ /, '').replace(/, got .*$/, ''),
        );
      }
    }
    const archShape = arch.inputShape;
    if (archShape.join('x') !== shape.join('x')) {
      throw badInput(
        'input.architectureId',
        input.architectureId,
        `architecture ${JSON.stringify(arch.name)} takes ${archShape.join('x')} inputs but dataset ${dataset.name} has ${shape.join('x')}`,
      );
    }
    if (arch.labels !== labels) {
      throw badInput(
        'input.architectureId',
        input.architectureId,
        `architecture ${JSON.stringify(arch.name)} has ${arch.labels} labels but dataset ${dataset.name} has ${labels}`,
      );
    }
    const hp = this.validateHyperparameters(
      input,
      shape as [number, number, number],
      dataset.name === 'procedural'
        ? Number(datasetOptions.trainSize ?? dataset.trainSize)
        : dataset.trainSize,
      dataset.name === 'procedural'
        ? Number(datasetOptions.testSize ?? dataset.testSize)
        : dataset.testSize,
    );
    checkNumber('input.keepCheckpoints', input.keepCheckpoints, 1, 20, true);
    checkNumber('input.maxAttempts', input.maxAttempts, 1, 10, true);

    const row = await this.store.db.transaction(async (tx) => {
      const [run] = await tx
        .insert(trainingRuns)
        .values({
          architectureId: archKey,
          dataset: dataset.name,
          datasetOptions,
          hyperparameters: hp as unknown as Record<string, unknown>,
          epochs: hp.epochs,
          keepCheckpoints: input.keepCheckpoints ?? 2,
        })
        .returning();
      await JobQueue.enqueue(
        tx,
        { kind: 'train', runId: run!.id, maxAttempts: input.maxAttempts ?? 3, requestedBy },
        this.limits.maxQueuedJobs,
      );
      await appendEvent(tx, runTopic(run!.id), 'status', { status: 'QUEUED' });
      await appendEvent(tx, RUNS_TOPIC, 'status', { runId: run!.id, status: 'QUEUED' });
      return run!;
    });
    return TrainingRun.fromRow(row);
  }

  private validateHyperparameters(
    input: StartTrainingInput,
    shape: [number, number, number],
    trainSize: number,
    testSize: number,
  ) {
    const h = input.hyperparameters ?? {};
    const f = (name: string) => `input.hyperparameters.${name}`;
    checkNumber(f('epochs'), h.epochs, 1, 10_000, true);
    checkNumber(f('batchSize'), h.batchSize, 1, 8192, true);
    checkNumber(f('learningRate'), h.learningRate, 0, 10, false, true);
    checkNumber(f('momentum'), h.momentum, 0, 0.999999, false);
    checkNumber(f('weightDecay'), h.weightDecay, 0, 1, false);
    checkNumber(f('seed'), h.seed, 0, 0xffffffff, true);
    checkNumber(f('maxTrainExamples'), h.maxTrainExamples, 1, Math.max(1, trainSize), true);
    checkNumber(f('maxTestExamples'), h.maxTestExamples, 1, Math.max(1, testSize), true);
    const given = Object.fromEntries(
      Object.entries(h).filter(([, v]) => v !== undefined && v !== null),
    ) as Record<string, unknown>;
    if (h.schedule) {
      given.schedule = Object.fromEntries(
        Object.entries(h.schedule).filter(([, v]) => v !== undefined && v !== null),
      );
    }
    const resolved = resolveHyperparameters(given as TrainHyperparametersInput, shape);
    const [issue] = scheduleIssues(resolved.schedule, resolved.epochs);
    if (issue) throw badInput(f(`schedule.${issue.field}`), issue.value, issue.why);
    return resolved;
  }

  /** A queued run never starts; a running one stops at its next batch. Finished runs: CONFLICT. */
  async cancel(key: number, id: string): Promise<TrainingRun> {
    const run = await this.findOne(key);
    if (!run) throw notFound('TrainingRun', id);
    if (TERMINAL.includes(run.status))
      throw conflict(`run ${id} is already ${run.status} and cannot be cancelled`, {
        id,
        status: run.status,
      });
    await this.store.db.transaction(async (tx) => {
      if (await JobQueue.cancel(tx, { kind: 'train', runId: key }))
        await recordStatus(
          tx,
          key,
          'CANCELLED',
          { finishedAt: new Date() },
          { reason: 'cancelled before it started', epoch: run.epoch },
        );
    });
    return (await this.findOne(key))!;
  }

  /** Replays a run's events after `afterSequence`, then streams them live; ends after the run ends. */
  progress(runId: string, afterSequence: number | null | undefined): AsyncGenerator<StoredEvent> {
    const key = decodeIntId(runId, 'TrainingRun', 'runId');
    checkNumber('afterSequence', afterSequence ?? undefined, 0, 2 ** 31 - 1, true);
    return this.bus.subscribe(runTopic(key), {
      afterSequence: afterSequence ?? 0,
      until: (e) => e.type === 'status' && TERMINAL.includes(e.payload.status as RunStatus),
    });
  }

  /** The sequence of the latest `runUpdated` event (0 when there is none). */
  updatesSequence(): Promise<number> {
    return this.bus.lastSequence(RUNS_TOPIC);
  }

  /** Every run's status changes after `afterSequence` (default: only new ones). */
  async updates(afterSequence: number | null | undefined): Promise<AsyncGenerator<StoredEvent>> {
    checkNumber('afterSequence', afterSequence ?? undefined, 0, 2 ** 31 - 1, true);
    const after = afterSequence ?? (await this.bus.lastSequence(RUNS_TOPIC));
    return this.bus.subscribe(RUNS_TOPIC, { afterSequence: after });
  }
}
