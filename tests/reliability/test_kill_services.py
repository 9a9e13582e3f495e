"""kill -9 each service while participants, offers, needs and registrations are being posted and
matched, start it again, and check that nothing was lost, nothing is shown twice and every
consumer group caught up."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest

from tests.reliability.conftest import PROCESS_NAMES, Stack
from tests.reliability.workload import (
    Apis,
    Round,
    check_everything,
    duplicates,
    eventually,
    item_bodies,
    until_progress,
)

# A kill, a restart and the catch-up after it can take minutes on a loaded 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(600)]
log = logging.getLogger(__name__)


@pytest.mark.parametrize("victim", PROCESS_NAMES)
async def test_kill_9_mid_stream_and_restart_loses_nothing(healthy_stack: Stack, apis: Apis, victim: str):
    dead_lettered = await healthy_stack.dead_lettered()
    round_ = Round(apis, tag=f"k{uuid.uuid4().hex[:6]}", pairs=4, fault_after=2)
    work = asyncio.create_task(round_.run())
    await until_progress(round_, work)

    started = time.monotonic()
    await asyncio.to_thread(healthy_stack.kill, victim)
    await asyncio.sleep(1)  # input keeps arriving (or being retried) while it is down
    await asyncio.to_thread(healthy_stack.start, victim)
    log.info("%s killed and ready again in %.1fs", victim, time.monotonic() - started)
    await work

    await check_everything(round_, healthy_stack.consumer_groups())
    await eventually(lambda: nothing_pending(healthy_stack), timeout=60, what="every outbox to empty")
    assert await healthy_stack.dead_lettered() == dead_lettered, "a kill dead-lettered something"


async def nothing_pending(stack: Stack) -> str | None:
    pending = await stack.pending_outboxes()
    return f"documents with events not yet published: {pending}" if pending else None


async def test_listing_killed_with_posts_in_flight_answers_each_retry_once(healthy_stack: Stack, apis: Apis):
    """Clients retry with the same Idempotency-Key after the crash: each post ends in exactly one
    offer, never in a second one and never in an endless 409."""
    round_ = Round(apis, tag=f"f{uuid.uuid4().hex[:6]}", pairs=1)
    owner = await round_.register("university", 0)
    bodies = [item_bodies(round_.tag, n)[0] for n in range(12)]
    posts = [asyncio.create_task(round_.post("/listings", owner, body, f"inflight-{n}")) for n, body in enumerate(bodies)]
    await asyncio.sleep(0.3)  # some answered, some in flight
    await asyncio.to_thread(healthy_stack.kill, "listing")
    await asyncio.to_thread(healthy_stack.start, "listing")
    ids = await asyncio.gather(*posts)

    mine = await apis.listing.pages("/listings", token=owner.token, params={"mine": "true"})
    titles = [item["title"]["en"] for item in mine]
    assert not duplicates(titles), f"offers created twice by retried posts: {duplicates(titles)}"
    assert sorted(item["id"] for item in mine) == sorted(ids)
