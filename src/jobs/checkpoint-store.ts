import { and, asc, desc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Db, Store } from '../store/db.js';
import { checkpointChunks, checkpoints } from '../store/schema/index.js';

/** Rows of at most this many bytes: each write is short, so the event loop is never held long. */
export const CHUNK_BYTES = 1 << 17;

/**
 * Writes a checkpoint's bytes as chunks, one statement each, yielding to the event loop in
 * between; the checkpoint stays incomplete (invisible to resume) until `completeCheckpoint` runs
 * in the transaction that records its epoch.
 */
export async function writeCheckpointChunks(
  store: Store,
  runId: number,
  epoch: number,
  bytes: Uint8Array,
): Promise<number> {
  const chunkCount = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES));
  const [row] = await store.db
    .insert(checkpoints)
    .values({ runId, epoch, sizeBytes: bytes.byteLength, chunkCount })
    .returning({ id: checkpoints.id });
  const id = row!.id;
  for (let index = 0; index < chunkCount; index++) {
    const part = bytes.subarray(
      index * CHUNK_BYTES,
      Math.min(bytes.byteLength, (index + 1) * CHUNK_BYTES),
    );
    // Sent as base64 text and decoded by the database: PGlite serialises a bytea parameter
    // ~14x slower (about 0.5 s per MiB, all of it on the event loop); see bench/checkpoint-stall.ts.
    const base64 = Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64');
    await store.db.execute(
      sql`insert into ${checkpointChunks} (checkpoint_id, index, bytes) values (${id}, ${index}, decode(${base64}, 'base64'))`,
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
  return id;
}

/** Marks a checkpoint complete and deletes the run's older ones beyond `keep`. In a transaction. */
export async function completeCheckpoint(
  tx: Db,
  runId: number,
  checkpointId: number,
  keep: number,
): Promise<void> {
  await tx.update(checkpoints).set({ complete: true }).where(eq(checkpoints.id, checkpointId));
  const kept = await tx
    .select({ id: checkpoints.id })
    .from(checkpoints)
    .where(and(eq(checkpoints.runId, runId), eq(checkpoints.complete, true)))
    .orderBy(desc(checkpoints.epoch), desc(checkpoints.id))
    .limit(keep);
  await tx.delete(checkpoints).where(
    and(
      eq(checkpoints.runId, runId),
      notInArray(
        checkpoints.id,
        kept.map((k) => k.id),
      ),
    ),
  );
}

/** The newest complete checkpoint of a run, reassembled, or null. */
export async function loadLatestCheckpoint(
  store: Store,
  runId: number,
): Promise<{ epoch: number; bytes: Uint8Array } | null> {
  const [latest] = await store.db
    .select()
    .from(checkpoints)
    .where(and(eq(checkpoints.runId, runId), eq(checkpoints.complete, true)))
    .orderBy(desc(checkpoints.epoch), desc(checkpoints.id))
    .limit(1);
  if (!latest) return null;
  const bytes = new Uint8Array(latest.sizeBytes);
  let offset = 0;
  for (let index = 0; index < latest.chunkCount; index++) {
    const [chunk] = await store.rows<{ data: string }>(
      sql`select encode(bytes, 'base64') as data from ${checkpointChunks} where checkpoint_id = ${latest.id} and index = ${index}`,
    );
    if (!chunk)
      throw new Error(
        `checkpoint ${latest.id} of run ${runId} (epoch ${latest.epoch}) misses chunk ${index}`,
      );
    const part = Buffer.from(chunk.data, 'base64');
    if (offset + part.byteLength > bytes.byteLength) {
      throw new Error(
        `checkpoint ${latest.id} of run ${runId} has more bytes than its recorded ${latest.sizeBytes}`,
      );
    }
    bytes.set(part, offset);
    offset += part.byteLength;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (offset !== latest.sizeBytes) {
    throw new Error(
      `checkpoint ${latest.id} of run ${runId} has ${offset} bytes, expected ${latest.sizeBytes}`,
    );
  }
  return { epoch: latest.epoch, bytes };
}

/** Removes incomplete checkpoints of a run (left by a runner that died while writing one). */
export async function dropIncompleteCheckpoints(store: Store, runId: number): Promise<void> {
  const incomplete = await store.db
    .select({ id: checkpoints.id })
    .from(checkpoints)
    .where(and(eq(checkpoints.runId, runId), eq(checkpoints.complete, false)))
    .orderBy(asc(checkpoints.id));
  if (incomplete.length === 0) return;
  await store.db.delete(checkpoints).where(
    inArray(
      checkpoints.id,
      incomplete.map((c) => c.id),
    ),
  );
}
