"""Stopping a service's background tasks, and waiting for a wake-up, under cancellation."""

from __future__ import annotations

import asyncio

from shared import service
from shared.service import BackgroundTasks, woken


async def test_stop_ends_a_loop_that_swallowed_a_cancellation():
    rounds = 0

    async def loop_swallowing_the_first_cancellation() -> None:
        nonlocal rounds
        swallowed = False
        while True:
            rounds += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True  # what asyncio.wait_for does in Python 3.11 when its result arrives too

    tasks = BackgroundTasks()
    task = tasks.start(loop_swallowing_the_first_cancellation(), "swallower")
    await asyncio.sleep(0.05)
    await asyncio.wait_for(tasks.stop(), timeout=5)
    assert task.cancelled() and rounds > 1


async def test_woken_tells_a_wake_up_from_a_timeout():
    wake = asyncio.Event()
    assert not await woken(wake, 0.01)
    asyncio.get_running_loop().call_later(0.01, wake.set)
    assert await woken(wake, 5)


async def test_woken_passes_a_cancellation_that_arrives_with_the_wake_up():
    wake = asyncio.Event()
    waiter = asyncio.create_task(woken(wake, 5))
    await asyncio.sleep(0)
    wake.set()
    waiter.cancel()
    try:
        await waiter
    except asyncio.CancelledError:
        pass
    assert waiter.cancelled()


async def test_a_supervised_task_that_dies_is_started_again(monkeypatch):
    monkeypatch.setattr(service, "RESTART_FIRST_SECONDS", 0.01)
    runs = 0

    async def dies_twice() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise RuntimeError("consumer died")
        await asyncio.sleep(3600)

    tasks = BackgroundTasks()
    tasks.supervise(dies_twice, "consumer x")
    for _ in range(200):
        if runs == 3:
            break
        await asyncio.sleep(0.01)
    assert runs == 3 and tasks.restarts == {"consumer x": 2} and tasks.alive()
    await tasks.stop()
