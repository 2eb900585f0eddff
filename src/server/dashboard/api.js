// The dashboard's only way to the server: its own GraphQL API, POST /graphql for queries and
// graphql-ws on the same path for subscriptions, with the API key (if any) on both.

/* global graphqlWs */

// The dashboard and the explorer (explorer.js) share this entry: a key entered on one page works
// on the other.
const KEY_STORAGE = 'filterscope.apiKey';
export const HTTP_URL = '/graphql';
export const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/** A GraphQL or transport error, with the `extensions.code` the server gave (or one of ours). */
export class ApiError extends Error {
  constructor(message, code, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

// ---- API key --------------------------------------------------------------------------------

export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

/** Stores (or with null forgets) the key; the WebSocket reconnects with it on next use. */
export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  resetSocket();
}

/**
 * Accepts `#key=<key>` once: stores it and takes it out of the address bar and the history, so
 * it is not left on screen or in a bookmark.
 */
export function takeKeyFromHash() {
  const match = /^#key=(.+)$/.exec(location.hash);
  if (!match) return false;
  setKey(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return true;
}

const authListeners = new Set();
/** `fn(message)` runs whenever the server asks for a key (HTTP 401, UNAUTHENTICATED, close 4401/4403). */
export function onAuthRequired(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}
function authRequired(message) {
  for (const fn of authListeners) fn(message);
}

/** `Bearer <key>` for the stored key, or null. */
export const authorization = () => {
  const key = getKey();
  return key ? `Bearer ${key}` : null;
};

// ---- queries and mutations over HTTP ---------------------------------------------------------

/** Runs one operation; resolves with `data`, rejects with an ApiError carrying the first error. */
export async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  let res;
  try {
    res = await fetch(HTTP_URL, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError(`the server cannot be reached (${error.message})`, 'NETWORK_ERROR');
  }
  const body = await res.json().catch(() => null);
  const first = body?.errors?.[0];
  const code = first?.extensions?.code;
  if (res.status === 401 || code === 'UNAUTHENTICATED') {
    const message =
      first?.message ?? (auth ? 'the API key was refused' : 'this server needs an API key');
    authRequired(message);
    throw new ApiError(message, code ?? 'UNAUTHENTICATED', res.status);
  }
  if (first) throw new ApiError(first.message, code ?? 'GRAPHQL_ERROR', res.status);
  if (!res.ok || !body?.data) {
    throw new ApiError(
      `HTTP ${res.status} ${res.statusText} from ${HTTP_URL}`,
      'HTTP_ERROR',
      res.status,
    );
  }
  return body.data;
}

// ---- subscriptions over graphql-ws -----------------------------------------------------------

// graphql-ws: 4401 Unauthorized, 4403 Forbidden (what `onConnect` returning false sends).
const AUTH_CLOSE_CODES = new Set([4401, 4403]);
export const isAuthClose = (event) => AUTH_CLOSE_CODES.has(event?.code);

let client = null;
const connectionListeners = new Set();

/** `fn(state)` with state 'connecting', 'live' or 'idle'. */
export function onConnectionChange(fn) {
  connectionListeners.add(fn);
  return () => connectionListeners.delete(fn);
}
const setConnection = (state) => connectionListeners.forEach((fn) => fn(state));

function socket() {
  client ??= graphqlWs.createClient({
    url: WS_URL,
    lazy: true,
    keepAlive: 20_000,
    retryAttempts: 20,
    shouldRetry: (event) => !isAuthClose(event),
    connectionParams: () => {
      const auth = authorization();
      return auth ? { authorization: auth } : {};
    },
    on: {
      connecting: () => setConnection('connecting'),
      connected: () => setConnection('live'),
      closed: (event) => {
        setConnection('idle');
        if (isAuthClose(event)) authRequired(event.reason || 'the API key was refused');
      },
    },
  });
  return client;
}

function resetSocket() {
  const old = client;
  client = null;
  old?.dispose();
}

/** Describes whatever graphql-ws hands an `error` sink: GraphQL errors, a CloseEvent or an Error. */
function toApiError(error) {
  if (Array.isArray(error)) {
    const first = error[0] ?? {};
    return new ApiError(
      first.message ?? 'subscription failed',
      first.extensions?.code ?? 'GRAPHQL_ERROR',
    );
  }
  if (error && typeof error.code === 'number') {
    return new ApiError(
      `the live connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''})`,
      isAuthClose(error) ? 'UNAUTHENTICATED' : 'CONNECTION_CLOSED',
    );
  }
  return new ApiError(error?.message ?? String(error), 'CONNECTION_ERROR');
}

/**
 * Subscribes to a numbered event stream (`trainingProgress`, `probeProgress`) and hands each
 * event to `onEvent` once, in order. After a reconnect it resubscribes after the last sequence it
 * saw, so nothing is missed and nothing replays twice. Returns the function that stops it.
 */
export function subscribeEvents(query, variables, { onEvent, onError, onComplete }) {
  let last = variables.afterSequence ?? 0;
  const vars = { ...variables };
  // graphql-ws serialises the payload on every (re)connection: a getter sends the current value.
  Object.defineProperty(vars, 'afterSequence', { enumerable: true, get: () => last });
  return subscribe(query, vars, {
    onData: (data) => {
      const event = Object.values(data)[0];
      if (!event || event.sequence <= last) return;
      last = event.sequence;
      onEvent(event);
    },
    onError,
    onComplete,
  });
}

/** Subscribes to any subscription; `onData(data)` per result. Returns the function that stops it. */
export function subscribe(query, variables, { onData, onError, onComplete }) {
  let stopped = false;
  const dispose = socket().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (stopped) return;
        if (result.errors?.length) onError?.(toApiError(result.errors));
        if (result.data) onData(result.data);
      },
      error: (error) => {
        if (!stopped) onError?.(toApiError(error));
      },
      complete: () => {
        if (!stopped) onComplete?.();
      },
    },
  );
  return () => {
    stopped = true;
    dispose();
  };
}

let defaults = null;

/**
 * The server's defaults (`Query.defaults`): phase 3's metric parameters and the final statuses,
 * read once per page instead of copied here. `final` is the set of final statuses.
 */
export function serverDefaults() {
  defaults ??= gql('{ defaults { threshold normalization minScale finalStatuses } }').then(
    ({ defaults: d }) => ({ ...d, final: new Set(d.finalStatuses) }),
    (error) => {
      defaults = null; // a key may be given and the page reloaded: ask again next time
      throw error;
    },
  );
  return defaults;
}

/**
 * A link to a file of the server's (an export) that downloads it with the stored key: a plain
 * link cannot send the Authorization header the server asks for when keys are set.
 */
export async function download(path, filename) {
  const auth = authorization();
  const res = await fetch(path, { headers: auth ? { authorization: auth } : {} });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const error = body.errors?.[0];
    if (res.status === 401) authRequired(error?.message ?? 'an API key is needed');
    throw new ApiError(
      error?.message ?? `${path}: HTTP ${res.status}`,
      error?.extensions?.code ?? String(res.status),
    );
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
