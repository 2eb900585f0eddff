import { and, asc, count, desc, eq, lt } from 'drizzle-orm';
import { downsampleIndices } from '../../analysis/downsample.js';
import {
  RUNS_TOPIC,
  runTopic,
  type RunEvents,
  type RunsEvents,
  type StoredEvent,
} from '../../contract/events.js';
import { resolveHyperparameters } from '../../contract/hyperparameters.js';
import { isFinal } from '../../contract/status.js';
import { appendEvent, type EventBus } from '../../events/bus.js';
import { loadLatestCheckpoint } from '../../jobs/checkpoint-store.js';
import { recordRunStatus } from '../../jobs/status.js';
import { exportInThread } from '../../interop/export-session.js';
import type { ModelFormat } from '../../contract/imports.js';
import type { Store } from '../../store/db.js';
import { architectures, runMetrics, runSteps, trainingRuns } from '../../store/schema/index.js';
import { cancelSubject } from '../cancel.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import { enqueueLaunch } from '../enqueue.js';
import { badInput, checkRange, conflict, enteringContract, notFound } from '../errors.js';
import { followTopic } from '../stream.js';
import { toConnection, type ConnectionShape, type Page } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import { runConditions, type RunQuery } from './run-filter.js';
import { checkRunLabels } from './run-labels.js';
import { RunStep } from './run-step.type.js';
import type { StartTrainingInput, UpdateRunInput } from './training-run.input.js';
import { EpochMetric, TrainingRun } from './training-run.type.js';

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

  async findMany(page: Page, filter: RunQuery): Promise<ConnectionShape<TrainingRun>> {
    const conditions = runConditions(this.store, filter);
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

  /** The run's stored training steps in order, or at most `downsample` keeping the extremes. */
  async steps(runKey: number, downsample: number | null | undefined): Promise<RunStep[]> {
    const rows = await this.store.db
      .select()
      .from(runSteps)
      .where(eq(runSteps.runId, runKey))
      .orderBy(asc(runSteps.step));
    if (downsample === undefined || downsample === null) return rows.map(RunStep.fromRow);
    if (!Number.isInteger(downsample) || downsample < 2)
      throw badInput('downsample', downsample, 'must be an integer >= 2');
    return downsampleIndices([rows.map((r) => r.loss)], rows.length, downsample).map((i) =>
      RunStep.fromRow(rows[i]!),
    );
  }

  /**
   * Sets a run's name, tags and notes (each left out stays); NOT_FOUND for an unknown run,
   * BAD_USER_INPUT naming `input.<field>` for a value `checkRunLabels` refuses.
   */
  async update(id: string, input: UpdateRunInput): Promise<TrainingRun> {
    const key = decodeIntId(id, 'TrainingRun', 'id');
    const labels = checkRunLabels(input, 'input');
    const [row] =
      Object.keys(labels).length === 0
        ? await this.store.db.select().from(trainingRuns).where(eq(trainingRuns.id, key))
        : await this.store.db
            .update(trainingRuns)
            .set(labels)
            .where(eq(trainingRuns.id, key))
            .returning();
    if (!row) throw notFound('TrainingRun', id);
    return TrainingRun.fromRow(row);
  }

  /** Validates everything, then stores the run and queues its job in one transaction. */
  async start(input: StartTrainingInput, requestedBy = 'anonymous'): Promise<TrainingRun> {
    const archKey = decodeIntId(input.architectureId, 'Architecture', 'input.architectureId');
    const [arch] = await this.store.db
      .select()
      .from(architectures)
      .where(eq(architectures.id, archKey));
    if (!arch) throw notFound('Architecture', input.architectureId);
    const {
      dataset,
      options: datasetOptions,
      inputShape: shape,
      labels,
      trainSize,
      testSize,
    } = this.datasets.resolve(input.dataset, input.datasetOptions, 'input');
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
    const hp = enteringContract('input.hyperparameters', () =>
      resolveHyperparameters(input.hyperparameters, {
        inputShape: shape,
        trainSize,
        testSize,
      }),
    );
    checkRange('input.keepCheckpoints', input.keepCheckpoints, { min: 1, max: 20, integer: true });
    checkRange('input.maxAttempts', input.maxAttempts, { min: 1, max: 10, integer: true });
    const runLabels = checkRunLabels(input, 'input');

    const row = await this.store.db.transaction(async (tx) => {
      const [run] = await tx
        .insert(trainingRuns)
        .values({
          architectureId: archKey,
          ...runLabels,
          dataset: dataset.name,
          datasetOptions,
          hyperparameters: hp,
          epochs: hp.epochs,
          keepCheckpoints: input.keepCheckpoints ?? 2,
        })
        .returning();
      await enqueueLaunch(
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

  /**
   * A queued run ends CANCELLED at once; a running one is CANCELLING until its engine stops, at
   * the end of the batch in progress, keeping the checkpoint of its last completed epoch. A
   * second cancel answers the same CANCELLING run; a finished run is a CONFLICT.
   */
  cancel(key: number, id: string): Promise<TrainingRun> {
    return cancelSubject(this.store, {
      noun: 'run',
      typeName: 'TrainingRun',
      id,
      job: { kind: 'train', runId: key },
      find: () => this.findOne(key),
      lockedStatus: async (tx) => {
        const [row] = await tx
          .select({ status: trainingRuns.status })
          .from(trainingRuns)
          .where(eq(trainingRuns.id, key))
          .for('update');
        return row?.status;
      },
      record: (tx, status, fields, payload) => recordRunStatus(tx, key, status, fields, payload),
      queuedPayload: (run) => ({ epoch: run.epoch }),
    });
  }

  /**
   * Replays a run's events after `afterSequence`, then streams them live; ends after the run
   * ends. NOT_FOUND for a run that does not exist; see `followTopic` for `afterSequence`.
   */
  async progress(
    runId: string,
    afterSequence: number | null | undefined,
  ): Promise<AsyncGenerator<StoredEvent<RunEvents>>> {
    const key = decodeIntId(runId, 'TrainingRun', 'runId');
    if (!(await this.findOne(key))) throw notFound('TrainingRun', runId);
    return followTopic(this.bus, runTopic(key), {
      afterSequence,
      defaultAfter: 'start',
      finished: async () => isFinal((await this.findOne(key))!.status),
      until: (e) => e.type === 'status' && isFinal(e.payload.status),
    });
  }

  /** The sequence of the latest `runUpdated` event (0 when there is none). */
  updatesSequence(): Promise<number> {
    return this.bus.lastSequence(RUNS_TOPIC);
  }

  /** Every run's status changes after `afterSequence` (default: only new ones). */
  updates(
    afterSequence: number | null | undefined,
  ): Promise<AsyncGenerator<StoredEvent<RunsEvents>>> {
    return followTopic(this.bus, RUNS_TOPIC, { afterSequence, defaultAfter: 'present' });
  }

  /**
   * A SUCCEEDED run's network as model files (`model.onnx`, or TensorFlow.js' `model.json` and
   * `weights.bin`), converted from its last checkpoint in a thread. NOT_FOUND for an unknown run,
   * CONFLICT for one that has not succeeded.
   */
  async exportModel(id: string, format: ModelFormat): Promise<Record<string, Uint8Array>> {
    const key = decodeIntId(id, 'TrainingRun', 'id');
    const [run] = await this.store.db.select().from(trainingRuns).where(eq(trainingRuns.id, key));
    if (!run) throw notFound('TrainingRun', id);
    const checkpoint =
      run.status === 'SUCCEEDED' ? await loadLatestCheckpoint(this.store, key) : null;
    if (!checkpoint)
      throw conflict(`run ${id} is ${run.status}: only a SUCCEEDED run can be exported`, {
        id,
        status: run.status,
      });
    return exportInThread({
      format,
      checkpoint: checkpoint.bytes,
      labelNames: this.datasets.labelNames(run.dataset, run.datasetOptions),
    });
  }
}
