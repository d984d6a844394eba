"""One dispatcher "Lambda instance" in its own process, fed from one SQS queue as AWS would feed it.

    python -m tests.e2e.lambda_worker --role inbox|retry --queue URL --stats FILE

``inbox``: every message is an EventBridge event, handed to the handler one at a time, deleted
after the handler returns (the EventBridge -> Lambda path; the local stack's rule target is this
queue). ``retry``: batches of up to 10 as an SQS event, with partial batch failures; only the
records the handler did not report as failed are deleted, as Lambda's SQS event source does.
Like ``local/pump.py``, but one process per instance, so concurrent instances share no globals,
and with counters for the test. Runs until stdin closes; writes ``FILE.ready`` once polling and
the counters to ``FILE`` on exit. Configuration comes from the environment, as in Lambda.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=("inbox", "retry"), required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    import boto3
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext, sqs_event

    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    sqs = boto3.client("sqs")
    stats: dict[str, Any] = {
        "role": args.role,
        "invocations": 0,
        "messages": 0,
        "batch_item_failures": 0,
        "handler_errors": 0,
        "handler_s": 0.0,
        "receive_s": 0.0,
        "errors": [],
    }
    Path(args.stats + ".ready").touch()
    while not stop.is_set():
        began = time.perf_counter()
        try:
            messages = sqs.receive_message(
                QueueUrl=args.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
        except Exception:
            stats["errors"].append(traceback.format_exc()[-2000:])
            stop.wait(0.5)
            continue
        stats["receive_s"] += time.perf_counter() - began
        if not messages:
            continue
        began = time.perf_counter()
        try:
            if args.role == "inbox":
                done = []
                for message in messages:
                    lambda_handler(json.loads(message["Body"]), LocalContext("secnotify-dispatcher"))
                    stats["invocations"] += 1
                    done.append(message)
            else:
                stats["invocations"] += 1
                result = lambda_handler(sqs_event(messages), LocalContext())
                failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                stats["batch_item_failures"] += len(failed)
                done = [m for m in messages if m["MessageId"] not in failed]
        except BatchProcessingError:
            # Powertools' contract: when every record of a batch failed, the invocation fails,
            # and Lambda hands the whole batch back. Not an error of ours.
            stats["batch_item_failures"] += len(messages)
            continue
        except Exception:
            stats["handler_errors"] += 1
            stats["errors"].append(traceback.format_exc()[-2000:])
            continue  # not deleted: SQS hands the messages back after the visibility timeout
        finally:
            stats["handler_s"] += time.perf_counter() - began
        stats["messages"] += len(messages)
        for message in done:
            sqs.delete_message(QueueUrl=args.queue, ReceiptHandle=message["ReceiptHandle"])
    Path(args.stats).write_text(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
