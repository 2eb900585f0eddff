import { resolveHyperparameters } from '../../src/contract/hyperparameters.js';
import 'reflect-metadata';
import { sql } from 'drizzle-orm';
import { ArchitectureService } from '../../src/api/architecture/architecture.service.js';
import type { StoredEvent, Topic } from '../../src/contract/events.js';
import { appendEvent, EventBus } from '../../src/events/bus.js';
import { JobQueue } from '../../src/jobs/queue.js';
import type { Store } from '../../src/store/db.js';
import { jobs, trainingRuns } from '../../src/store/schema/index.js';
import { databaseKinds, openTestStore } from '../helpers/database.js';

/** The event log and the job queue on each database. */
describe.each(databaseKinds())('events and jobs on %s', (kind) => {
  let store: Store;
  let bus: EventBus;
  let cleanup: () => Promise<void> | void;
  let runId: number;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(kind));
    bus = new EventBus(store, 60_000);
    await bus.start();
    const arch = await new ArchitectureService(store, { maxParameters: 1e9 }).create({
      name: 'q',
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
    runId = run!.id;
  });
  afterAll(async () => {
    await bus?.stop();
    await cleanup?.();
  });

  /** A topic of this test's own: `tick` events numbered by `n`. */
  type Ticks = { readonly tick: { readonly n: number } };
  const publish = (topic: Topic<Ticks>, n: number) =>
    store.db.transaction((tx) => appendEvent(tx, topic, 'tick', { n }));

  it('numbers events per topic from 1, without gaps, under concurrent writers', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => publish(i % 2 ? 'a' : 'b', i)));
    for (const topic of ['a', 'b'] as Topic<Ticks>[]) {
      const rows = await bus.readAfter(topic, 0, 100);
      expect(rows.map((r) => r.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
  });

  it('replays after afterSequence, then streams live events woken by NOTIFY, with no gap or duplicate', async () => {
    for (let i = 0; i < 5; i++) await publish('live', i);
    const received: StoredEvent<Ticks>[] = [];
    const stream = bus.subscribe('live' as Topic<Ticks>, {
      afterSequence: 2,
      until: (e) => e.payload.n === 9,
    });
    const reading = (async () => {
      for await (const event of stream) received.push(event);
    })();
    for (let i = 5; i < 10; i++) {
      await publish('live', i);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The bus polls only every 60 s here: finishing in time proves NOTIFY woke it.
    await reading;
    expect(received.map((e) => e.payload.n)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(received.map((e) => e.sequence)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('gives each queued job to exactly one of several concurrent claimers', async () => {
    await store.db.transaction(async (tx) => {
      for (let i = 0; i < 6; i++)
        await JobQueue.enqueue(tx, { kind: 'train', runId, maxAttempts: 3 });
    });
    const queue = new JobQueue(store, 60_000);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => queue.claim(`runner-${i}`)),
    );
    const ids = claims.filter((c) => c !== null).map((c) => c!.id);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    expect(await queue.claim('late')).toBeNull();
  });

  it('reclaims a running job whose lease expired, and refuses the heartbeat of the old owner', async () => {
    await store.db.delete(jobs);
    await store.db.transaction((tx) =>
      JobQueue.enqueue(tx, { kind: 'train', runId, maxAttempts: 3 }),
    );
    const queue = new JobQueue(store, 60_000);
    const first = await queue.claim('dead-runner');
    expect(first?.attempts).toBe(1);
    expect(await queue.heartbeat(first!.id, 'dead-runner')).toEqual({
      held: true,
      cancelRequested: false,
      cancelAgeMs: null,
    });
    expect(await queue.claim('other')).toBeNull();
    await store.db.execute(
      sql`update jobs set lease_expires_at = now() - interval '1 second' where id = ${first!.id}`,
    );
    const second = await queue.claim('other');
    expect(second?.id).toBe(first!.id);
    expect(second?.attempts).toBe(2);
    expect((await queue.heartbeat(first!.id, 'dead-runner')).held).toBe(false);
    expect((await queue.heartbeat(first!.id, 'other')).held).toBe(true);
  });
});
