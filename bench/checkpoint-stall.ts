import { resolveHyperparameters } from '../src/contract/hyperparameters.js';
/**
 * How long the API's event loop stalls while a VGG-16-sized checkpoint (~120 MB) is written to
 * the embedded database, chunked (what the runner does) against one single row (the naive way).
 * Run: npm run bench:stall. Prints a table; the target is a worst stall under 200 ms.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { eq } from 'drizzle-orm';
import { ArchitectureService } from '../src/api/architecture/architecture.service.js';
import {
  writeCheckpointChunks,
  completeCheckpoint,
  loadLatestCheckpoint,
} from '../src/jobs/checkpoint-store.js';
import { openStore, pgliteDirOf } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { checkpointChunks, checkpoints, trainingRuns } from '../src/store/schema/index.js';

const SIZE = Number(process.env.STALL_BYTES ?? 120 * 1024 * 1024);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-stall-'));
  const store = await openStore({
    databaseUrl: process.env.DATABASE_URL || null,
    pgliteDir: pgliteDirOf(home),
  });
  await migrate(store);
  const arch = await new ArchitectureService(store, { maxParameters: 1e9 }).create({
    name: `stall-${Date.now()}`,
    inputShape: [8, 8, 1],
    labels: 3,
    blocks: [],
  });
  const [run] = await store.db
    .insert(trainingRuns)
    .values({
      architectureId: arch.key,
      dataset: 'procedural',
      hyperparameters: resolveHyperparameters({ epochs: 1 }, { inputShape: [8, 8, 1] }),
      epochs: 1,
    })
    .returning();
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;

  const rows: string[][] = [];
  const measure = async (name: string, work: () => Promise<void>) => {
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const started = performance.now();
    let failure: string | null = null;
    try {
      await work();
    } catch (error) {
      // PGlite cannot even serialise a 120 MB parameter: report it instead of dying.
      const cause = (error as { cause?: Error }).cause;
      failure = `fails: ${(cause ?? (error as Error)).message.split('\n')[0]!.slice(0, 60)}`;
    }
    const seconds = (performance.now() - started) / 1000;
    histogram.disable();
    rows.push([
      name,
      (SIZE / 1e6).toFixed(0),
      failure ?? seconds.toFixed(2),
      (histogram.percentile(50) / 1e6).toFixed(1),
      (histogram.percentile(99) / 1e6).toFixed(1),
      (histogram.max / 1e6).toFixed(1),
    ]);
  };

  await measure('chunked write (512 KiB rows)', async () => {
    const id = await writeCheckpointChunks(store, run!.id, 1, bytes);
    await store.db.transaction((tx) => completeCheckpoint(tx, run!.id, id, 2));
  });
  await measure('chunked read back', async () => {
    const loaded = await loadLatestCheckpoint(store, run!.id);
    if (loaded?.bytes.byteLength !== SIZE) throw new Error('read back a different size');
  });
  await measure('single-row bytea parameter (naive)', async () => {
    const [c] = await store.db
      .insert(checkpoints)
      .values({ runId: run!.id, epoch: 2, sizeBytes: SIZE, chunkCount: 1 })
      .returning();
    await store.db.insert(checkpointChunks).values({ checkpointId: c!.id, index: 0, bytes });
    await store.db.delete(checkpoints).where(eq(checkpoints.id, c!.id));
  });

  const header = ['operation', 'MB', 'seconds', 'stall p50 ms', 'stall p99 ms', 'stall max ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`event-loop stall while writing a checkpoint to ${store.kind}`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  await store.close();
  rmSync(home, { recursive: true, force: true });
}

void main();
