import 'reflect-metadata';
import { sql } from 'drizzle-orm';
import { ArchitectureService } from '../../src/api/architecture/architecture.service.js';
import { PRESETS } from '../../src/architecture/index.js';
import type { Store } from '../../src/store/db.js';
import { appliedMigrationCount, expectedMigrationCount, migrate } from '../../src/store/migrate.js';
import { databaseKinds, openTestStore } from '../helpers/database.js';

/** The store layer on each database: one schema, one migrations folder, the same queries. */
describe.each(databaseKinds())('store on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void> | void;
  let service: ArchitectureService;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(kind));
    service = new ArchitectureService(store, { maxParameters: 1_000_000_000 });
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('applies every migration, and a rerun changes nothing', async () => {
    expect(await appliedMigrationCount(store)).toBe(expectedMigrationCount());
    await migrate(store);
    expect(await appliedMigrationCount(store)).toBe(expectedMigrationCount());
  });

  it('seeds the presets once', async () => {
    expect(await service.seedPresets()).toBe(PRESETS.length);
    expect(await service.seedPresets()).toBe(0);
  });

  it('stores an architecture with its layers in one transaction, and deletes both', async () => {
    const arch = await service.create({
      name: 'store-test',
      inputShape: [8, 8, 1],
      labels: 3,
      blocks: [{ kind: 'conv', filters: 4 }],
    });
    const layers = await service.layersOf(arch.key);
    expect(layers.map((l) => l.name)).toEqual(['conv1', 'flatten1', 'classifier']);
    expect(arch.parameterCount).toBe(3 * 3 * 1 * 4 + 16 + (256 * 3 + 3));
    await service.delete(arch.key, arch.id);
    const left = await store.rows<{ n: number }>(
      sql`select count(*)::int as n from layers where architecture_id = ${arch.key}`,
    );
    expect(Number(left[0]?.n)).toBe(0);
  });

  it('lets exactly one of two concurrent creations with the same name win', async () => {
    const spec = { name: 'race', inputShape: [8, 8, 1], labels: 3, blocks: [] };
    const results = await Promise.allSettled([service.create(spec), service.create(spec)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason.extensions.code).toBe('CONFLICT');
  });

  it('reads bigint counts back as numbers', async () => {
    const vgg = await service.findByName('VGG-16/CIFAR-100');
    expect(typeof vgg?.parameterCount).toBe('number');
    expect(vgg?.flops).toBeGreaterThan(600_000_000);
  });
});
