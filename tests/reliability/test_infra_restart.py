"""Restart the broker, then FerretDB, while participants, offers, needs and registrations are being
posted and matched; afterwards nothing is lost or shown twice, every service is still up and every
consumer group caught up.

Only when this test run owns the local broker and store of this checkout: it started them itself
(as `make test` does on a machine where they are not running), or
``HARDTECH_RELIABILITY_RESTART_INFRA=1`` says that nobody else is using them."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from types import ModuleType

import pytest

from hardtech.infra import ferretdb, kafka
from tests.reliability.conftest import Stack
from tests.reliability.workload import Apis, Round, check_everything, until_progress

ALLOWED = "HARDTECH_RELIABILITY_RESTART_INFRA"
pytestmark = [pytest.mark.integration, pytest.mark.reliability]
log = logging.getLogger(__name__)


def addresses(stack: Stack, component_name: str) -> tuple[str, str]:
    """This checkout's local address of the component, and the one the tests use."""
    if component_name == "kafka":
        return kafka.bootstrap(), stack.endpoints.kafka_bootstrap_servers
    return ferretdb.uri(), stack.endpoints.mongodb_uri


@pytest.mark.parametrize("component", [pytest.param(kafka, id="kafka"), pytest.param(ferretdb, id="ferretdb")])
async def test_restart_mid_stream_loses_nothing(healthy_stack: Stack, apis: Apis, component: ModuleType):
    component_name = component.__name__.rsplit(".", 1)[-1]
    if not healthy_stack.endpoints.owned and os.environ.get(ALLOWED) != "1":
        pytest.skip(f"this run did not start the broker and store, and {ALLOWED}=1 is not set: they may be "
                    "shared with others, so they are not restarted")
    # Known only now: the session's infrastructure is started by the fixtures, not at collection.
    if component.PROC.pid() is None:
        pytest.skip(f"no local {component_name} of this checkout runs (pid file {component.PROC.pid_file})")
    local, in_use = addresses(healthy_stack, component_name)
    if local != in_use:
        pytest.skip(f"the tests use {in_use}, not this checkout's local {component_name} at {local}")

    round_ = Round(apis, tag=f"i{uuid.uuid4().hex[:6]}", pairs=4, fault_after=2)
    work = asyncio.create_task(round_.run())
    await until_progress(round_, work)

    started = time.monotonic()
    await asyncio.to_thread(component.stop)
    await asyncio.sleep(3)  # the services keep taking (or retrying) input while it is down
    await asyncio.to_thread(component.start)
    log.info("%s stopped and answering again in %.1fs", component_name, time.monotonic() - started)
    await work

    await check_everything(round_, healthy_stack.consumer_groups(), timeout=180)
    dead = [name for name, service in healthy_stack.services.items() if service.proc.pid() is None]
    assert not dead, f"services that died while {component_name} was away: {dead}"
    # Ready again, and staying so: a readiness probe may miss once while connections re-form, but a
    # background task that died would keep /readyz at 503 for good.
    deadline = time.monotonic() + 30
    while (not_ready := [name for name, service in healthy_stack.services.items() if not service.ready()]) \
            and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert not not_ready, f"services not ready 30 s after {component_name} came back: {not_ready}"
