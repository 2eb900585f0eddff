#!/usr/bin/env node
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server/app.js';
import { openStore, pgliteDirOf } from './store/db.js';
import { migrate } from './store/migrate.js';
import { EventBus } from './events/bus.js';
import { startRunners } from './jobs/start.js';

const USAGE = `usage: filterscope <command>

  serve            start the API (HTTP + WebSocket on PORT, default 4000) and
                   FILTERSCOPE_RUNNERS embedded job runners (default 1)
  worker           run job runners only, against DATABASE_URL (GPU hosts)
  migrate          apply database migrations and exit
  schema [file]    print the GraphQL SDL (or write it to file)
  reproduce        train, probe and report through the GraphQL API
                   (filterscope reproduce --help for its options)
  import MODEL     upload a network trained elsewhere (ONNX or TensorFlow.js)
                   and measure its test SR (filterscope import --help)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'worker':
      return worker();
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
    case 'reproduce': {
      const { reproduceCommand } = await import('./cli/reproduce.js');
      const interrupted = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return reproduceCommand(rest, {
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        interrupted,
      });
    }
    case 'import': {
      const { importCommand } = await import('./cli/import.js');
      return importCommand(rest, {
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
      });
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
  return untilSignal(log, () => server.close());
}

/** Runners only: claims jobs from the shared PostgreSQL queue until SIGTERM/SIGINT. */
async function worker(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { process: 'worker' });
  if (config.databaseUrl === null) {
    throw new Error(
      'filterscope worker needs DATABASE_URL: the embedded database cannot be shared between processes',
    );
  }
  const store = await openStore({ databaseUrl: config.databaseUrl, pgliteDir: '' });
  await migrate(store);
  const bus = new EventBus(store);
  await bus.start();
  const runners = startRunners(
    { ...config, runners: Math.max(1, config.runners) },
    store,
    bus,
    log,
  );
  log.info('filterscope worker is running', {
    runners: runners.length,
    database: store.location,
    backend: config.backend,
  });
  return untilSignal(log, async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await bus.stop();
    await store.close();
    log.info('stopped');
  });
}

function untilSignal(
  log: ReturnType<typeof createLogger>,
  close: () => Promise<void>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info('signal received', { signal });
      close().then(
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
