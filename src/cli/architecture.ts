import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import type { GraphQLClient } from './graphql-client.js';
import {
  ARCHITECTURES,
  ARCHITECTURE_BY_NAME,
  CREATE_ARCHITECTURE,
  NODE_ARCHITECTURE,
  type ArchitectureSummary,
  type PageInfo,
} from './operations.js';

/** Every architecture, paging through the connection. */
export async function allArchitectures(client: GraphQLClient): Promise<ArchitectureSummary[]> {
  const all: ArchitectureSummary[] = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      architectures: { pageInfo: PageInfo; nodes: ArchitectureSummary[] };
    } = await client.request('architectures', ARCHITECTURES, { after });
    all.push(...page.architectures.nodes);
    if (!page.architectures.pageInfo.hasNextPage) return all;
    after = page.architectures.pageInfo.endCursor;
  }
}

/** Strings compared without case or underscores: `MAX_POOL` (GraphQL) is `maxPool` (stored). */
const norm = (s: string) => s.replace(/_/g, '').toLowerCase();

/**
 * True when every value given in `given` is the same in `stored` (a key the stored spec left out
 * is taken as its default). Used to reuse an architecture whose name is already taken.
 */
export function specMatches(given: unknown, stored: unknown): boolean {
  if (Array.isArray(given))
    return (
      Array.isArray(stored) &&
      given.length === stored.length &&
      given.every((g, i) => specMatches(g, stored[i]))
    );
  if (given !== null && typeof given === 'object') {
    if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return false;
    return Object.entries(given).every(([key, value]) => {
      const other = (stored as Record<string, unknown>)[key];
      return value === null || value === undefined || other === undefined
        ? true
        : specMatches(value, other);
    });
  }
  if (typeof given === 'string' && typeof stored === 'string') return norm(given) === norm(stored);
  return given === stored;
}

/** A spec in the stored form (`maxPool`, `same`) as createArchitecture's input (`MAX_POOL`, `SAME`). */
export function toArchitectureInput(spec: Record<string, unknown>): Record<string, unknown> {
  const upper = (v: unknown) =>
    typeof v === 'string' ? v.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : v;
  const blocks = Array.isArray(spec.blocks)
    ? spec.blocks.map((b: unknown) => {
        if (b === null || typeof b !== 'object') return b;
        const block = { ...(b as Record<string, unknown>) };
        for (const key of ['kind', 'padding', 'activation'])
          if (key in block) block[key] = upper(block[key]);
        return block;
      })
    : spec.blocks;
  return { ...spec, blocks };
}

function parseSpec(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--arch: ${where} is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`--arch: ${where} must hold a JSON object (createArchitecture's input)`);
  const spec = value as Record<string, unknown>;
  if (typeof spec.name !== 'string' || spec.name.length === 0)
    throw new UsageError(`--arch: ${where} needs a "name"`);
  return spec;
}

async function createOrReuse(
  client: GraphQLClient,
  spec: Record<string, unknown>,
  note: (line: string) => void,
): Promise<ArchitectureSummary> {
  const name = spec.name as string;
  const { architecture: existing } = await client.request<{
    architecture: ArchitectureSummary | null;
  }>('architecture', ARCHITECTURE_BY_NAME, { name });
  if (existing) {
    if (!specMatches(spec, existing.spec))
      throw new Error(
        `architecture name ${JSON.stringify(name)} is taken by a different architecture (${existing.id}): rename yours`,
      );
    note(`using the stored architecture ${JSON.stringify(name)} (${existing.id}), same spec`);
    return existing;
  }
  const { createArchitecture } = await client.request<{ createArchitecture: ArchitectureSummary }>(
    'createArchitecture',
    CREATE_ARCHITECTURE,
    { input: toArchitectureInput(spec) },
  );
  note(`created architecture ${JSON.stringify(name)} (${createArchitecture.id})`);
  return createArchitecture;
}

/**
 * `--arch`: inline JSON, a JSON file, a name or an id; null picks the preset that takes `shape`
 * and `labels` (VGG-6 first). Names and ids that match nothing are a `UsageError`.
 */
export async function resolveArchitecture(
  client: GraphQLClient,
  arch: string | null,
  shape: readonly number[],
  labels: number,
  note: (line: string) => void,
): Promise<ArchitectureSummary> {
  if (arch === null) {
    const fits = (await allArchitectures(client)).filter(
      (a) => a.preset && a.inputShape.join('x') === shape.join('x') && a.labels === labels,
    );
    const chosen = fits.find((a) => a.name.startsWith('VGG-6')) ?? fits[0];
    if (!chosen)
      throw new UsageError(
        `--arch is needed: no preset takes ${shape.join('x')} inputs with ${labels} labels`,
      );
    return chosen;
  }
  if (arch.trimStart().startsWith('{'))
    return createOrReuse(client, parseSpec(arch, 'the inline spec'), note);
  if (existsSync(arch))
    return createOrReuse(client, parseSpec(readFileSync(arch, 'utf8'), arch), note);
  const byName = await client.request<{ architecture: ArchitectureSummary | null }>(
    'architecture',
    ARCHITECTURE_BY_NAME,
    { name: arch },
  );
  if (byName.architecture) return byName.architecture;
  try {
    const { node } = await client.request<{
      node: (ArchitectureSummary & { __typename: string }) | null;
    }>('node', NODE_ARCHITECTURE, { id: arch });
    if (node?.__typename === 'Architecture') return node;
  } catch (error) {
    // Not an id of ours: the server says BAD_USER_INPUT; fall through to the usage error.
    if ((error as { code?: string }).code !== 'BAD_USER_INPUT') throw error;
  }
  const presets = (await allArchitectures(client)).filter((a) => a.preset).map((a) => a.name);
  throw new UsageError(
    `--arch: no architecture is named ${JSON.stringify(arch)} or has that id, and no such file exists (presets: ${presets.join(', ')})`,
  );
}
