import { loadConfig } from '../config.js';
import { createLogger, type LogLevel } from '../log.js';

/** A server started inside this process for one `reproduce`. */
export interface EmbeddedServer {
  readonly url: string;
  readonly home: string;
  readonly database: string;
  close(): Promise<void>;
}

/**
 * Starts `filterscope serve` in-process on a free loopback port, with the environment's
 * FILTERSCOPE_HOME / DATABASE_URL and at least one runner. Its log lines (warnings and worse,
 * unless FILTERSCOPE_LOG_LEVEL says otherwise) go to `log`, so they do not tear progress bars.
 */
export async function startEmbeddedServer(
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
): Promise<EmbeddedServer> {
  const config = loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1' });
  const level = (env.FILTERSCOPE_LOG_LEVEL || 'warn') as LogLevel;
  const logger = createLogger(level, { process: 'embedded' }, log);
  // The server (type-graphql, the database drivers) loads only when it is needed.
  const { startServer } = await import('../server/app.js');
  let server;
  try {
    server = await startServer({ ...config, runners: Math.max(1, config.runners) }, logger);
  } catch (error) {
    const message = (error as Error).message;
    if (/in use by another filterscope process/.test(message))
      throw new Error(
        `${message}. Pass --url http://127.0.0.1:<port>/graphql to use that server instead`,
        { cause: error },
      );
    throw error;
  }
  return {
    url: server.url,
    home: config.home,
    database: server.store.location,
    close: () => server.close(),
  };
}
