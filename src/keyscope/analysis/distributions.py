"""Fixed-bucket distributions of an offline analysis: TTLs and value sizes."""

from __future__ import annotations

from typing import Final

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS

TTL_BUCKETS: Final = ("no_expiry", "expired", "lt_1h", "lt_1d", "lt_7d", "ge_7d")
"""Names of the TTL buckets, in report order."""

SIZE_BOUNDS: Final = (64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)
"""Upper bounds (exclusive, bytes) of the size buckets; one more bucket holds the rest."""


def ttl_bucket(expiry_ms: int | None, now_ms: int) -> int:
    """Index into TTL_BUCKETS of a key with absolute expiry ``expiry_ms`` at ``now_ms``."""
    if expiry_ms is None:
        return 0
    left = expiry_ms - now_ms
    if left <= 0:
        return 1
    if left < HOUR_MS:
        return 2
    if left < DAY_MS:
        return 3
    if left < 7 * DAY_MS:
        return 4
    return 5


def size_bucket_labels() -> list[str]:
    """Human labels of the size buckets: ``<64``, ..., ``>=16777216``."""
    return [f"<{b}" for b in SIZE_BOUNDS] + [f">={SIZE_BOUNDS[-1]}"]
