#!/usr/bin/env node
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server/app.js';
import { openStore, pgliteDirOf } from './store/db.js';
import { migrate } from './store/migrate.js';

const USAGE = `usage: filterscope <command>

  serve            start the API (HTTP + WebSocket on PORT, default 4000)
  migrate          apply database migrations and exit
  schema [file]    print the GraphQL SDL (or write it to file)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate': {
      const config = loadConfig();
      const store = await openStore({
        databaseUrl: config.databaseUrl,
        pgliteDir: pgliteDirOf(config.home),
      });
      await migrate(store);
      await store.close();
      process.stdout.write(`migrations applied to ${store.location}\n`);
      return 0;
    }
    case 'schema': {
      const { printAppSchema } = await import('./api/schema.js');
      const sdl = printAppSchema();
      if (rest[0]) writeFileSync(rest[0], sdl);
      else process.stdout.write(sdl);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

async function serve(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info('signal received', { signal });
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          log.error('shutdown failed', { error });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`filterscope: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
