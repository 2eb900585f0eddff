import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { DEFAULT_FIRST } from '../api/relay/connection.js';

/** Deepest selection accepted: the schema's real paths need 8 (probe → layers → filters → ...). */
export const MAX_DEPTH = 12;
/**
 * Largest estimated cost accepted. A unit is about one value in the answer: every field costs 1,
 * a list multiplies its selection by its `first` (connections) or by LIST_SIZE, and matrices cost
 * by their size (MATRIX_PRICE). A probe of 20 layers × 200 filters with their metrics and raw
 * matrices (about 880,000) passes; the same with every SVG heatmap does not.
 */
export const MAX_COST = 1_000_000;
/** Assumed length of lists that have no `first`: an architecture's layers, a layer's history... */
const LIST_SIZE: Readonly<Record<string, number>> = {
  'TrainingRun.metrics': 200,
  'FilterResult.clusters': 5,
  'FilterSummary.clusters': 5,
  default: 20,
};
/** A 10-label matrix has 100 values; its SVG is several times the size of its numbers. */
const MATRIX_PRICE: Readonly<Record<string, number>> = {
  'CorrelationMatrix.rows': 100,
  'CorrelationMatrix.base64': 100,
  'CorrelationMatrix.svg': 400,
};

/**
 * Validation rule: refuses operations nested deeper than `max` fields. Inside `__schema` and
 * `__type`, `ofType` does not count: it is one object, never a list, and the chain ends with the
 * type's wrappers (`[Int!]!` has three), so it cannot fan out. Standard introspection queries
 * (GraphiQL's, graphql-js's `getIntrospectionQuery`) nest `ofType` eight deep to reach named
 * types and would otherwise be refused.
 */
export function depthLimit(max: number = MAX_DEPTH): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const depthOf = (set: SelectionSetNode, seen: Set<string>, introspection: boolean): number => {
      let deepest = 0;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          const name = s.name.value;
          const inside = introspection || name === '__schema' || name === '__type';
          const own = introspection && name === 'ofType' ? 0 : 1;
          deepest = Math.max(
            deepest,
            own + (s.selectionSet ? depthOf(s.selectionSet, seen, inside) : 0),
          );
        } else if (s.kind === Kind.INLINE_FRAGMENT)
          deepest = Math.max(deepest, depthOf(s.selectionSet, seen, introspection));
        else {
          const fragment = fragments.get(s.name.value);
          // A cycle of fragments is reported by graphql's own NoFragmentCycles rule.
          if (!fragment || seen.has(s.name.value)) continue;
          deepest = Math.max(
            deepest,
            depthOf(fragment.selectionSet, new Set([...seen, s.name.value]), introspection),
          );
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set(), false);
        if (depth > max)
          context.reportError(
            new GraphQLError(
              `the ${node.name?.value ?? 'anonymous'} operation is ${depth} fields deep; the limit is ${max}`,
              {
                nodes: [node],
                extensions: { code: 'GRAPHQL_VALIDATION_FAILED', depth, limit: max },
              },
            ),
          );
      },
    };
  };
}

/**
 * The estimated cost of `operation` with its variables (see MAX_COST). Arguments are read as
 * execution will read them, so `first: $n` costs what `$n` says.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;

  const costOf = (set: SelectionSetNode, type: GraphQLCompositeType, seen: Set<string>): number => {
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        const on = s.typeCondition ? schema.getType(s.typeCondition.name.value) : type;
        total += costOf(s.selectionSet, isCompositeType(on) ? on : type, seen);
        continue;
      }
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(s.name.value);
        if (!fragment || seen.has(s.name.value)) continue;
        const on = schema.getType(fragment.typeCondition.name.value);
        total += costOf(
          fragment.selectionSet,
          isCompositeType(on) ? on : type,
          new Set([...seen, s.name.value]),
        );
        continue;
      }
      const name = s.name.value;
      if (name.startsWith('__')) {
        total += 1;
        continue;
      }
      const fields = isObjectType(type) || isInterfaceType(type) ? type.getFields() : {};
      const field = fields[name];
      if (!field) continue;
      const key = `${type.name}.${name}`;
      let args: Record<string, unknown> = {};
      try {
        args = getArgumentValues(field, s, variables as Record<string, unknown>);
      } catch {
        // Bad arguments are execution's to report, with their own message.
      }
      const inner = getNamedType(field.type);
      let times = 1;
      if (field.args.some((a) => a.name === 'first'))
        times = typeof args.first === 'number' ? Math.max(args.first, 0) : DEFAULT_FIRST;
      else if (Array.isArray(args.ids)) times = args.ids.length;
      else if (isListType(getNullableType(field.type)) && !type.name.endsWith('Connection'))
        times = LIST_SIZE[key] ?? LIST_SIZE.default!;
      const own = MATRIX_PRICE[key] ?? 1;
      const children =
        s.selectionSet && isCompositeType(inner) ? costOf(s.selectionSet, inner, seen) : 0;
      total += own + times * children;
    }
    return total;
  };
  return costOf(operation.selectionSet, root, new Set());
}

/** Throws BAD_USER_INPUT when the operation's cost is over `max`. */
export function checkCost(cost: number, max: number = MAX_COST): void {
  if (cost > max)
    throw new GraphQLError(
      `query: estimated cost ${cost} is over the limit of ${max}: ask for fewer items (first) or fewer matrices per request`,
      // `http`: Apollo answers a client's mistake found before execution with this status (500
      // otherwise); the WebSocket ignores it.
      {
        extensions: {
          code: 'BAD_USER_INPUT',
          field: 'query',
          value: cost,
          limit: max,
          http: { status: 400 },
        },
      },
    );
}
