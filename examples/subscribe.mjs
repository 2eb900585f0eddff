// Follows a training run's events live over graphql-ws and exits when the run ends.
//
//   node examples/subscribe.mjs <run id> [after sequence]
//
// FILTERSCOPE_URL (default http://127.0.0.1:4000/graphql) and FILTERSCOPE_API_KEY (when the server
// has keys). In a clone of filterscope, graphql-ws and ws are already installed; elsewhere:
// `npm install graphql-ws ws`. Exit status: 0 when the run ended, 1 on an error or a lost
// connection (rerun with the last sequence printed to go on from there), 2 on bad usage.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [runId, after = '0'] = process.argv.slice(2);
if (!runId || !/^\d+$/.test(after)) {
  console.error('usage: node examples/subscribe.mjs <run id> [after sequence]');
  process.exit(2);
}
const url = (process.env.FILTERSCOPE_URL ?? 'http://127.0.0.1:4000/graphql').replace(/^http/, 'ws');
const key = process.env.FILTERSCOPE_API_KEY;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: key ? { authorization: `Bearer ${key}` } : {},
  // A dropped connection ends the script: resubscribing would replay from `after` again.
  retryAttempts: 0,
});

// Events after `afterSequence` are replayed first, then the stream goes live.
const query = `subscription($runId: ID!, $afterSequence: Int) {
  trainingProgress(runId: $runId, afterSequence: $afterSequence) {
    sequence type status epoch error metrics { epoch trainLoss testSR } step { batch batches loss }
  }
}`;
let last = Number(after);

try {
  for await (const result of client.iterate({
    query,
    variables: { runId, afterSequence: last },
  })) {
    if (result.errors) throw result.errors;
    const event = result.data.trainingProgress;
    last = event.sequence;
    const { metrics, step } = event;
    const detail = metrics
      ? `epoch ${metrics.epoch}: train loss ${metrics.trainLoss.toFixed(4)}, test SR ${metrics.testSR.toFixed(3)}`
      : step
        ? `batch ${step.batch}/${step.batches}: loss ${step.loss.toFixed(4)}`
        : (event.status ?? `epoch ${event.epoch}`);
    console.log(
      `#${event.sequence} ${event.type} ${detail}${event.error ? ` (${event.error})` : ''}`,
    );
  }
  // The stream completes after the run's final status.
  console.log('complete');
} catch (error) {
  // GraphQL errors (a list, each with extensions.code), a close event (a bad key: 4403; a server
  // restart: 1001) or an Error (the server cannot be reached).
  if (Array.isArray(error)) console.error(JSON.stringify(error));
  else if (typeof error?.code === 'number') {
    console.error(`the connection closed (${error.code} ${error.reason})`);
    console.error(`go on with: node examples/subscribe.mjs ${runId} ${last}`);
  } else console.error(error?.message ?? String(error));
  process.exitCode = 1;
} finally {
  await client.dispose();
}
