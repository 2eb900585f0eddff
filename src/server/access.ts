import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { ApiKey } from '../config.js';

/** Who is asking: a configured key, or everyone when no keys are configured. */
export interface Principal {
  /** The key's name (never its secret), or `anonymous`. */
  readonly name: string;
  readonly role: 'read' | 'write';
}

export const ANONYMOUS: Principal = { name: 'anonymous', role: 'write' };

export type AccessCode = 'UNAUTHENTICATED' | 'FORBIDDEN';

/** A refused request: HTTP 401/403, WebSocket close 4403, GraphQL code of the same name. */
export class AccessError extends Error {
  constructor(
    readonly code: AccessCode,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }

  get status(): number {
    return this.code === 'UNAUTHENTICATED' ? 401 : 403;
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, {
      extensions: { code: this.code, http: { status: this.status } },
    });
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Checks `Authorization: Bearer <secret>` (HTTP header or graphql-ws connectionParams). */
export class KeyRing {
  private readonly digests: readonly { key: ApiKey; digest: Buffer }[];

  constructor(keys: readonly ApiKey[]) {
    this.digests = keys.map((key) => ({ key, digest: digest(key.secret) }));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The principal of `authorization`; throws UNAUTHENTICATED when keys are on and it is wrong. */
  authenticate(authorization: unknown): Principal {
    if (!this.enabled) return ANONYMOUS;
    if (typeof authorization !== 'string' || authorization.length === 0)
      throw new AccessError(
        'UNAUTHENTICATED',
        'an API key is required: send "Authorization: Bearer <key>" (WebSocket: connectionParams.authorization)',
      );
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new AccessError('UNAUTHENTICATED', 'Authorization must be "Bearer <key>"');
    // Compare digests in constant time so the answer's timing tells nothing about a secret.
    const given = digest(match[1]!);
    let found: ApiKey | null = null;
    for (const { key, digest: expected } of this.digests)
      if (timingSafeEqual(given, expected)) found = key;
    if (!found) throw new AccessError('UNAUTHENTICATED', 'the API key is not valid');
    return { name: found.name, role: found.role };
  }
}

/** The operation a request will run (`operationName` picks one when the document has several). */
export function selectedOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
  );
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
}

/** Read-only keys may query and subscribe; only write keys may run mutations. */
export function checkOperationAllowed(
  principal: Principal,
  operation: OperationDefinitionNode | undefined,
): void {
  if (operation?.operation === 'mutation' && principal.role !== 'write')
    throw new AccessError(
      'FORBIDDEN',
      `the key "${principal.name}" is read-only: mutations need a write key`,
    );
}
