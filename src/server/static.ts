import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** The package root: the nearest folder above this module that holds package.json. */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

const root = packageRoot();
/** The dashboard's files, served as they are (no build step): src/server/dashboard. */
export const DASHBOARD_DIR = join(root, 'src', 'server', 'dashboard');
const modules = join(root, 'node_modules');
/**
 * Browser builds of the libraries the dashboard and the explorer load, served from node_modules as
 * their packages ship them (no build step, nothing from the internet). GraphiQL 4 is the last
 * major with a browser (UMD) build, and it needs React 18's UMD builds (React 19 has none).
 */
const VENDOR: Readonly<Record<string, string>> = {
  'graphql-ws.js': join(modules, 'graphql-ws', 'umd', 'graphql-ws.min.js'),
  'graphiql.js': join(modules, 'graphiql', 'graphiql.min.js'),
  'graphiql.css': join(modules, 'graphiql', 'graphiql.min.css'),
  'react.js': join(modules, 'react', 'umd', 'react.production.min.js'),
  'react-dom.js': join(modules, 'react-dom', 'umd', 'react-dom.production.min.js'),
};

/** The explorer's page (GraphiQL), at `/explorer` and at `GET /graphql` from a browser. */
export const EXPLORER_PATH = '/explorer';

/**
 * Serves `/` (the dashboard's index.html), `/explorer` (explorer.html), `/dashboard/<file>` and
 * `/dashboard/vendor/<lib>`, with `headers` added. Returns false when `path` is none of these, so
 * the caller can answer 404 itself.
 */
export function serveStatic(
  path: string,
  res: ServerResponse,
  headers: Readonly<Record<string, string>> = {},
): boolean {
  let file: string | undefined;
  if (path === '/' || path === '/index.html') file = join(DASHBOARD_DIR, 'index.html');
  else if (path === EXPLORER_PATH) file = join(DASHBOARD_DIR, 'explorer.html');
  else if (path.startsWith('/dashboard/vendor/'))
    file = VENDOR[path.slice('/dashboard/vendor/'.length)];
  else if (path.startsWith('/dashboard/')) {
    const relative = normalize(decodeURIComponent(path.slice('/dashboard/'.length)));
    if (relative.startsWith('..') || relative.includes(`${sep}..`)) return false;
    file = join(DASHBOARD_DIR, relative);
  }
  if (file === undefined || !existsSync(file) || !statSync(file).isFile()) return false;
  const stats = statSync(file);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': stats.size,
    // The page holds no data: it is safe to cache briefly, and a redeploy shows within a minute.
    'cache-control': 'public, max-age=60',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  createReadStream(file).pipe(res);
  return true;
}
