import type { GraphQLClient } from './graphql-client.js';
import {
  DATASETS,
  HEATMAPS,
  LABEL_NAMES,
  LAYER_FILTERS,
  PAGE,
  PROBE,
  RUN,
  type Dataset,
  type FilterRow,
  type PageInfo,
  type ProbeDetails,
  type RunDetails,
} from './operations.js';
import { selectExtremes, type HeatmapFile } from './report-data.js';

/** The server's description of a dataset (sizes, label names, where its files are), or null. */
export async function fetchDataset(client: GraphQLClient, name: string): Promise<Dataset | null> {
  const { datasets } = await client.request<{ datasets: Dataset[] }>('datasets', DATASETS);
  return datasets.find((d) => d.name === name) ?? null;
}

export async function fetchRun(client: GraphQLClient, id: string): Promise<RunDetails> {
  const { run } = await client.request<{ run: RunDetails | null }>('run', RUN, { id });
  if (!run) throw new Error(`run ${JSON.stringify(id)} does not exist on this server`);
  return run;
}

export async function fetchProbe(client: GraphQLClient, id: string): Promise<ProbeDetails> {
  const { probe } = await client.request<{ probe: ProbeDetails | null }>('probe', PROBE, { id });
  if (!probe) throw new Error(`probe ${JSON.stringify(id)} does not exist on this server`);
  return probe;
}

/** Every filter of a LayerProbe, in index order, `PAGE` at a time. */
export async function fetchFilters(
  client: GraphQLClient,
  layerProbeId: string,
): Promise<FilterRow[]> {
  const all: FilterRow[] = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      node: { filters: { totalCount: number; pageInfo: PageInfo; nodes: FilterRow[] } } | null;
    } = await client.request('filters', LAYER_FILTERS, { id: layerProbeId, after });
    if (!page.node) throw new Error(`layer probe ${layerProbeId} does not exist on this server`);
    all.push(...page.node.filters.nodes);
    if (!page.node.filters.pageInfo.hasNextPage) return all;
    after = page.node.filters.pageInfo.endCursor;
  }
}

/** The dataset's label names as the probe's matrices carry them. */
export async function fetchLabelNames(
  client: GraphQLClient,
  layerProbeId: string,
): Promise<string[]> {
  const { node } = await client.request<{
    node: { filters: { nodes: { correlation: { labels: string[] } }[] } } | null;
  }>('labelNames', LABEL_NAMES, { id: layerProbeId });
  return node?.filters.nodes[0]?.correlation.labels ?? [];
}

/** Heatmap SVGs of each layer's `n` best and worst filters by SNR (`selectExtremes`). */
export async function fetchHeatmaps(
  client: GraphQLClient,
  filters: ReadonlyMap<string, readonly FilterRow[]>,
  n: number,
): Promise<Map<string, { best: HeatmapFile[]; worst: HeatmapFile[] }>> {
  const chosen = new Map([...filters].map(([layer, rows]) => [layer, selectExtremes(rows, n)]));
  const ids = [
    ...new Set([...chosen.values()].flatMap((c) => [...c.best, ...c.worst].map((f) => f.id))),
  ];
  const svgs = new Map<string, { svg: string; raw: string }>();
  for (let i = 0; i < ids.length; i += PAGE) {
    const { nodes } = await client.request<{
      nodes: ({ id: string; correlation: { svg: string; raw: string } } | null)[];
    }>('heatmaps', HEATMAPS, { ids: ids.slice(i, i + PAGE) });
    for (const node of nodes) if (node) svgs.set(node.id, node.correlation);
  }
  const file = (f: FilterRow): HeatmapFile => {
    const views = svgs.get(f.id);
    if (views === undefined) throw new Error(`filter ${f.id} has no heatmap on the server`);
    return { index: f.index, snr: f.snr!, ...views };
  };
  return new Map(
    [...chosen].map(([layer, c]) => [layer, { best: c.best.map(file), worst: c.worst.map(file) }]),
  );
}
