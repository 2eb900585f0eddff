"""filterscope from Python: the snippets of the README's "Notebooks" section, runnable as a script.

    python3 examples/notebook.py RUN_ID [PROBE_ID]

Queries over HTTP with `requests`, follows a run live over graphql-ws with `websocket-client`
(surviving server restarts: it resumes with afterSequence, backing off while the server is down), and loads the CSV exports into pandas.
Environment: FILTERSCOPE_URL (default http://127.0.0.1:4000/graphql), FILTERSCOPE_API_KEY.
Debian: apt-get install python3-requests python3-websocket python3-pandas.
"""
import json
import os
import sys
import time

import pandas as pd
import requests
import websocket

URL = os.environ.get("FILTERSCOPE_URL", "http://127.0.0.1:4000/graphql")
KEY = os.environ.get("FILTERSCOPE_API_KEY")
# A JSON POST passes Apollo's CSRF check as it is; a GET would need `apollo-require-preflight: 1`.
HEADERS = {"content-type": "application/json"}
if KEY:
    HEADERS["authorization"] = f"Bearer {KEY}"


def gql(query, **variables):
    """One query or mutation over HTTP; raises with the server's errors (message and code)."""
    response = requests.post(URL, json={"query": query, "variables": variables}, headers=HEADERS, timeout=60)
    body = response.json()
    if body.get("errors"):
        raise RuntimeError([(e["message"], e.get("extensions", {}).get("code")) for e in body["errors"]])
    return body["data"]


PROGRESS = """subscription($id: ID!, $after: Int) {
  trainingProgress(runId: $id, afterSequence: $after) { sequence type status metrics { epoch testSR } } }"""


def follow(run_id, after=0, retry_for=120):
    """Yields a run's events until its final status, each once, surviving server restarts.

    A dropped connection (a restart closes it; connecting then fails until the server is back) is
    retried after 0.5 s, 1 s, 2 s ... at most 10 s apart, and the subscription resumes after the
    last sequence seen. Gives up after `retry_for` seconds without a connection.
    """
    delay, failing_since = 0.5, None
    while True:
        ws = None
        try:
            ws = websocket.create_connection(
                URL.replace("http", "ws", 1), subprotocols=["graphql-transport-ws"], timeout=300
            )
            init = {"authorization": f"Bearer {KEY}"} if KEY else {}
            ws.send(json.dumps({"type": "connection_init", "payload": init}))
            if receive(ws)["type"] != "connection_ack":
                raise RuntimeError("the server refused the connection")
            delay, failing_since = 0.5, None
            subscribe = {"query": PROGRESS, "variables": {"id": run_id, "after": after}}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            while True:
                message = receive(ws)
                if message["type"] == "ping":
                    ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    event = message["payload"]["data"]["trainingProgress"]
                    after = event["sequence"]
                    yield event
                elif message["type"] == "error":
                    raise RuntimeError(message["payload"])
                elif message["type"] == "complete":
                    return
        except (websocket.WebSocketException, OSError) as error:
            # OSError: connection refused or reset while the server restarts.
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > retry_for:
                raise RuntimeError(f"no connection to {URL} for {retry_for} s") from error
            reason = error or type(error).__name__
            print(f"connection lost ({reason}); resuming after event {after} in {delay:g} s", file=sys.stderr)
            time.sleep(delay)
            delay = min(delay * 2, 10)
        finally:
            if ws is not None:
                ws.close()
                # After a close from the server, websocket-client leaves the socket open (close()
                # then does nothing) and the server's shutdown waits for it: close it for certain.
                ws.shutdown()


def receive(ws):
    """The next graphql-transport-ws message; a close from the server is an empty frame."""
    text = ws.recv()
    if not text:
        raise websocket.WebSocketConnectionClosedException("the server closed the connection")
    return json.loads(text)


def ranges(numbers):
    """`[1, 2, 3, 5]` as "1-3,5": gaps and repeats show at a glance."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}-{n}" if n != start else f"{n}")
            start = None
    return ",".join(parts)


def export_url(path):
    return URL.rsplit("/graphql", 1)[0] + "/export/" + path


def main():
    run_id = sys.argv[1]
    probe_id = sys.argv[2] if len(sys.argv) > 2 else None
    run = gql("query($id: ID!) { run(id: $id) { status epochs dataset } }", id=run_id)["run"]
    print(f"run {run_id}: {run['status']}, {run['epochs']} epochs on {run['dataset']}")
    sequences = []
    for event in follow(run_id):
        sequences.append(event["sequence"])
        if event["type"] == "EPOCH":
            print(f"epoch {event['metrics']['epoch']}: test SR {event['metrics']['testSR']:.3f}")
        elif event["type"] == "STATUS":
            print(f"status {event['status']}")
    print(f"events: {len(sequences)}, sequences {ranges(sequences)}")
    metrics = pd.read_csv(export_url(f"runs/{run_id}/metrics.csv"), storage_options=HEADERS)
    print(f"metrics.csv: {len(metrics)} rows, last test SR {metrics['testSR'].iloc[-1]:.3f}")
    if probe_id:
        filters = pd.read_csv(export_url(f"probes/{probe_id}/filters.csv"), storage_options=HEADERS)
        per_layer = filters.groupby("layer", sort=False).agg(filters=("index", "size"), mean_snr=("snr", "mean"))
        print(f"filters.csv: {len(filters)} rows")
        print(per_layer.to_string())


if __name__ == "__main__":
    main()
