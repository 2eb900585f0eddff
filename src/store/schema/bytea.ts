import { customType } from 'drizzle-orm/pg-core';

/** PostgreSQL bytea as a Uint8Array (PGlite and postgres.js both return one). */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) =>
    value instanceof Uint8Array ? value : new Uint8Array(value as ArrayLike<number>),
});
