import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable, maskError } from '../../../src/server/errors.js';

const wrapped = (cause: unknown) =>
  new GraphQLError('Failed query: select ...', {
    originalError: Object.assign(new Error('Failed query'), { cause }),
  });

describe('maskError', () => {
  it('answers SERVICE_UNAVAILABLE for a dropped or refused database connection, without internals', () => {
    for (const cause of [
      Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), {
        code: 'CONNECTION_CLOSED',
      }),
      Object.assign(new Error('terminating connection'), { code: '57P01' }),
      new Error('database "x" is not currently accepting connections'),
    ]) {
      const error = wrapped(cause);
      expect(isDatabaseUnavailable(error)).toBe(true);
      const masked = maskError(error.toJSON(), error, null);
      expect(masked.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
      expect(masked.message).not.toContain('select');
    }
  });

  it('keeps client codes and masks anything else as INTERNAL_SERVER_ERROR', () => {
    const client = new GraphQLError('input.name: bad', {
      extensions: { code: 'BAD_USER_INPUT', field: 'input.name', http: { status: 400 } },
    });
    expect(maskError(client.toJSON(), client, null).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
    const bug = wrapped(new TypeError('x is undefined'));
    expect(isDatabaseUnavailable(bug)).toBe(false);
    expect(maskError(bug.toJSON(), bug, null)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});
