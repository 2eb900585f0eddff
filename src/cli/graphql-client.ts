/**
 * GraphQL over HTTP for the reproduce client: one POST per operation, with the API key, retried
 * with back-off while the server is unreachable (bounded by `retryForMs`).
 */

/** A GraphQL error the server answered: printed with its code, exit status 1. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly operation: string,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

/** The server could not be reached for longer than the retry window. */
export class ServerUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerUnreachableError';
  }
}

/** Where the API is and how to authenticate. */
export interface Endpoint {
  /** http(s)://host:port/graphql */
  readonly httpUrl: string;
  /** ws(s)://host:port/graphql */
  readonly wsUrl: string;
  readonly apiKey: string | null;
}

export function endpointOf(httpUrl: string, apiKey: string | null): Endpoint {
  return { httpUrl, wsUrl: httpUrl.replace(/^http/, 'ws'), apiKey };
}

/** Wait before retry `attempt` (0-based): 250 ms doubling up to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.min(attempt, 10));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Network failures where the request certainly never reached the server. */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as { code?: string }).code;
}

export interface RetryNotice {
  readonly operation: string;
  readonly attempt: number;
  readonly reason: string;
}

export class GraphQLClient {
  constructor(
    readonly endpoint: Endpoint,
    private readonly options: {
      readonly retryForMs: number;
      /** Called before each wait, to show that the server is being waited for. */
      readonly onRetry?: (notice: RetryNotice) => void;
    },
  ) {}

  /**
   * Runs `query` and returns its `data`. Queries are retried on any network failure and on
   * 502/503/504; mutations only when the request was never delivered (connection refused), so
   * that nothing is started twice. GraphQL errors throw `GraphQLRequestError` at once.
   */
  async request<T>(
    operation: string,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<T> {
    const isMutation = /^\s*mutation\b/.test(query);
    let failingSince: number | null = null;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      try {
        const res = await fetch(this.endpoint.httpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(this.endpoint.apiKey ? { authorization: `Bearer ${this.endpoint.apiKey}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
        });
        const text = await res.text();
        if ([502, 503, 504].includes(res.status) && !isMutation) {
          reason = `HTTP ${res.status}`;
        } else {
          return this.unwrap<T>(operation, res.status, text);
        }
      } catch (error) {
        if (error instanceof GraphQLRequestError) throw error;
        const code = causeCode(error);
        reason = code ?? (error as Error).message;
        if (isMutation && (code === undefined || !NOT_DELIVERED.has(code)))
          throw new ServerUnreachableError(
            `${operation}: the connection to ${this.endpoint.httpUrl} failed (${reason}) after the request was sent; it may or may not have been applied`,
            { cause: error },
          );
      }
      failingSince ??= Date.now();
      const waited = Date.now() - failingSince;
      if (waited >= this.options.retryForMs)
        throw new ServerUnreachableError(
          `${operation}: ${this.endpoint.httpUrl} unreachable for ${Math.round(waited / 1000)} s (${reason})`,
        );
      this.options.onRetry?.({ operation, attempt, reason });
      await sleep(Math.min(backoffMs(attempt), this.options.retryForMs - waited));
    }
  }

  private unwrap<T>(operation: string, status: number, text: string): T {
    let body: Body;
    try {
      body = JSON.parse(text) as Body;
    } catch {
      throw new GraphQLRequestError(
        `HTTP ${status} from ${this.endpoint.httpUrl} is not JSON: ${text.slice(0, 200)}`,
        `HTTP_${status}`,
        operation,
      );
    }
    const [first] = body.errors ?? [];
    if (first)
      throw new GraphQLRequestError(
        first.message,
        first.extensions?.code ?? (status === 200 ? null : `HTTP_${status}`),
        operation,
      );
    if (!body.data)
      throw new GraphQLRequestError(`HTTP ${status} without data`, `HTTP_${status}`, operation);
    return body.data as T;
  }
}
