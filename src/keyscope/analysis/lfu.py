"""What an LFU counter says in accesses, after Redis ``src/evict.c`` (LFULogIncr, LFUDecrAndReturn).

A key starts at ``LFU_INIT_VAL`` (5). An access raises a counter ``c`` by one with the
probability ``1 / ((c - 5) * lfu_log_factor + 1)`` (always while ``c <= 5``), never past 255;
every ``lfu-decay-time`` minutes without an access take one off (0: counters never decay).
Going from ``k`` to ``k + 1`` therefore takes ``(k - 5) * f + 1`` accesses on average, and a
new key reaches counter ``c`` after ``n + f * n * (n - 1) / 2`` accesses, ``n = c - 5``: at the
default factor 10, 105 accesses for 10, 793 for 18. ``OBJECT FREQ`` reads the counter with the
decay applied and does not touch the key.
"""

from __future__ import annotations

LFU_INIT_VAL = 5
"""The counter of a new key (``LFU_INIT_VAL`` in server.h)."""

LFU_MAX = 255
"""Counters saturate here."""

DEFAULT_LOG_FACTOR = 10
"""``lfu-log-factor`` when a node will not say (CONFIG refused): the Redis default."""

DEFAULT_DECAY_TIME = 1
"""``lfu-decay-time`` (minutes) when a node will not say: the Redis default."""


def expected_accesses(counter: int, log_factor: int) -> int:
    """Accesses a new key needs on average before its counter reads ``counter``."""
    n = max(0, min(counter, LFU_MAX) - LFU_INIT_VAL)
    return n + max(0, log_factor) * n * (n - 1) // 2


def min_freq_for(accesses: int, log_factor: int) -> int:
    """The lowest counter that ``accesses`` reach on average; always above ``LFU_INIT_VAL``.

    A key is hot when its counter is at least this, so untouched keys (5) never are.
    """
    counter = LFU_INIT_VAL + 1
    while counter < LFU_MAX and expected_accesses(counter, log_factor) < accesses:
        counter += 1
    return counter
