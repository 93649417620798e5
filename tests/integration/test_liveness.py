"""The live check of instances: every node at once within a bound, silent nodes count as down."""

from __future__ import annotations

import threading

import pytest

from keyscope.domain.topology import Node, NodeRole
from keyscope.redis import liveness
from keyscope.redis.auth import Auth
from keyscope.redis.liveness import check_deployments
from keyscope.redis.topology import node_id
from tests.utils.impostors import impostors
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.integration


def _node(address: str, group: str, role: NodeRole = NodeRole.MASTER) -> Node:
    host, _, port = address.rpartition(":")
    return Node(node_id(host, int(port)), host, int(port), role, group, group)


def test_silent_nodes_are_read_together_within_the_bound_and_count_as_down(
    redis_server: RedisServer,
) -> None:
    with impostors("silent", 8) as (silent, tally):
        deployments = {"live": ([_node(redis_server.address, "g")], Auth())}
        for i in range(0, 8, 2):
            nodes = [_node(silent[i].address, "g"), _node(silent[i + 1].address, "g")]
            deployments[f"silent-{i}"] = (nodes, Auth())
        states = check_deployments(deployments, timeout=0.5, parallel=3)
    assert states["live"].running
    assert states["live"].down == ()
    assert states["live"].used_memory == pytest.approx(
        redis_server.client().info("memory")["used_memory"], rel=0.5
    )
    for i in range(0, 8, 2):
        state = states[f"silent-{i}"]
        assert not state.running
        assert state.down == (silent[i].address, silent[i + 1].address)
        assert (state.used_memory, state.max_memory) == (None, None)
    assert 1 < tally.peak <= 3


def test_a_shard_whose_only_answering_node_is_a_replica_is_not_running(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    nodes = [_node(master.address, "g"), _node(replica.address, "g", NodeRole.SLAVE)]
    assert check_deployments({"ha": (nodes, Auth())})["ha"].running
    master.stop()
    state = check_deployments({"ha": (nodes, Auth())})["ha"]
    assert not state.running
    assert state.down == (master.address,)
    assert state.stats[nodes[1].node_id] is not None


def test_a_check_beyond_the_process_bound_reads_its_nodes_one_after_another(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # every check that may have threads is running
    monkeypatch.setattr(liveness, "_pools", busy)
    with impostors("silent", 3) as (silent, tally):
        deployments = {"live": ([_node(redis_server.address, "g")], Auth())}
        deployments["silent"] = ([_node(s.address, "g") for s in silent], Auth())
        states = check_deployments(deployments, timeout=0.5, parallel=8)
    assert states["live"].running
    assert states["silent"].down == tuple(s.address for s in silent)
    assert tally.peak == 1
