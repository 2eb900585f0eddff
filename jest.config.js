/** Jest runs TypeScript through swc with decorator metadata (type-graphql needs it). */
const swc = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
  },
  module: { type: 'commonjs' },
};

module.exports = {
  testEnvironment: '<rootDir>/test/native-arrays-environment.cjs',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
  // PGlite instances are heavy (~700 MB each); keep parallelism modest on 2-core machines.
  maxWorkers: process.env.CI ? 2 : '50%',
};
