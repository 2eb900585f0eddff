"""Follows a training run's events live over graphql-ws and exits when the run ends.

    python3 examples/subscribe.py RUN_ID [AFTER_SEQUENCE]

The graphql-transport-ws protocol by hand with websocket-client (Debian: apt-get install
python3-websocket; pip: websocket-client). FILTERSCOPE_URL (default
http://127.0.0.1:4000/graphql), FILTERSCOPE_API_KEY when the server has keys. Exit status: 0 when
the run ended, 1 on an error or a lost connection (rerun with the last sequence printed to go on
from there; follow() in examples/notebook.py does it by itself), 2 on bad usage.
"""
import json
import os
import sys

import websocket

# Events after `afterSequence` are replayed first, then the stream goes live.
QUERY = """subscription($runId: ID!, $afterSequence: Int) {
  trainingProgress(runId: $runId, afterSequence: $afterSequence) {
    sequence type status epoch error metrics { epoch trainLoss testSR } step { batch batches loss }
  }
}"""


def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and not sys.argv[2].isdigit()):
        print("usage: python3 examples/subscribe.py RUN_ID [AFTER_SEQUENCE]", file=sys.stderr)
        return 2
    run_id = sys.argv[1]
    last = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    url = os.environ.get("FILTERSCOPE_URL", "http://127.0.0.1:4000/graphql").replace("http", "ws", 1)
    key = os.environ.get("FILTERSCOPE_API_KEY")
    ws = None
    try:
        ws = websocket.create_connection(url, subprotocols=["graphql-transport-ws"], timeout=300)
        init = {"authorization": f"Bearer {key}"} if key else {}
        ws.send(json.dumps({"type": "connection_init", "payload": init}))
        if receive(ws)["type"] != "connection_ack":
            raise RuntimeError("the server did not acknowledge the connection")
        payload = {"query": QUERY, "variables": {"runId": run_id, "afterSequence": last}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = receive(ws)
            if message["type"] == "ping":
                ws.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                event = message["payload"]["data"]["trainingProgress"]
                last = event["sequence"]
                print_event(event)
            elif message["type"] == "error":
                # GraphQL errors: each has a message and extensions.code.
                print(json.dumps(message["payload"]), file=sys.stderr)
                return 1
            elif message["type"] == "complete":
                # The stream completes after the run's final status.
                print("complete")
                return 0
    except (websocket.WebSocketException, OSError, RuntimeError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        print(f"go on with: python3 examples/subscribe.py {run_id} {last}", file=sys.stderr)
        return 1
    finally:
        if ws is not None:
            ws.close()
            ws.shutdown()  # after a close from the server, close() leaves the socket open


def receive(ws):
    """The next message; the server closing the connection (a bad key: 4403) is an empty frame."""
    text = ws.recv()
    if not text:
        raise websocket.WebSocketConnectionClosedException("the server closed the connection")
    return json.loads(text)


def print_event(event):
    if event["metrics"]:
        m = event["metrics"]
        detail = f"epoch {m['epoch']}: train loss {m['trainLoss']:.4f}, test SR {m['testSR']:.3f}"
    elif event["step"]:
        s = event["step"]
        detail = f"batch {s['batch']}/{s['batches']}: loss {s['loss']:.4f}"
    else:
        detail = event["status"] or f"epoch {event['epoch']}"
    error = f" ({event['error']})" if event["error"] else ""
    print(f"#{event['sequence']} {event['type']} {detail}{error}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
