import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** GraphQL's packages: the API's business alone. */
const GRAPHQL_PACKAGES = [
  'graphql',
  'type-graphql',
  'graphql-ws',
  'graphql-scalars',
  '@apollo/server',
  '@graphql-yoga/subscription',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.filterscope/**',
      'migrations/**',
      'bench/out/**',
      'examples/**',
      'jest.config.js',
    ],
  },
  // The dashboard and the explorer: plain ES modules run by the browser as they are.
  {
    files: ['src/server/dashboard/**/*.js'],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // Libraries loaded as UMD scripts are declared in each file (/* global graphqlWs */).
      globals: globals.browser,
    },
    rules: {
      ...js.configs.recommended.rules,
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.mjs'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
  ...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // The direction of the arrows (docs/ARCHITECTURE.md). Type-only import cycles, which
  // import-x/no-cycle does not see, are refused by scripts/code-stats.mjs --check in `npm run lint`.
  {
    files: ['src/api/**/*.ts', 'src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/engine/**', '@tensorflow/*'],
              message:
                'The API never imports the engine (it loads TensorFlow.js): what both need lives in src/contract.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/jobs/**/*.ts',
      'src/store/**/*.ts',
      'src/events/**/*.ts',
      'src/engine/**/*.ts',
      'src/contract/**/*.ts',
      'src/data/**/*.ts',
      'src/analysis/**/*.ts',
      'src/architecture/**/*.ts',
      'src/interop/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: GRAPHQL_PACKAGES.map((name) => ({
            name,
            message: 'Nothing below the API imports GraphQL: map to GraphQL types in src/api.',
          })),
          patterns: [
            {
              group: GRAPHQL_PACKAGES.map((name) => `${name}/*`),
              message: 'Nothing below the API imports GraphQL.',
            },
            {
              group: ['**/api/**', '**/server/**'],
              message: 'Nothing below the API imports the API or the server.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: GRAPHQL_PACKAGES.map((name) => ({
            name,
            message: 'The contract is plain TypeScript.',
          })),
          patterns: [
            {
              group: [
                '@tensorflow/*',
                '**/engine/**',
                '**/jobs/**',
                '**/store/**',
                '**/events/**',
                '**/api/**',
                '**/server/**',
                '**/cli/**',
              ],
              message:
                'The contract imports no implementation: only architecture/, analysis/ and data/ types, which are plain TypeScript too.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: GRAPHQL_PACKAGES.map((name) => ({ name, message: 'The engine is pure compute.' })),
          patterns: [
            {
              group: [
                '**/jobs/**',
                '**/store/**',
                '**/events/**',
                '**/api/**',
                '**/server/**',
                '**/cli/**',
              ],
              message:
                'The engine is pure compute: it talks to its runner through the contract protocol only.',
            },
          ],
        },
      ],
    },
  },
  // Model files in and out: plain TypeScript that the API runs (in a worker thread), so no
  // TensorFlow.js, no engine, and nothing of the database or the jobs.
  {
    files: ['src/interop/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: GRAPHQL_PACKAGES.map((name) => ({
            name,
            message: 'Nothing below the API imports GraphQL.',
          })),
          patterns: [
            {
              group: GRAPHQL_PACKAGES.map((name) => `${name}/*`),
              message: 'Nothing below the API imports GraphQL.',
            },
            {
              group: [
                '@tensorflow/*',
                '**/engine/**',
                '**/store/**',
                '**/jobs/**',
                '**/events/**',
                '**/api/**',
                '**/server/**',
                '**/cli/**',
              ],
              message:
                'src/interop is plain TypeScript run by the API: it imports architecture/, contract/ and data/ only, never TensorFlow.js, the engine, the store or the jobs.',
            },
          ],
        },
      ],
    },
  },
);
