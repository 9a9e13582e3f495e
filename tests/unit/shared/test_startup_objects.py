"""A service process keeps its start-up objects out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from shared import service


def test_serving_freezes_the_objects_made_at_start_up(monkeypatch):
    served = []
    monkeypatch.setattr(service.uvicorn, "run", lambda app, **options: served.append(gc.get_freeze_count()))
    monkeypatch.setattr(service.service_logging, "configure", lambda *args: None)
    before = gc.get_freeze_count()
    settings = type("Settings", (), {"service_name": "web", "log_level": "INFO", "host": "127.0.0.1", "port": 1})()
    made_at_start_up = [[n] for n in range(1000)]  # tracked objects, as the app's are
    try:
        service.run_http(object(), settings)  # type: ignore[arg-type]
        assert len(served) == 1 and served[0] >= before + len(made_at_start_up)
    finally:
        gc.unfreeze()
