import { eq } from 'drizzle-orm';
import { RUNS_TOPIC, runTopic } from '../../contract/events.js';
import {
  checkImportRequest,
  type ImportRecord,
  type ImportRequest,
} from '../../contract/imports.js';
import { appendEvent } from '../../events/bus.js';
import type { ImportJob, ThreadReply } from '../../interop/import-messages.js';
import { completeCheckpoint, writeCheckpointChunks } from '../../jobs/checkpoint-store.js';
import { JobQueue } from '../../jobs/queue.js';
import type { Store } from '../../store/db.js';
import { architectures, trainingRuns } from '../../store/schema/index.js';
import {
  insertArchitecture,
  type ArchitectureService,
} from '../architecture/architecture.service.js';
import { Architecture } from '../architecture/architecture.type.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import { enqueueLaunch } from '../enqueue.js';
import { badInput, conflict, enteringContract, rateLimited } from '../errors.js';
import { TrainingRun } from '../run/training-run.type.js';

/** An import checked before its files are read: what the import thread needs, and the request. */
export interface PreparedImport {
  readonly request: ImportRequest;
  readonly job: ImportJob;
}

/**
 * Networks trained elsewhere: the upload's request is checked before its files are read
 * (`prepare`), the files are parsed in an import thread (interop/), and a network that passed
 * becomes an architecture and an IMPORTED run, with its weights as an epoch-0 checkpoint and an
 * evaluate job that measures its test SR (`store`).
 */
export class ImportService {
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly architectures: ArchitectureService,
    private readonly limits: { readonly maxQueuedJobs: number },
  ) {}

  /**
   * Checks the request (fields named under `input.`) before any file is read: the name is free,
   * the dataset usable, the key's queue has room.
   */
  async prepare(input: unknown, requestedBy: string): Promise<PreparedImport> {
    const request = enteringContract('input', () => checkImportRequest(input));
    const queued = await JobQueue.queuedBy(this.store.db, requestedBy);
    if (queued >= this.limits.maxQueuedJobs)
      throw rateLimited(
        `${requestedBy} already has ${queued} queued jobs (the limit per key is ${this.limits.maxQueuedJobs}): wait for some to start or cancel them`,
        { limit: this.limits.maxQueuedJobs, queued },
      );
    const resolved = this.datasets.resolve(request.dataset, request.datasetOptions, 'input');
    if (
      request.maxTestExamples !== undefined &&
      request.maxTestExamples !== null &&
      request.maxTestExamples > resolved.testSize
    )
      throw badInput(
        'input.maxTestExamples',
        request.maxTestExamples,
        `must be at most the dataset's ${resolved.testSize} test examples`,
      );
    if (await this.architectures.findByName(request.name)) throw nameTaken(request.name);
    return {
      request,
      job: {
        name: request.name,
        dataset: {
          name: resolved.dataset.name,
          options: resolved.options,
          inputShape: resolved.inputShape,
          labels: resolved.labels,
          roots: this.datasets.searchRoots,
        },
        input: request.input ?? null,
        labelMapping: request.labelMapping ?? null,
      },
    };
  }

  /**
   * Stores an imported network: its architecture and its run (IMPORTED, QUEUED) first, then its
   * checkpoint in chunks, then the evaluate job and the QUEUED events. A failure part-way
   * removes what was stored: an import is stored whole or not at all.
   */
  async save(
    prepared: PreparedImport,
    network: Extract<ThreadReply, { type: 'done' }>,
    requestedBy: string,
  ): Promise<{ run: TrainingRun; architecture: Architecture }> {
    const { request, job } = prepared;
    const record: ImportRecord = {
      fileName: network.fileName,
      format: network.format,
      sizeBytes: network.sizeBytes,
      sha256: network.sha256,
      normalizationFrom: network.normalizationFrom,
      input: request.input ?? null,
      labelMapping: request.labelMapping ?? null,
      maxTestExamples: request.maxTestExamples ?? null,
      notes: network.notes,
    };
    const stored = await this.store.db.transaction(async (tx) => {
      const arch = await insertArchitecture(tx, network.spec, false);
      if (!arch) throw nameTaken(network.spec.name);
      const [run] = await tx
        .insert(trainingRuns)
        .values({
          architectureId: arch.id,
          // The import's name (its architecture's) titles the run; `updateRun` may change it.
          name: job.name,
          dataset: job.dataset.name,
          datasetOptions: job.dataset.options,
          origin: 'IMPORTED',
          imported: record,
          hyperparameters: null,
          epochs: null,
          keepCheckpoints: 1,
        })
        .returning();
      return { arch, run: run! };
    });
    const runId = stored.run.id;
    try {
      const checkpointId = await writeCheckpointChunks(this.store, runId, 0, network.checkpoint);
      await this.store.db.transaction(async (tx) => {
        await completeCheckpoint(tx, runId, checkpointId, 1);
        await enqueueLaunch(
          tx,
          { kind: 'evaluate', runId, maxAttempts: 3, requestedBy },
          this.limits.maxQueuedJobs,
        );
        await appendEvent(tx, runTopic(runId), 'status', { status: 'QUEUED' });
        await appendEvent(tx, RUNS_TOPIC, 'status', { runId, status: 'QUEUED' });
      });
    } catch (error) {
      await this.store.db.transaction(async (tx) => {
        await tx.delete(trainingRuns).where(eq(trainingRuns.id, runId));
        await tx.delete(architectures).where(eq(architectures.id, stored.arch.id));
      });
      throw error;
    }
    const [run] = await this.store.db.select().from(trainingRuns).where(eq(trainingRuns.id, runId));
    return { run: TrainingRun.fromRow(run!), architecture: Architecture.fromRow(stored.arch) };
  }
}

const nameTaken = (name: string) =>
  conflict(`input.name: ${JSON.stringify(name)} is already taken by another architecture`, {
    field: 'input.name',
    value: name,
  });
