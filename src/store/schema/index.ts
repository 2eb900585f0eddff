export * from './architectures.sql.js';
export * from './runs.sql.js';
export * from './jobs.sql.js';
export * from './events.sql.js';
export * from './probes.sql.js';
