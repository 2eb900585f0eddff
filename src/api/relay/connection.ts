import type { ClassType } from 'type-graphql';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { badInput } from '../errors.js';
import { MAX_KEY } from './global-id.js';

export const DEFAULT_FIRST = 50;
export const MAX_FIRST = 200;

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, 1 to ${MAX_FIRST} (default ${DEFAULT_FIRST}).`,
  })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Cursor after which the page starts.' })
  after?: string | null;
}

/** A validated page request: keyset pagination on an increasing integer key. */
export interface Page {
  readonly first: number;
  /** Only keys greater than this one (0 for the first page). */
  readonly afterKey: number;
}

export function toPage(args: PageArgs): Page {
  const first = args.first ?? DEFAULT_FIRST;
  if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
    throw badInput('first', first, `must be from 1 to ${MAX_FIRST}`);
  }
  return { first, afterKey: args.after ? decodeCursor(args.after) : 0 };
}

export const encodeCursor = (key: number): string =>
  Buffer.from(`cursor:${key}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const key = text.startsWith('cursor:') ? Number(text.slice('cursor:'.length)) : NaN;
  // Keys are PostgreSQL integers (see MAX_KEY): a larger cursor was never issued.
  if (!Number.isSafeInteger(key) || key < 0 || key > MAX_KEY)
    throw badInput('after', cursor, 'is not a cursor of this connection');
  return key;
}

export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Builds a connection from rows fetched with `limit: page.first + 1`, ordered by `key`. */
export function toConnection<R, T>(
  rows: readonly R[],
  page: Page,
  key: (row: R) => number,
  map: (row: R) => T,
  totalCount: number,
): ConnectionShape<T> {
  const slice = rows.slice(0, page.first);
  const edges = slice.map((row) => ({ node: map(row), cursor: encodeCursor(key(row)) }));
  const last = edges[edges.length - 1];
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: { hasNextPage: rows.length > page.first, endCursor: last ? last.cursor : null },
    totalCount,
  };
}

/** The type-graphql classes of `<Name>Connection` and `<Name>Edge` for a node class. */
export function Connection<T extends object>(name: string, nodeClass: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeClass {
    @Field(() => nodeClass)
    node!: T;

    @Field()
    cursor!: string;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeClass])
    edges!: EdgeClass[];

    @Field(() => [nodeClass], {
      description: 'The nodes of `edges`, for clients that need no cursors.',
    })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int)
    totalCount!: number;
  }
  return ConnectionClass;
}
