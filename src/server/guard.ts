import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { rateLimited } from '../api/errors.js';
import { AccessError, checkOperationAllowed, type Principal } from './access.js';
import { checkCost, MAX_COST, operationCost } from './limits.js';

/** Mutations that queue a job: rate-limited per key. */
export const LAUNCHES: ReadonlySet<string> = new Set(['startTraining', 'startProbe']);

/**
 * A token bucket per key: `perMinute` tokens refilled evenly, bursts up to `perMinute`.
 * In memory: each API process limits on its own.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `n` tokens for `name`; returns 0 when granted, else the seconds to wait. */
  take(name: string, n: number): number {
    const now = this.now();
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(name) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(name, bucket);
    if (n <= bucket.tokens) {
      bucket.tokens -= n;
      return 0;
    }
    return Math.ceil((n - bucket.tokens) / rate / 1000);
  }
}

/**
 * Everything checked once an operation is parsed, validated and chosen, on HTTP and WebSocket
 * alike: read-only keys, the cost estimate, and the launch rate.
 */
export class OperationGuard {
  private readonly launches: RateLimiter;
  private readonly maxCost: number;

  constructor(
    private readonly schema: GraphQLSchema,
    limits: { readonly launchesPerMinute: number; readonly maxCost?: number },
    now?: () => number,
  ) {
    this.launches = new RateLimiter(limits.launchesPerMinute, now);
    this.maxCost = limits.maxCost ?? MAX_COST;
  }

  /** Throws a coded GraphQLError (FORBIDDEN, BAD_USER_INPUT, RATE_LIMITED) when refused. */
  check(
    principal: Principal,
    document: DocumentNode,
    operation: OperationDefinitionNode | undefined,
    variables: Readonly<Record<string, unknown>>,
  ): void {
    if (!operation) return;
    try {
      checkOperationAllowed(principal, operation);
    } catch (error) {
      throw error instanceof AccessError ? error.toGraphQLError() : error;
    }
    checkCost(operationCost(this.schema, document, operation, variables), this.maxCost);
    if (operation.operation !== 'mutation') return;
    // Aliases count: `a: startTraining(...) b: startTraining(...)` is two launches.
    const launches = operation.selectionSet.selections.filter(
      (s) => s.kind === Kind.FIELD && LAUNCHES.has(s.name.value),
    ).length;
    if (launches === 0) return;
    this.checkLaunches(principal, launches);
  }

  /** Takes `n` launches from `principal`'s bucket, or throws RATE_LIMITED (also for /import). */
  checkLaunches(principal: Principal, n: number): void {
    const wait = this.launches.take(principal.name, n);
    if (wait > 0)
      throw rateLimited(
        `${principal.name} may launch at most ${this.launches.perMinute} jobs per minute: retry in ${wait} s`,
        { retryAfterSeconds: wait },
      );
  }
}
