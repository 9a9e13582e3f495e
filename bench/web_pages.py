"""Server time of the web app's pages on the demo's data set: each page of the list below, asked
for again and again by one browser-like client (the session cookie of one of the demo's
participants, as `make demo` prints them: an investor, a university and the first session's
organiser), p50 and p99 of the time to the answer; and from the answer's Server-Timing header,
the app's own time (without the waiting for services) and the round trips to each service.

Every service runs as its own process (listing, events_sessions, matching, notification and the
web app) on a throw-away namespace of the local broker and store; the demo's data set is loaded
through their APIs as `make demo` does, and the pages are measured once matching has made the
matches and every session's agenda is published.

    .venv/bin/python -m bench.web_pages [--requests 50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port, median, percentile, wait_ready, write_section
from hardtech.namespace import delete_namespace
from hardtech.stack import SERVICES as STACK
from services.web.domain.round_trips import round_trips
from shared import topics
from shared.kafka import ensure_topics
from shared.party_types import PartyType, Side
from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("listing", "events_sessions", "matching", "notification", "web")
GOAL_MS = 100.0
BUDGET_SECONDS = 40.0
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TIMING = re.compile(r'([a-z_]+);dur=([0-9.]+)(?:;desc="([^"]*)")?')


@dataclass
class Page:
    who: str
    path: str
    seconds: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)  # the app's own time, from Server-Timing
    trips: dict[str, int] = field(default_factory=dict)  # most round trips seen per service
    waits: dict[str, list[float]] = field(default_factory=dict)  # seconds waiting for each service, per answer


def _environment(namespace: str, ports: dict[str, int], datadir: Path) -> dict[str, str]:
    """What the local stack gives its services (hardtech.stack), on this run's ports and namespace."""
    env = {**os.environ, "HARDTECH_ENVIRONMENT": "local", "HARDTECH_TOPIC_PREFIX": namespace,
           "HARDTECH_LOG_LEVEL": "WARNING", "MATCHING_DATADIR": str(datadir),
           "LISTING_AUTH_RATE_PER_IP": "100000", "LISTING_SIGNUP_RATE_PER_IP": "100000"}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_DATABASE"] = f"{namespace.rstrip('-')}_{name}"
        if name != "web":
            env[f"WEB_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
    env["NOTIFICATION_WEB_URL"] = f"http://127.0.0.1:{ports['web']}"
    return env


def _start(name: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                            stdout=(logs / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


async def _load_demo() -> Any:
    """The demo's data set through the services' APIs, in the demo's order (its webhooks, which
    point at the development sink, left out)."""
    from rich.console import Console

    from hardtech.demo.dataset import load
    from hardtech.demo.run import Demo  # after the ports are in the environment: it reads them

    demo = Demo(load(), Console(stderr=True))
    data = demo.data
    clock: list[Any] = []

    async def each(label: str, things: list[Any], action: Callable[[Any], Awaitable[None]]) -> None:
        started = time.monotonic()
        gate = asyncio.Semaphore(32)

        async def one(thing: Any) -> None:
            async with gate:
                await action(thing)

        await asyncio.gather(*(one(t) for t in things))
        print(f"  {label}: {len(things)} in {time.monotonic() - started:.0f} s", flush=True)

    await each("participants", data.participants, demo.register_participant)
    await each("organisers verified", data.sessions, demo.grant_organiser)
    await each("signed in", data.participants, demo.sign_in)
    await each("offers and needs", data.items, demo.post_item)
    clock.append(demo.loaded.first_posted)
    await each("sessions", data.sessions, lambda s: demo.create_session(s, clock[0]))
    await each("registrations", data.registrations, demo.register)
    await each("meeting requests", data.meeting_requests, demo.request_meeting)
    await each("registration closed", data.sessions, demo.close_registration)
    return demo


async def _settled(demo: Any, people: dict[str, str], timeout: float = 900) -> None:
    """Every session's agenda published and the measured participants' matches no longer growing."""
    urls = _urls()
    deadline = time.monotonic() + timeout
    before: tuple[int, ...] | None = None
    async with httpx.AsyncClient(timeout=60) as client:
        while time.monotonic() < deadline:
            agendas = [await client.get(f"{urls['events_sessions']}/sessions/{demo.loaded.ids[s.key]}/agenda",
                                        headers=_bearer(demo.loaded.tokens[s.organiser])) for s in demo.data.sessions]
            counts = tuple([len((await client.get(f"{urls['matching']}/matches", params={"limit": 100},
                                                  headers=_bearer(demo.loaded.tokens[key]))).json()["items"])
                            for key in people.values()])
            if all(a.status_code == 200 for a in agendas) and all(counts) and counts == before:
                print(f"  settled: agendas published, matches {counts}", flush=True)
                return
            before = counts
            await asyncio.sleep(10)
    raise RuntimeError("the agendas or the matches did not settle in time")


def _urls() -> dict[str, str]:
    """The services' addresses, from the ports this run put in the environment."""
    return {s.name: s.url for s in STACK}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _people(demo: Any) -> dict[str, str]:
    """The participants `make demo` prints (hardtech.demo.signins): role → participant key."""
    data = demo.data
    chosen = {role: next(p.key for p in data.participants if p.party_type is party)
              for role, party in (("investor", PartyType.INVESTOR), ("university", PartyType.UNIVERSITY))}
    chosen["organiser"] = data.sessions[0].organiser
    return chosen


async def _signed_in(web: str, api_key: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=web, timeout=60)
    form = await client.get("/signin")
    token = CSRF.search(form.text)
    assert token, "no CSRF token on the sign-in page"
    answer = await client.post("/signin", data={"csrf": token[1], "api_key": api_key})
    assert answer.status_code == 303 and "hardtech_session" in client.cookies, answer.text[:300]
    return client


async def _pages_of(demo: Any, people: dict[str, str]) -> list[Page]:
    urls = _urls()
    session_id = demo.loaded.ids[demo.data.sessions[0].key]
    pages = [Page("anyone", path) for path in ("/", "/signin", "/signup", "/sessions")]
    async with httpx.AsyncClient(timeout=60) as client:
        for role in ("investor", "university"):
            key = people[role]
            matches = (await client.get(f"{urls['matching']}/matches", params={"limit": 1},
                                        headers=_bearer(demo.loaded.tokens[key]))).json()["items"]
            item = next(i for i in demo.data.items if i.owner == key)
            side = "offer" if item.side is Side.OFFER else "need"
            paths = ["/", "/items", "/matches", f"/matches/{matches[0]['match_id']}", "/teams", "/sessions",
                     f"/sessions/{session_id}", "/agenda", "/inbox", "/preferences", f"/items/{side}/new",
                     f"/items/{side}/{demo.loaded.ids[item.key]}/edit"]
            pages += [Page(role, path) for path in paths]
    pages += [Page("organiser", path) for path in ("/organise", f"/organise/{session_id}",
                                                   f"/organise/{session_id}/edit")]
    return pages


async def _measure(page: Page, client: httpx.AsyncClient, requests: int) -> None:
    """``requests`` answers after two to warm up; a page that takes seconds is asked fewer times
    (at least 3, within ``BUDGET_SECONDS``)."""
    deadline = time.monotonic() + BUDGET_SECONDS
    for n in range(requests + 2):
        if n >= 5 and time.monotonic() > deadline:
            break
        started = time.perf_counter()
        answer = await client.get(page.path)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, f"{page.who} {page.path}: {answer.status_code} {answer.text[:300]}"
        timing = TIMING.findall(answer.headers.get("server-timing", ""))
        if n < 2:
            continue
        page.seconds.append(elapsed)
        own = [float(dur) for name, dur, _ in timing if name == "app"]
        page.own.append(own[0] / 1000 if own else elapsed)
        for service, trips in round_trips([(name, desc) for name, _, desc in timing]).items():
            page.trips[service] = max(page.trips.get(service, 0), trips)
        for name, dur, desc in timing:
            if desc:
                page.waits.setdefault(name, []).append(float(dur) / 1000)


async def main(requests: int) -> None:
    namespace = f"bweb{uuid.uuid4().hex[:8]}-"
    ports = {name: free_port() for name in SERVICES}
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = _environment(namespace, ports, workdir / "matching")
    os.environ.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    os.environ["HARDTECH_ENVIRONMENT"] = "local"
    loads = [os.getloadavg()[0]]  # the machine may be shared: the load average at the start, then the end
    common = CommonSettings(topic_prefix=namespace)
    await ensure_topics(common, topics.ALL)
    processes = [_start(name, env, workdir) for name in (*SERVICES, "matching.worker")]
    try:
        for name, port in ports.items():
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as probe:
                await wait_ready(probe, name, timeout=120)
        loading = time.monotonic()
        demo = await _load_demo()
        people = _people(demo)
        await _settled(demo, people)
        print(f"loaded and settled in {time.monotonic() - loading:.0f} s", flush=True)
        pages = await _pages_of(demo, people)
        web = f"http://127.0.0.1:{ports['web']}"
        clients = {"anyone": httpx.AsyncClient(base_url=web, timeout=60),
                   **{role: await _signed_in(web, demo.loaded.api_keys[key]) for role, key in people.items()}}
        try:
            for page in pages:
                await _measure(page, clients[page.who], requests)
                print(f"  {page.who:<10} {page.path:<40} p50 {median(page.seconds) * 1000:6.1f} ms  "
                      f"p99 {percentile(page.seconds, 99) * 1000:6.1f} ms", flush=True)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients.values()))
            await demo.close()
        loads.append(os.getloadavg()[0])
        _report(pages, requests, demo, loads)
    finally:
        _stop(processes)
        await delete_namespace(common.kafka_bootstrap_servers, common.mongodb_uri, namespace)


def _report(pages: list[Page], requests: int, demo: Any, loads: list[float]) -> None:
    data = demo.data
    lines = ["| who | page | p50 ms | p99 ms | requests | app's own p50 / p99 ms | round trips per service "
             "(p50 / p99 ms waiting for it) | p99 < 100 ms |", "|---|---|---:|---:|---:|---:|---|---|"]
    for page in pages:
        p99 = percentile(page.seconds, 99) * 1000
        trips = ", ".join(f"{s} {n} ({median(page.waits[s]) * 1000:.0f} / {percentile(page.waits[s], 99) * 1000:.0f})"
                          for s, n in sorted(page.trips.items())) or "none"
        shown = re.sub(r"/(m|s|l|d)_[0-9a-zA-Z]+", lambda m: f"/{{{m[1]}_id}}", page.path)
        lines.append(f"| {page.who} | `{shown}` | {median(page.seconds) * 1000:.1f} | {p99:.1f} | {len(page.seconds)} | "
                     f"{median(page.own) * 1000:.1f} / {percentile(page.own, 99) * 1000:.1f} | {trips} | "
                     f"{'yes' if p99 < GOAL_MS else 'no'} |")
    table = "\n".join(lines)
    print(table)
    met = sum(percentile(p.seconds, 99) * 1000 < GOAL_MS for p in pages)
    body = (f"The demo's data set ({len(data.participants)} participants, {len(data.items)} offers and needs, "
            f"{len(data.sessions)} sessions, {len(data.registrations)} registrations, {len(data.meeting_requests)} "
            f"meeting requests) loaded through the services' APIs; every service its own process on the local "
            f"Kafka and FerretDB v1 (SQLite). {requests} sequential requests per page after two to warm up (fewer, "
            f"at least 3, where a page takes seconds: within {BUDGET_SECONDS:.0f} s a page), one "
            f"client with the session cookie of the participant named (as `make demo` prints them). The time is "
            f"to the whole answer, on the loopback; the app's own time is that less the time waiting for any "
            f"service, from the page's Server-Timing header, which also gives the round trips per service and the time "
            f"waiting for each.\n\n"
            f"Command: `.venv/bin/python -m bench.web_pages --requests {requests}`\n\n{table}\n\n"
            f"Goal: p99 < {GOAL_MS:.0f} ms per page — met by {met} of {len(pages)} pages in this run. Load average "
            f"(1 min) {loads[0]:.1f} at the start, {loads[-1]:.1f} at the end ({os.cpu_count()} CPUs).")
    print("wrote", write_section("web_pages", "Web app: server time per page on the demo's data", body))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--quick", action="store_true", help="10 requests per page")
    arguments = parser.parse_args()
    asyncio.run(main(10 if arguments.quick else arguments.requests))
