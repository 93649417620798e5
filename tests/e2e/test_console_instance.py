"""The console's instance page for a Redis Cluster with replicas: its shards and their nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.browser import artifact, launch
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.servers import Cluster, start_cluster
from tests.utils.service import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = start_cluster(tmp_path / "cluster", shards=3, with_replicas=True)
    yield started
    started.stop()


def test_the_instance_page_lists_every_shard_with_its_master_and_replica(
    tmp_path: Path, cluster: Cluster
) -> None:
    with running_app(tmp_path) as (_app, signed), launch() as browser:
        base = str(signed.http.base_url).rstrip("/")
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/console")
        page.fill("[data-testid=access-key]", AK)
        page.fill("[data-testid=secret-key]", SK)
        page.click("[data-testid=sign-in]")
        page.fill("[data-testid=instance-name]", "browser-cluster")
        page.select_option("[data-testid=instance-mode]", "cluster")
        page.fill("[data-testid=instance-addresses]", cluster.masters[0].address)
        page.click("[data-testid=register-instance]")
        page.wait_for_selector("[data-testid=shard-row]")
        summary = page.inner_text("[data-testid=shards-summary]")
        shown = [
            [cell.inner_text() for cell in row.locator("td").all()]
            for row in page.locator("[data-testid=shard-row]").all()
        ]
        nodes_table = page.inner_text("[data-testid=nodes-table]")
        page.screenshot(path=str(artifact("console-instance-cluster.png")), full_page=True)
        groups = _groups(signed)

    assert errors == []
    assert summary == "3 shards, 6 nodes"
    assert sorted(row[0] for row in shown) == sorted(g["group_name"] for g in groups)
    masters = {row[1] for row in shown}
    replicas = {row[2] for row in shown}
    assert masters == {m.address for m in cluster.masters}
    assert replicas == {r.address for r in cluster.replicas}
    assert all(row[3] == "2" for row in shown)
    for server in cluster.servers:
        assert server.address in nodes_table


def _groups(signed: SignedClient) -> list[dict[str, object]]:
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    answer = signed.request("GET", f"/instance/{instance_id}/groups")
    groups: list[dict[str, object]] = answer.json()["group_list"]
    return groups
