import { sql } from 'drizzle-orm';
import type { Store } from '../store/db.js';

type Labels = Readonly<Record<string, string>>;

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
};

/** Latency buckets, seconds: 1 ms to 10 s. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Epoch and queue-wait buckets, seconds: 1 s to 1 day. */
const LONG_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14_400, 86_400];

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly buckets: readonly number[]) {}

  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]! += 1;
    });
    s.sum += value;
    s.count += 1;
  }

  render(name: string, help: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    for (const [key, s] of this.series) {
      const inner = key.length > 0 ? `${key.slice(1, -1)},` : '';
      this.buckets.forEach((b, i) =>
        lines.push(`${name}_bucket{${inner}le="${b}"} ${s.counts[i]}`),
      );
      lines.push(`${name}_bucket{${inner}le="+Inf"} ${s.count}`);
      lines.push(`${name}_sum${key} ${s.sum}`, `${name}_count${key} ${s.count}`);
    }
    return lines;
  }
}

class Series {
  private readonly series = new Map<string, number>();
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.series.set(key, (this.series.get(key) ?? 0) + by);
  }
  render(name: string, help: string, type: 'counter' | 'gauge' = 'counter'): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
    for (const [key, value] of this.series) lines.push(`${name}${key} ${value}`);
    return lines;
  }
}

/**
 * The server's Prometheus metrics: request and subscription counters kept in memory, job,
 * epoch and queue figures read from the database at each scrape (so they cover every worker).
 */
export class Metrics {
  readonly requests = new Series();
  readonly requestSeconds = new Histogram(REQUEST_BUCKETS);
  readonly errors = new Series();
  readonly subscriptionsStarted = new Series();

  constructor(
    private readonly store: Store,
    /** Open WebSocket connections and the operations running on them, read at each scrape. */
    private readonly live: () => { connections: number; operations: number } = () => ({
      connections: 0,
      operations: 0,
    }),
  ) {}

  /** One HTTP request answered: `route` is the route's pattern, not the raw path. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.requestSeconds.observe({ route }, seconds);
  }

  /** One GraphQL error sent to a client, by code and transport. */
  error(code: string, transport: 'http' | 'ws'): void {
    this.errors.inc({ code, transport });
  }

  /** The Prometheus text exposition (version 0.0.4). */
  async render(): Promise<string> {
    const lines: string[] = [
      ...this.requests.render('filterscope_http_requests_total', 'HTTP requests answered.'),
      ...this.requestSeconds.render(
        'filterscope_http_request_duration_seconds',
        'Time to answer an HTTP request.',
      ),
      ...this.errors.render('filterscope_graphql_errors_total', 'GraphQL errors sent, by code.'),
      ...this.subscriptionsStarted.render(
        'filterscope_subscriptions_total',
        'Operations started on WebSocket connections.',
      ),
    ];
    const live = this.live();
    lines.push(
      ...gauge('filterscope_ws_connections', 'Open WebSocket connections.', live.connections),
      ...gauge(
        'filterscope_subscriptions_active',
        'Operations running on WebSocket connections.',
        live.operations,
      ),
    );
    const jobs = await this.store.rows<{ kind: string; status: string; n: number }>(
      sql`select kind, status, count(*)::int as n from jobs group by kind, status order by kind, status`,
    );
    const jobsGauge = new Series();
    for (const kind of ['train', 'probe'])
      for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled'])
        jobsGauge.inc({ kind, state: status }, 0);
    for (const row of jobs) jobsGauge.inc({ kind: row.kind, state: row.status }, Number(row.n));
    lines.push(...jobsGauge.render('filterscope_jobs', 'Jobs by kind and state.', 'gauge'));
    lines.push(
      ...(await this.histogramOf(
        'filterscope_epoch_duration_seconds',
        'Wall time of each training epoch.',
        'select wall_seconds as v from run_metrics',
      )),
      ...(await this.histogramOf(
        'filterscope_queue_wait_seconds',
        'Time from queued to first started, runs and probes.',
        `select extract(epoch from started_at - created_at)::float8 as v from training_runs where started_at is not null
         union all
         select extract(epoch from started_at - created_at)::float8 from probes where started_at is not null`,
      )),
    );
    const memory = process.memoryUsage();
    lines.push(
      ...gauge('process_resident_memory_bytes', 'Resident memory.', memory.rss),
      ...gauge('nodejs_heap_used_bytes', 'V8 heap in use.', memory.heapUsed),
      ...gauge('process_uptime_seconds', 'Seconds since the process started.', process.uptime()),
    );
    return `${lines.join('\n')}\n`;
  }

  /** A LONG_BUCKETS histogram of the values (column `v`) of `values`, a constant SQL query. */
  private async histogramOf(name: string, help: string, values: string): Promise<string[]> {
    const [row] = await this.store.rows<Record<string, number>>(
      sql.raw(
        `with vals as (${values})
         select ${LONG_BUCKETS.map((b, i) => `count(*) filter (where v <= ${b})::int as b${i}`).join(', ')},
           count(*)::int as n, coalesce(sum(v), 0)::float8 as s from vals`,
      ),
    );
    return renderAggregate(name, help, row, LONG_BUCKETS);
  }
}

/** A histogram whose cumulative bucket counts were computed by SQL (`b0..bn`, `n`, `s`). */
function renderAggregate(
  name: string,
  help: string,
  row: Record<string, number> | undefined,
  buckets: readonly number[],
): string[] {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  buckets.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${Number(row?.[`b${i}`] ?? 0)}`));
  lines.push(`${name}_bucket{le="+Inf"} ${Number(row?.n ?? 0)}`);
  lines.push(`${name}_sum ${Number(row?.s ?? 0)}`, `${name}_count ${Number(row?.n ?? 0)}`);
  return lines;
}

function gauge(name: string, help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
}
