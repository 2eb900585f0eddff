// The API explorer: GraphiQL on this server's own /graphql. Queries and mutations go over HTTP,
// subscriptions over the same graphql-transport-ws socket every other client uses, and both carry
// the API key the dashboard stores (one key for both pages).

/* global GraphiQL, React, ReactDOM, graphqlWs */

import {
  HTTP_URL,
  WS_URL,
  authorization,
  getKey,
  isAuthClose,
  setKey,
  takeKeyFromHash,
} from './api.js';
import { showKeyForm } from './key-form.js';

const DEFAULT_QUERY = `# filterscope's API explorer.
# Ctrl-Enter (or ▶) runs the operation under
# the cursor; the book icon (top left) opens
# the schema's documentation.
#
# Subscriptions run over this server's
# WebSocket, for example:
#   subscription {
#     runUpdated { runId status at }
#   }

query Runs {
  runs(first: 5) {
    totalCount
    nodes {
      id
      status
      epoch
      finalTestSR
    }
  }
}
`;

const keyPanel = document.getElementById('key-panel');
const forgetButton = document.getElementById('forget-key');
const indicator = document.getElementById('connection');

// A new key changes what both transports send and what the schema fetch returns: start afresh.
// GraphiQL keeps its tabs in localStorage, so nothing typed is lost.
const reload = () => location.reload();

function askForKey(message) {
  showKeyForm(keyPanel, message, reload);
}

forgetButton.hidden = !getKey();
forgetButton.addEventListener('click', () => {
  setKey(null);
  reload();
});

/**
 * `fetch` with the stored key. An `Authorization` header typed into GraphiQL's header editor wins
 * over the stored key; a 401 shows the key form with the server's reason.
 */
async function fetchWithKey(url, init = {}) {
  const headers = new Headers(init.headers);
  const auth = authorization();
  if (auth && !headers.has('authorization')) headers.set('authorization', auth);
  const res = await fetch(url, { ...init, headers });
  if (res.status === 401) {
    const body = await res
      .clone()
      .json()
      .catch(() => null);
    askForKey(body?.errors?.[0]?.message ?? 'the server answered 401 Unauthorized');
  }
  return res;
}

const setConnection = (state) => {
  indicator.textContent = { connecting: 'connecting…', live: '● live', idle: '' }[state] ?? '';
  indicator.dataset.state = state;
};

// One socket, opened by the first subscription (lazy) and kept for the next ones.
const wsClient = graphqlWs.createClient({
  url: WS_URL,
  lazy: true,
  keepAlive: 20_000,
  retryAttempts: 5,
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
      if (isAuthClose(event)) askForKey(event.reason || 'the API key was refused');
    },
  },
});

const fetcher = GraphiQL.createFetcher({
  url: HTTP_URL,
  wsClient,
  fetch: fetchWithKey,
  // The server answers single JSON results; there is no @defer or @stream to read in parts.
  enableIncrementalDelivery: false,
});

if (takeKeyFromHash()) forgetButton.hidden = false;

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(
    // The browser build's global is the component, with the toolkit's createFetcher on it.
    GraphiQL,
    {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: 'variables',
      // Headers typed into the editor may hold a key: keep them out of localStorage.
      shouldPersistHeaders: false,
    },
    React.createElement(GraphiQL.Logo, null, 'filterscope'),
  ),
);
