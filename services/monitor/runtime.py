"""The sampling loop: observe the cluster, evaluate, raise and clear alerts, remember failures.

Outputs read ``latest`` and ``failure``: when the last round failed, they serve the last known
values marked stale with the reason, and never wait for Kafka themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from pymongo.errors import PyMongoError

from services.monitor.domain.alerts import AlertBook, AlertRules, conditions
from services.monitor.domain.model import Snapshot
from services.monitor.domain.monitor import LagMonitor, MonitorConfig
from services.monitor.events import KafkaSampler, SamplingFailed
from services.monitor.settings import Settings
from services.monitor.storage import AlertStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    reason: str
    at: float


class MonitorRuntime:
    def __init__(self, settings: Settings, store: AlertStore, *, on_alert_stored=lambda: None):
        self.settings = settings
        self.monitor = LagMonitor(MonitorConfig(settings.window, settings.timeline_capacity, settings.history))
        self.rules = AlertRules(settings.alert_lag_messages, settings.alert_lag_seconds,
                                dead_letter_growth=settings.alert_dead_letter_growth)
        self.alerts = AlertBook()
        self.sampler = KafkaSampler(settings)
        self.failure: Failure | None = Failure("not sampled yet: the first round is running", time.time())
        self._store = store
        self._alerts_loaded = False
        self._on_alert_stored = on_alert_stored

    @property
    def latest(self) -> Snapshot | None:
        return self.monitor.latest

    async def sample_once(self) -> Snapshot | None:
        try:
            observation = await self.sampler.observe()
        except SamplingFailed as exc:
            log.warning("sampling failed: %s", exc.reason)
            self.failure = Failure(exc.reason, time.time())
            return None
        snapshot = self.monitor.observe(observation)
        self.failure = None
        await self._update_alerts(snapshot)
        return snapshot

    async def _update_alerts(self, snapshot: Snapshot) -> None:
        try:
            if not self._alerts_loaded:  # alerts raised before a restart must still clear
                self.alerts.active = {a.condition.alert_id: a for a in await self._store.active()}
                self._alerts_loaded = True
            raised, cleared = self.alerts.update(conditions(snapshot, self.rules), snapshot.at)
            for alert in raised:
                await self._store.record(alert, raised=True)
            for alert in cleared:
                await self._store.record(alert, raised=False)
        except PyMongoError as exc:
            # Forget the in-memory book so the next round reconciles with what is stored.
            log.warning("alert state not stored, retrying next round: %s", exc)
            self._alerts_loaded = False
            return
        if raised or cleared:
            self._on_alert_stored()

    async def run(self) -> None:
        interval = self.settings.sample_interval_seconds
        while True:
            started = time.monotonic()
            await self.sample_once()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
