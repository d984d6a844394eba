"""Figure 9: Dynatrace API requests per poll and per change, 1,000 problems with 10 changes.

Against the local fake of the API (real HTTP) and the stack the environment names, through the
poller the function runs: a first poll takes the 1,000 problems as its baseline; then 10 of them
change (5 assessments to a new risk level, 3 resolved, 2 reopened after being resolved) and one
poll carries them to the bus; then a poll with nothing new. Side by side: what the same change
poll would cost if it read every problem's details and events instead of those past its state.
"""

import os
import random
import time
import uuid

from bench.figures.common import Figure

PROBLEMS, CHANGES = 1000, 10


def dynatrace_polls(problems: int = PROBLEMS) -> Figure:
    import boto3

    from local.dynatrace_fake import DynatraceFake
    from secnotify.settings import Settings
    from secnotify.sources.dynatrace import wiring

    fig = Figure(9, f"Dynatrace ingest: API requests per poll, {problems:,} problems with {CHANGES} changes")
    fake = DynatraceFake(token=f"dt0c01.BENCH.{uuid.uuid4().hex}")
    fake.serve()
    try:
        secrets = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        arn = secrets.create_secret(Name=f"bench-dt-{uuid.uuid4().hex[:8]}", SecretString=fake.token)["ARN"]
        settings = Settings.from_environment(
            {
                **os.environ,
                "DYNATRACE_ENVIRONMENT_URL": fake.url,
                "DYNATRACE_TOKEN_SECRET_ARN": arn,
                "DYNATRACE_ALLOW_LOOPBACK_HTTP": "true",
                "DYNATRACE_REQUEST_BUDGET": "10000",
            }
        )
        wiring.reset()
        rng = random.Random(15)
        ids = [str(rng.randrange(10**18, 10**19)) for _ in range(problems)]
        fake.add_entity("PROCESS_GROUP-0A9A52EA262BC039", "easytravel-backend", "PROCESS_GROUP")
        for pid in ids:
            fake.open(pid, affected=["PROCESS_GROUP-0A9A52EA262BC039"])
        for pid in ids[8:10]:
            fake.resolve(pid)

        def poll() -> tuple[int, int, float]:
            before = fake.request_count()
            started = time.perf_counter()
            report = wiring.build_poller(settings).poll()
            if not report.complete:
                raise RuntimeError(f"poll stopped: {report.stopped_by}")
            return fake.request_count() - before, report.events_put, time.perf_counter() - started

        base_requests, base_put, base_s = poll()
        changed = rng.sample(ids[:8], 8)
        for pid in changed[:5]:
            fake.change_assessment(pid, "CRITICAL", 9.8)
        for pid in changed[5:]:
            fake.resolve(pid)
        for pid in ids[8:10]:
            fake.reopen(pid)
        change_requests, change_put, change_s = poll()
        quiet_requests, quiet_put, quiet_s = poll()
    finally:
        fake.shutdown()
    pages = -(-problems // settings.dynatrace_page_size)
    # Reading every problem instead: the same list pages, then details and events of each.
    full_read = pages + 1 + 2 * problems
    per_change = change_requests / CHANGES
    fig.lines += [
        f"first poll (baseline): {base_requests} requests, {base_put} events, {base_s:.2f} s "
        f"({pages} list pages of {settings.dynatrace_page_size} + 1 of attacks)",
        f"poll with {CHANGES} changes: {change_requests} requests ({per_change:.1f} per change: the "
        f"problem's details and events, entity names cached), {change_put} events, {change_s:.2f} s",
        f"poll with nothing new: {quiet_requests} requests, {quiet_put} events, {quiet_s:.2f} s",
        f"reading every problem's details and events instead: {full_read} requests per poll",
    ]
    ok = (
        change_put == CHANGES and base_put == 0 and quiet_put == 0 and per_change <= 3 and quiet_requests <= 3
    )
    fig.ratio = change_requests / full_read
    fig.ratio_label = f"{fig.ratio:.3f} of reading every problem"
    fig.target = "<= 3 requests per change, <= 3 per quiet poll, 10 events"
    fig.judge(ok)
    fig.summary = f"{change_requests} req/poll, {per_change:.1f} req/change"
    return fig
