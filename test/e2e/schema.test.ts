import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printAppSchema } from '../../src/api/schema.js';

describe('schema.graphql', () => {
  it('is exactly what the type-graphql classes emit (run `npm run schema` after changing them)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(printAppSchema()).toBe(committed);
  });
});
