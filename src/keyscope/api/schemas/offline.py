"""Offline full-key analysis, DCS #19-#22: request, list and detail shapes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keyscope.api.schemas.common import Input, Output


class OfflineAnalysisIn(Input):
    node_id: str = Field(min_length=1, max_length=64)
    """A node of the instance, or ``"all"`` (keyscope extension, with ``backup_id``): one
    cluster-wide report over every shard file of the backup."""
    backup_id: str | None = Field(default=None, max_length=64)


class OfflineTaskId(Output):
    task_id: str


class OfflineRecordOut(Output):
    id: str
    status: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class OfflineRecordsOut(Output):
    instance_id: str
    total: int
    records: list[OfflineRecordOut]


class KeyPrefixOut(Output):
    key_prefix: str
    key_prefix_base64: str | None = None
    """keyscope addition: the prefix's exact bytes where ``key_prefix`` is escaped."""
    type: str
    bytes: int
    num: int


class LargestKeyOut(Output):
    key: str
    key_base64: str | None = None
    """keyscope addition: the key's exact bytes where ``key`` is escaped."""
    type: str
    bytes: int
    num_of_elem: int
    db: int | None = None
    """keyscope addition: the database of the key (absent in reports made before it)."""
    shard: str | None = None
    """keyscope addition, in a cluster-wide report: the shard holding the key."""


class TypeBytesOut(Output):
    type: str
    bytes: int


class TypeNumOut(Output):
    type: str
    num: int


class RecommendationOut(Output):
    """keyscope extension: one recommendation of ``analysis/advice.py`` and what it saves."""

    rule: str
    title: str
    type: str | None = None
    key_prefix: str | None = None
    keys_affected: int
    bytes_saved: int
    """Estimated by keyscope's memory model: what the server would free."""
    example_keys: list[str]
    setting: dict[str, int] | None = None


class OfflineTaskOut(Output):
    """#21: the DCS fields, then keyscope's (``status``, ``created_at``, ``reason``, extensions)."""

    id: str
    instance_id: str
    node_id: str | None = None
    backup_id: str | None = None
    group_name: str | None = None
    node_ip: str | None = None
    node_ipv6: str | None = None
    node_type: str | None = None
    analysis_type: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    largest_key_prefixes: list[KeyPrefixOut] | None = None
    largest_keys: list[LargestKeyOut] | None = None
    total_bytes: int | None = None
    total_num: int | None = None
    type_bytes: list[TypeBytesOut] | None = None
    type_num: list[TypeNumOut] | None = None
    status: str
    created_at: str | None = None
    reason: str | None = None
    db_stats: list[dict[str, Any]] | None = None
    ttl_distribution: list[dict[str, Any]] | None = None
    size_histograms: list[dict[str, Any]] | None = None
    prefix_accuracy: list[dict[str, Any]] | None = None
    memory_model: dict[str, str] | None = None
    """The memory model the byte figures follow (``name``) and why (``source``)."""
    recommendations: list[RecommendationOut] | None = None
    shards: list[dict[str, Any]] | None = None
    """Cluster-wide report (``node_id`` "all"): keys and bytes of each shard, and shares."""
    skew: dict[str, Any] | None = None
    heaviest_slots: list[dict[str, Any]] | None = None
    heaviest_hash_tags: list[dict[str, Any]] | None = None
    hash_tag_accuracy: dict[str, Any] | None = None
