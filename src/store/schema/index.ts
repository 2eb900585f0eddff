export * from './architectures.sql.js';
