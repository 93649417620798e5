"""Hot keys from the server's own tracking (HOTKEYS, Redis 8.6+), with traffic sent mid-window.

Such a server needs no LFU policy; where it has one too, counters and shares stand side by
side. However a window ends (done, cancelled, another client's session in the way), no
tracking is left on the server.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
import time
from pathlib import Path

import pytest
import redis

from keyscope.analysis.hotkeys import ensure_hotkeys_supported, find_hotkeys
from keyscope.domain.errors import NodeError, TaskCancelled
from keyscope.domain.keys import HotKeyReport
from keyscope.domain.scan import Cancellation, ScanOptions
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.hotkeys_tracking import TrackingWindow
from keyscope.redis.topology import discover
from tests.utils.hotkeys_engine import (
    during_window,
    tracking_active,
    tracking_left,
    wait_until,
)
from tests.utils.servers import RedisServer, running, start_replica
from tests.utils.traffic import plant

pytestmark = pytest.mark.integration

WINDOW = ScanOptions(max_ops_per_sec=None, scan_count=100, hotkeys_window_s=4)


def _analyse(server: RedisServer, options: ScanOptions = WINDOW) -> HotKeyReport:
    topology = discover(InstanceMode.SINGLE, [server.address], NO_AUTH)
    return find_hotkeys(topology, NO_AUTH, options)


def _traffic(client: redis.Redis) -> list[str]:
    return plant(lambda _: client, lambda _: client)


def test_without_lfu_the_planted_keys_are_found_by_their_traffic_share_and_tracking_ends(
    hotkeys_lru_server: RedisServer,
) -> None:
    client = hotkeys_lru_server.client()
    topology = discover(InstanceMode.SINGLE, [hotkeys_lru_server.address], NO_AUTH)
    ensure_hotkeys_supported(topology, NO_AUTH)  # no DCS.4922 without an LFU policy
    planted: list[str] = []

    report = during_window(
        client, lambda: _analyse(hotkeys_lru_server), lambda: planted.extend(_traffic(client))
    )

    assert [k.name for k in report.keys] == planted
    net = [k.net_share or 0.0 for k in report.keys]
    assert net == sorted(net, reverse=True) and net[-1] >= 0.01
    assert all(k.cpu_share is not None and k.cpu_share > 0 for k in report.keys)
    assert {(k.freq, k.node, k.type, k.size) for k in report.keys} == {
        (None, hotkeys_lru_server.address, "string", 32)
    }
    assert (report.window_s, report.min_share, report.lfu) == (4, 0.01, ())
    assert report.tracked_nodes == (hotkeys_lru_server.address,)
    assert tracking_left(client) is None and not tracking_active(client)


def test_with_lfu_too_counters_and_shares_stand_side_by_side(
    hotkeys_lfu_server: RedisServer,
) -> None:
    client = hotkeys_lfu_server.client()
    planted: list[str] = []

    report = during_window(
        client, lambda: _analyse(hotkeys_lfu_server), lambda: planted.extend(_traffic(client))
    )

    assert [k.name for k in report.keys] == planted
    assert {k.name: k.freq for k in report.keys} == {
        n: int(client.object("freq", n)) for n in planted
    }
    assert all(k.cpu_share and k.net_share for k in report.keys)
    assert report.lfu[0].min_freq == 10 and report.tracked_nodes
    assert tracking_left(client) is None


def test_no_traffic_in_the_window_and_no_counter_above_the_floor_is_an_empty_list(
    hotkeys_lfu_server: RedisServer,
) -> None:
    client = hotkeys_lfu_server.client()
    plant(lambda _: client, lambda _: client, hot={})

    assert _analyse(hotkeys_lfu_server).keys == []
    assert tracking_left(client) is None


def test_a_cancelled_window_stops_and_resets_the_tracking(
    hotkeys_lru_server: RedisServer,
) -> None:
    client = hotkeys_lru_server.client()
    cancel = Cancellation()
    topology = discover(InstanceMode.SINGLE, [hotkeys_lru_server.address], NO_AUTH)
    options = dataclasses.replace(WINDOW, hotkeys_window_s=30)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            find_hotkeys(topology, NO_AUTH, options, cancel=cancel)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: tracking_active(client), "tracking")
    cancel.cancel()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert [type(e) for e in outcome] == [TaskCancelled]
    assert tracking_left(client) is None


def _session_start(client: redis.Redis) -> int | None:
    """collection-start-time-unix-ms of the active session, None when none is active."""
    reply = client.execute_command("HOTKEYS", "GET")
    if reply is None:
        return None
    body = reply[0] if isinstance(reply, list) else reply  # redis-py may shape it already
    pairs = body.items() if isinstance(body, dict) else zip(body[::2], body[1::2], strict=True)
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in pairs}
    return int(fields["collection-start-time-unix-ms"]) if int(fields["tracking-active"]) else None


def test_a_session_left_by_a_killed_run_is_waited_for_then_reset(
    hotkeys_lru_server: RedisServer,
) -> None:
    client = hotkeys_lru_server.client()
    # What a keyscope killed mid-window leaves: an active session that ends by its DURATION.
    client.execute_command("HOTKEYS", "START", "METRICS", 1, "CPU", "DURATION", 1)
    leftover = _session_start(client)
    assert leftover is not None

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(_analyse, hotkeys_lru_server)
        wait_until(lambda: (_session_start(client) or leftover) != leftover, "our own window")
        planted = _traffic(client)
        assert tracking_active(client), "the traffic outlasted the tracking window"
        report = future.result(timeout=60)

    assert [k.name for k in report.keys] == planted
    assert tracking_left(client) is None


def test_a_stopped_session_nobody_reset_is_cleaned_up_first(
    hotkeys_lru_server: RedisServer,
) -> None:
    client = hotkeys_lru_server.client()
    client.execute_command("HOTKEYS", "START", "METRICS", 1, "NET")
    client.execute_command("HOTKEYS", "STOP")
    assert tracking_left(client) is not None

    report = during_window(client, lambda: _analyse(hotkeys_lru_server), lambda: _traffic(client))

    assert len(report.keys) == 3
    assert tracking_left(client) is None


def test_a_session_someone_else_runs_is_left_alone_and_the_run_refused(
    hotkeys_lru_server: RedisServer,
) -> None:
    client = hotkeys_lru_server.client()
    client.execute_command("HOTKEYS", "START", "METRICS", 1, "CPU")  # no DURATION: not ours
    time.sleep(1.2)
    topology = discover(InstanceMode.SINGLE, [hotkeys_lru_server.address], NO_AUTH)
    window = TrackingWindow([topology.nodes[0]], NO_AUTH, window_s=1, foreign_after_s=1)

    with pytest.raises(NodeError) as refused:
        window.run()

    assert "did not start" in refused.value.message
    assert hotkeys_lru_server.address in refused.value.message
    assert tracking_active(client)  # still theirs, still running
    client.execute_command("HOTKEYS", "STOP")
    client.execute_command("HOTKEYS", "RESET")


def test_reads_on_a_replica_are_tracked_on_the_replica_and_reported_with_it(
    hotkeys_lru_server: RedisServer, tmp_path: Path
) -> None:
    master = hotkeys_lru_server
    with running(start_replica(master, tmp_path / "replica")) as replica:
        replica.client().config_set("maxmemory-policy", "allkeys-lru")
        topology = discover(InstanceMode.HA, [master.address], NO_AUTH)
        reads, writes = replica.client(), master.client()
        planted: list[str] = []

        report = during_window(
            reads,
            lambda: find_hotkeys(topology, NO_AUTH, WINDOW),
            lambda: planted.extend(plant(lambda _: writes, lambda _: reads)),
        )

        assert [k.name for k in report.keys] == planted
        assert {k.node for k in report.keys} == {replica.address}
        assert set(report.tracked_nodes) == {master.address, replica.address}
        assert tracking_left(reads) is None and tracking_left(writes) is None
