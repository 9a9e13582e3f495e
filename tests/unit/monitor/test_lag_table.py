"""The lag table of `hardtech lag` and `make demo`: fits 100 columns, what is wrong comes first."""

from hardtech.lag import render, render_partitions


def group(name: str, status: str, lags: dict[str, int | None], members: int = 1) -> dict:
    partitions = [{"topic": topic, "partition": 0, "committed_offset": None if lag is None else 10,
                   "log_end_offset": 10 + (lag or 0), "lag": lag, "lag_seconds": None if lag is None else lag / 10,
                   "lag_seconds_bound": "estimate", "status": "OK", "client_id": "client-" + "x" * 40}
                  for topic, lag in lags.items()]
    return {"group": name, "status": status, "total_lag": sum(lag or 0 for lag in lags.values()),
            "max_lag_seconds": max((p["lag_seconds"] or 0 for p in partitions), default=None),
            "members": [{}] * members, "partitions": partitions}


GROUPS = [
    group("matching", "OK", {"hardtech-express-matching-ledger-changelog": None, "matching-work": 0}),
    group("notification", "ERR", {"matches": 7959, "consortia": 12}),
    group("a-consumer-group-with-a-name-much-longer-than-any-column-should-be-" * 2, "OK", {"listings": 40}),
    group("events_sessions", "WARN", {"listings": 3}),
]


def test_groups_in_error_then_warnings_then_the_most_behind_come_first_and_fit_100_columns():
    lines = render(GROUPS, None).splitlines()
    assert [line.split()[0] for line in lines] == ["GROUP", "notification", "events_sessions",
                                                    lines[3].split()[0], "matching"]
    assert "…" in lines[3].split()[0]
    assert all(len(line) <= 100 for line in lines)
    assert lines[1].split()[1:5] == ["ERR", "7971", "795.9", "2"] and lines[1].endswith("consortia,matches")


def test_one_groups_partitions_lagging_first_and_fit_100_columns():
    lines = render_partitions(GROUPS[1], "broker unreachable").splitlines()
    assert lines[0] == "STALE (last known values): broker unreachable"
    assert lines[1] == "notification: ERR, lag 7971, 1 members"
    assert [line.split()[0] for line in lines[3:]] == ["matches", "consortia"]
    assert all(len(line) <= 100 for line in lines)
