import 'reflect-metadata';
import { parse, type OperationDefinitionNode } from 'graphql';
import { buildAppSchema } from '../../../src/api/schema.js';
import { RateLimiter } from '../../../src/server/guard.js';
import { operationCost } from '../../../src/server/limits.js';

const cost = (query: string, variables: Record<string, unknown> = {}) => {
  const document = parse(query);
  const operation = document.definitions[0] as OperationDefinitionNode;
  return operationCost(buildAppSchema(), document, operation, variables);
};

describe('operationCost', () => {
  it('counts one per field', () => {
    expect(cost(`{ datasets { name labels } }`)).toBe(1 + 20 * 2);
  });

  it('multiplies a connection by first (default 50), variables included, and not its nodes again', () => {
    expect(cost(`{ runs { nodes { status } } }`)).toBe(1 + 50 * (1 + 1));
    expect(cost(`query($n: Int) { runs(first: $n) { nodes { status } } }`, { n: 7 })).toBe(
      1 + 7 * 2,
    );
  });

  it('prices a matrix by its values and its SVG higher', () => {
    const base = cost(`{ node(id: "x") { ... on FilterResult { correlation { size } } } }`);
    const rows = cost(`{ node(id: "x") { ... on FilterResult { correlation { rows } } } }`);
    const svg = cost(`{ node(id: "x") { ... on FilterResult { correlation { svg } } } }`);
    expect(rows - base).toBe(99);
    expect(svg - base).toBe(399);
  });

  it('counts fragments and nodes(ids) lists', () => {
    expect(cost(`{ nodes(ids: ["a", "b", "c"]) { id } }`)).toBe(1 + 3);
    expect(cost(`{ ...F } fragment F on Query { datasets { name } }`)).toBe(1 + 20);
  });
});

describe('RateLimiter', () => {
  it('grants a burst up to the rate, then refills evenly, per key', () => {
    let now = 0;
    const limiter = new RateLimiter(6, () => now);
    expect(limiter.take('a', 6)).toBe(0);
    expect(limiter.take('a', 1)).toBe(10); // one token every 10 s
    expect(limiter.take('b', 1)).toBe(0);
    now = 10_000;
    expect(limiter.take('a', 1)).toBe(0);
    expect(limiter.take('a', 1)).toBe(10);
    now = 1_000_000;
    expect(limiter.take('a', 7)).toBeGreaterThan(0); // never more than the burst
  });
});
