"""``keyscope serve`` killed with SIGKILL mid-window of the server's own hot-key tracking.

The server ends the tracking by itself (keyscope starts every window with a DURATION), the
next run resets what was left and runs its own window, and after it nothing is left.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from keyscope import defaults
from tests.integration.test_crash_sigkill import Serve, register, wait_status
from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.hotkeys_engine import tracking_active, tracking_left, wait_until
from tests.utils.servers import RedisServer
from tests.utils.traffic import plant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WINDOW_S = 4


def test_a_sigkill_mid_window_leaves_no_tracking_running_and_the_next_run_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hotkeys_lru_server: RedisServer
) -> None:
    monkeypatch.setenv("KEYSCOPE_HOTKEYS_WINDOW_S", str(WINDOW_S))
    redis = hotkeys_lru_server.client()
    data = tmp_path / "keyscope-data"
    credentials_file(data / "credentials.json")
    first = Serve(data, tmp_path / "serve.log")
    try:
        first.start()
        with httpx.Client(base_url=first.url, timeout=60) as http:
            client = SignedClient(http)
            instance_id = register(client, hotkeys_lru_server)
            killed = client.post(f"/instances/{instance_id}/hotkey-task").json()["id"]
            wait_until(lambda: tracking_active(redis), "tracking")
            first.kill()
    finally:
        first.stop()

    # Nobody will stop it: the server does, at the DURATION keyscope gave it.
    ends_within = WINDOW_S + defaults.HOTKEYS_DURATION_GRACE_S + 5
    wait_until(lambda: not tracking_active(redis), "the server-side stop", timeout=ends_within)
    assert tracking_left(redis) is not None  # stopped, its figures still held

    second = Serve(data, tmp_path / "serve.log")
    try:
        second.start()
        with httpx.Client(base_url=second.url, timeout=60) as http:
            client = SignedClient(http)
            base = f"/instances/{instance_id}"
            assert wait_status(client, f"{base}/hotkey-task/{killed}", {"failed"})["status"] == (
                "failed"
            )
            task = client.post(f"{base}/hotkey-task").json()["id"]
            wait_until(lambda: tracking_active(redis), "the next run's window")
            planted = plant(lambda _: redis, lambda _: redis)
            done = wait_status(client, f"{base}/hotkey-task/{task}", {"success", "failed"})
    finally:
        second.stop()

    assert done["status"] == "success", done
    assert [k["name"] for k in done["keys"]] == planted
    assert tracking_left(redis) is None and not tracking_active(redis)
