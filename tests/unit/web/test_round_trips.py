"""How a page used the services: requests and round trips per service, as a Server-Timing header."""

from __future__ import annotations

import pytest

from services.web.domain.round_trips import Call, Usage, round_trips, server_timing, usage, waited


def test_overlapping_calls_are_one_round_trip_and_a_call_after_them_another():
    calls = [Call("listing", 0.000, 0.010), Call("matching", 0.001, 0.004), Call("listing", 0.002, 0.012),
             Call("listing", 0.013, 0.015), Call("notification", 0.001, 0.002)]
    assert usage(calls) == [Usage("listing", 3, 2, 14.0), Usage("matching", 1, 1, 3.0),
                            Usage("notification", 1, 1, 1.0)]


def test_a_call_that_starts_inside_a_round_trip_belongs_to_it():
    calls = [Call("listing", 0.000, 0.010), Call("listing", 0.005, 0.020), Call("listing", 0.015, 0.016)]
    assert usage(calls) == [Usage("listing", 3, 1, 20.0)]


def test_the_header_states_each_service_the_waiting_and_the_apps_own_time_and_reads_back():
    calls = [Call("listing", 0.0, 0.0123), Call("matching", 0.010, 0.020), Call("listing", 0.030, 0.031)]
    assert waited(calls) == pytest.approx(0.021)
    header = server_timing(calls, answered_after=0.0251)
    assert header == ('listing;dur=13.3;desc="requests 2, round trips 2", '
                      'matching;dur=10.0;desc="requests 1, round trips 1", upstream;dur=21.0, app;dur=4.1')
    entries = [("listing", "requests 2, round trips 2"), ("matching", "requests 1, round trips 1"), ("app", "")]
    assert round_trips(entries) == {"listing": 2, "matching": 1}
    with pytest.raises(ValueError):
        round_trips([("listing", "fast")])
