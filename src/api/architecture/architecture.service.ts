import { asc, count, eq, gt } from 'drizzle-orm';
import {
  ArchitectureValidationError,
  PRESETS,
  summarize,
  validateArchitecture,
  type ArchitectureSpec,
  type ValidationLimits,
} from '../../architecture/index.js';
import type { Db, Store } from '../../store/db.js';
import {
  architectures,
  layers,
  trainingRuns,
  type ArchitectureRow,
} from '../../store/schema/index.js';
import { badInput, conflict, notFound } from '../errors.js';
import { toConnection, type ConnectionShape, type Page } from '../relay/connection.js';
import { Architecture, Layer } from './architecture.type.js';

/** Architectures and their layers: the only writer of both tables. */
export class ArchitectureService {
  constructor(
    private readonly store: Store,
    private readonly limits: ValidationLimits,
  ) {}

  async findMany(page: Page): Promise<ConnectionShape<Architecture>> {
    const db = this.store.db;
    const rows = await db
      .select()
      .from(architectures)
      .where(gt(architectures.id, page.afterKey))
      .orderBy(asc(architectures.id))
      .limit(page.first + 1);
    const [total] = await db.select({ n: count() }).from(architectures);
    return toConnection(rows, page, (r) => r.id, Architecture.fromRow, Number(total?.n ?? 0));
  }

  async findOne(key: number): Promise<Architecture | null> {
    const [row] = await this.store.db.select().from(architectures).where(eq(architectures.id, key));
    return row ? Architecture.fromRow(row) : null;
  }

  async findByName(name: string): Promise<Architecture | null> {
    const [row] = await this.store.db
      .select()
      .from(architectures)
      .where(eq(architectures.name, name));
    return row ? Architecture.fromRow(row) : null;
  }

  async layersOf(architectureKey: number): Promise<Layer[]> {
    const rows = await this.store.db
      .select()
      .from(layers)
      .where(eq(layers.architectureId, architectureKey))
      .orderBy(asc(layers.index));
    return rows.map(Layer.fromRow);
  }

  async findLayer(key: number): Promise<Layer | null> {
    const [row] = await this.store.db.select().from(layers).where(eq(layers.id, key));
    return row ? Layer.fromRow(row) : null;
  }

  /** Validates `input` (field paths are reported under `input.`) and stores it with its layers. */
  async create(input: unknown): Promise<Architecture> {
    let spec: ArchitectureSpec;
    try {
      spec = validateArchitecture(input, this.limits);
    } catch (error) {
      if (!(error instanceof ArchitectureValidationError)) throw error;
      const [first] = error.issues;
      throw badInput(
        `input.${first?.path ?? 'spec'}`,
        first?.value,
        stripPath(first?.message ?? 'is invalid'),
        {
          blockIndex: first?.blockIndex ?? null,
          issues: error.issues.map((i) => ({ ...i, path: `input.${i.path}` })),
        },
      );
    }
    // A valid name that is taken: the input is fine, the state conflicts with it.
    const taken = () =>
      conflict(
        `input.name: ${JSON.stringify(spec.name)} is already taken by another architecture`,
        {
          field: 'input.name',
          value: spec.name,
        },
      );
    if (await this.findByName(spec.name)) throw taken();
    const row = await this.insert(spec, false);
    if (!row) throw taken();
    return Architecture.fromRow(row);
  }

  /** Deletes a user architecture (and its layers); presets are refused. */
  async delete(key: number, id: string): Promise<void> {
    const found = await this.findOne(key);
    if (!found) throw notFound('Architecture', id);
    if (found.preset) {
      throw conflict(
        `architecture ${JSON.stringify(found.name)} is a preset and cannot be deleted`,
        { id },
      );
    }
    const [used] = await this.store.db
      .select({ n: count() })
      .from(trainingRuns)
      .where(eq(trainingRuns.architectureId, key));
    if (Number(used?.n ?? 0) > 0) {
      throw conflict(
        `architecture ${JSON.stringify(found.name)} is used by ${used?.n} training run(s); it cannot be deleted`,
        { id },
      );
    }
    await this.store.db.delete(architectures).where(eq(architectures.id, key));
  }

  /** Stores every missing preset in one transaction; existing names are left as they are. */
  async seedPresets(): Promise<number> {
    const existing = new Set(
      (await this.store.db.select({ name: architectures.name }).from(architectures)).map(
        (r) => r.name,
      ),
    );
    const missing = PRESETS.filter((spec) => !existing.has(spec.name));
    if (missing.length === 0) return 0;
    const unlimited = { maxParameters: Number.MAX_SAFE_INTEGER };
    const stored = await this.store.db.transaction(async (tx) => {
      let added = 0;
      for (const spec of missing) {
        if (await insertArchitecture(tx, validateArchitecture(spec, unlimited), true)) added++;
      }
      return added;
    });
    return stored;
  }

  private insert(spec: ArchitectureSpec, preset: boolean): Promise<ArchitectureRow | null> {
    return this.store.db.transaction((tx) => insertArchitecture(tx, spec, preset));
  }
}

/** Inserts an architecture and its layers; null if the name is taken. Run inside a transaction. */
export async function insertArchitecture(
  tx: Db,
  spec: ArchitectureSpec,
  preset: boolean,
): Promise<ArchitectureRow | null> {
  const summary = summarize(spec);
  const [row] = await tx
    .insert(architectures)
    .values({
      name: spec.name,
      description: spec.description ?? null,
      spec,
      preset,
      labels: spec.labels,
      inputShape: [...spec.inputShape],
      parameterCount: summary.parameterCount,
      flops: summary.flops,
    })
    .onConflictDoNothing({ target: architectures.name })
    .returning();
  if (!row) return null;
  await tx.insert(layers).values(
    summary.layers.map((l) => ({
      architectureId: row.id,
      index: l.index,
      name: l.name,
      kind: l.kind,
      filters: l.filters,
      kernelSize: l.kernelSize,
      inputShape: [...l.inputShape],
      outputShape: [...l.outputShape],
      parameterCount: l.parameterCount,
      flops: l.flops,
    })),
  );
  return row;
}

/** The validator's messages start with the path; the GraphQL error adds its own `input.` path. */
function stripPath(message: string): string {
  const colon = message.indexOf(': ');
  return colon >= 0 ? message.slice(colon + 2).replace(/, got .*$/s, '') : message;
}
