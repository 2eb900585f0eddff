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
/** Browser copies of libraries the dashboard imports, served from node_modules. */
const VENDOR: Readonly<Record<string, string>> = {
  'graphql-ws.js': join(root, 'node_modules', 'graphql-ws', 'umd', 'graphql-ws.min.js'),
};

/**
 * Serves `/` (the dashboard's index.html), `/dashboard/<file>` and `/dashboard/vendor/<lib>`.
 * Returns false when `path` is none of these, so the caller can answer 404 itself.
 */
export function serveStatic(path: string, res: ServerResponse): boolean {
  let file: string | undefined;
  if (path === '/' || path === '/index.html') file = join(DASHBOARD_DIR, 'index.html');
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
  });
  createReadStream(file).pipe(res);
  return true;
}
