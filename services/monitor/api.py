"""HTTP routes of the monitor: lag as JSON, the dashboard page and its data. Operators only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from services.monitor.domain.model import GroupLag, Snapshot
from services.monitor.runtime import MonitorRuntime
from shared.api.pagination import MAX_LIMIT, PageParams, decode_cursor, encode_cursor, page_params
from shared.api.security import Operator

STATIC = Path(__file__).parent / "static"

router = APIRouter(tags=["lag"])


class MemberOut(BaseModel):
    member_id: str
    client_id: str
    host: str


class PartitionLagOut(BaseModel):
    topic: str
    partition: int
    committed_offset: int | None = Field(description="null: the group never committed an offset here")
    log_end_offset: int
    lag: int | None = Field(description="messages behind the log end; null without a committed offset")
    lag_seconds: float | None
    lag_seconds_bound: str | None = Field(description="estimate (interpolated) or at_least (older than history)")
    status: str
    consumer_id: str | None
    host: str | None
    client_id: str | None


class GroupLagOut(BaseModel):
    group: str
    state: str
    protocol_type: str
    status: str
    worst_partition_status: str
    total_lag: int
    max_lag_seconds: float | None
    uncommitted_partitions: int
    members: list[MemberOut]
    partitions: list[PartitionLagOut]
    error: str | None


class LagPage(BaseModel):
    sampled_at: float | None = Field(description="seconds since the epoch of the values below")
    stale: bool = Field(description="true when the last sampling round failed: values are the last known")
    reason: str | None = Field(None, description="why the values are stale")
    items: list[GroupLagOut]
    next_cursor: str | None = None


def group_out(group: GroupLag) -> GroupLagOut:
    return GroupLagOut(
        group=group.group, state=group.state, protocol_type=group.protocol_type, status=group.status,
        worst_partition_status=group.worst_partition_status, total_lag=group.total_lag,
        max_lag_seconds=group.max_lag_seconds, uncommitted_partitions=group.uncommitted_partitions,
        members=[MemberOut(**vars(m)) for m in group.members], error=group.error,
        partitions=[PartitionLagOut(
            topic=p.topic, partition=p.partition, committed_offset=p.committed_offset,
            log_end_offset=p.log_end_offset, lag=p.lag, lag_seconds=p.lag_seconds,
            lag_seconds_bound=p.lag_seconds_bound, status=p.status,
            consumer_id=p.owner.member_id if p.owner else None, host=p.owner.host if p.owner else None,
            client_id=p.owner.client_id if p.owner else None) for p in group.partitions],
    )


def runtime_of(request: Request) -> MonitorRuntime:
    return request.app.state.runtime


def _answer(runtime: MonitorRuntime, items: list[GroupLag], next_cursor: str | None = None) -> Any:
    """200 with fresh values; 503 with the reason and the last known values marked stale."""
    snapshot: Snapshot | None = runtime.latest
    failure = runtime.failure
    page = LagPage(sampled_at=snapshot.at if snapshot else None, stale=failure is not None,
                   reason=failure.reason if failure else None, items=[group_out(g) for g in items],
                   next_cursor=next_cursor)
    if failure is None:
        return page
    return JSONResponse({"detail": f"Kafka sampling failed: {failure.reason}", **page.model_dump(mode="json")},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


@router.get("/lag", response_model=LagPage, responses={503: {"description": "broker down: stale values"}})
async def list_lag(_: Operator, request: Request, page: PageParams = Depends(page_params)) -> Any:
    """Every consumer group's lag, by group id; pages with ``cursor``."""
    runtime = runtime_of(request)
    groups = sorted(runtime.latest.groups.values(), key=lambda g: g.group) if runtime.latest else []
    after = decode_cursor(page.cursor)
    if after is not None:
        groups = [g for g in groups if g.group > str(after[0])]
    items = groups[:min(page.limit, MAX_LIMIT)]
    more = len(groups) > len(items)
    return _answer(runtime, items, encode_cursor([items[-1].group]) if more else None)


@router.get("/lag/{group}", response_model=GroupLagOut,
            responses={404: {"description": "no such consumer group"}, 503: {"description": "broker down"}})
async def group_lag(_: Operator, request: Request, group: str) -> Any:
    runtime = runtime_of(request)
    known = runtime.latest.groups.get(group) if runtime.latest else None
    if runtime.failure is not None:
        return _answer(runtime, [known] if known else [])
    if known is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"consumer group {group!r} not found on the cluster / 集群中没有该消费者组")
    return group_out(known)


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    """The page itself holds no data; it asks for the operator token and calls the JSON API."""
    return FileResponse(STATIC / "dashboard.html")


class Series(BaseModel):
    name: str
    points: list[tuple[float, float | None]]


class DeadLetterOut(BaseModel):
    topic: str
    size: int
    growth: int


class AlertOut(BaseModel):
    alert_id: str
    rule: str
    severity: str
    subject: str
    value: float
    threshold: float
    message_en: str
    message_zh: str
    since: float


class DashboardData(BaseModel):
    sampled_at: float | None
    stale: bool
    reason: str | None
    group_lag: list[Series] = Field(description="total lag in messages per group over time")
    group_lag_seconds: list[Series]
    throughput: list[Series] = Field(description="records per second per topic over time")
    dead_letters: list[DeadLetterOut]
    notification_failures: int = Field(description="records in the notification dead-letter topics")
    groups: list[dict[str, Any]]
    alerts: list[AlertOut]


@router.get("/dashboard/data", response_model=DashboardData)
async def dashboard_data(_: Operator, request: Request) -> DashboardData:
    runtime = runtime_of(request)
    monitor, snapshot = runtime.monitor, runtime.latest
    dead = sorted(snapshot.dead_letters.values(), key=lambda d: d.topic) if snapshot else []
    notification_dlqs = {runtime.settings.topic_prefix + name for name in ("notification.dlq",
                                                                             "notification-webhooks.dlq")}
    return DashboardData(
        sampled_at=snapshot.at if snapshot else None, stale=runtime.failure is not None,
        reason=runtime.failure.reason if runtime.failure else None,
        group_lag=[Series(name=g, points=[(p.at, p.total_lag) for p in h])
                   for g, h in sorted(monitor.group_history.items())],
        group_lag_seconds=[Series(name=g, points=[(p.at, p.max_lag_seconds) for p in h])
                           for g, h in sorted(monitor.group_history.items())],
        throughput=[Series(name=t, points=list(h)) for t, h in sorted(monitor.throughput_history.items())],
        dead_letters=[DeadLetterOut(topic=d.topic, size=d.size, growth=d.growth) for d in dead],
        notification_failures=sum(d.size for d in dead if d.topic in notification_dlqs),
        groups=[{"group": g.group, "state": g.state, "status": g.status, "total_lag": g.total_lag,
                 "max_lag_seconds": g.max_lag_seconds, "members": len(g.members),
                 "uncommitted_partitions": g.uncommitted_partitions}
                for g in sorted(snapshot.groups.values(), key=lambda g: g.group)] if snapshot else [],
        alerts=[AlertOut(alert_id=a.condition.alert_id, rule=a.condition.rule,
                         severity="critical" if a.condition.critical else "warning", subject=a.condition.subject,
                         value=a.condition.value, threshold=a.condition.threshold,
                         message_en=a.condition.message_en, message_zh=a.condition.message_zh, since=a.since)
                for a in runtime.alerts.active.values()],
    )
