"""The demo's API keys are kept for the web app, readable by their owner only, and the demo names
whom to sign in as: one investor, one university and the first session's organiser."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from hardtech.demo.dataset import load
from hardtech.demo.signins import save_keys, sign_ins
from hardtech.stack import service, service_environment


def test_keys_are_saved_for_their_owner_only_and_three_sign_ins_are_named(tmp_path: Path):
    data = load()
    ids = {p.key: f"p_{n:06d}" for n, p in enumerate(data.participants)}
    keys = {p.key: f"key-{p.key}" for p in data.participants}
    path = tmp_path / "run" / "demo-keys.json"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)
    save_keys(data, ids, keys, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    first = data.participants[0]
    assert len(saved) == len(data.participants)
    assert saved[first.key] == {"id": ids[first.key], "party_type": first.party_type.value,
                                "organisation": first.organisation.pick("zh"), "api_key": keys[first.key]}
    chosen = sign_ins(data, keys)
    by_key = {f"key-{p.key}": p for p in data.participants}
    assert [by_key[s.api_key].party_type.value for s in chosen] == ["investor", "university",
                                                                     by_key[keys[data.sessions[0].organiser]].party_type.value]
    assert by_key[chosen[2].api_key].key == data.sessions[0].organiser
    assert chosen[2].role.startswith("organiser of ")


def test_the_local_stack_runs_the_web_app_pointed_at_the_other_services(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:27017")
    monkeypatch.setenv("LISTING_PORT", "9101")
    env = service_environment("web")
    assert service("web").default_port == 8006
    assert env["WEB_LISTING_URL"] == "http://127.0.0.1:9101"
    assert env["WEB_EVENTS_SESSIONS_URL"] == service("events_sessions").url
    assert env["WEB_MONITOR_URL"] == service("monitor").url
    assert env["NOTIFICATION_WEB_URL"] == service("web").url
