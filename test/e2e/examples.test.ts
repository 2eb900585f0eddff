import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Every operation of examples.graphql runs against a live server without errors. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('pglite');
});
afterAll(async () => {
  await t?.stop();
});

it('runs every operation of examples.graphql', async () => {
  const document = parse(readFileSync(join(__dirname, '..', '..', 'examples.graphql'), 'utf8'));
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  expect(operations.length).toBeGreaterThanOrEqual(6);
  const variables: Record<string, unknown> = {};
  for (const operation of operations) {
    const res = await t.gql<Record<string, { id?: string }>>(print(operation), variables);
    expect({ operation: operation.name?.value, errors: res.errors }).toEqual({
      operation: operation.name?.value,
      errors: undefined,
    });
    if (operation.name?.value === 'CreateSmallVgg') variables.id = res.data?.createArchitecture?.id;
  }
  expect(variables.id).toEqual(expect.any(String));
});
