"""What changed between two analyses of the same kind: one pure function per report shape.

``diff_offline`` compares two offline reports (their JSON form, as the API stores them and
the CLI prints them), ``diff_scans`` two big-key or two hot-key results. ``old`` is the
base, ``new`` the later one; every change is ``after - before``. The same functions serve
``keyscope rdb diff`` and the API's ``.../diff?base=`` routes.

Where a figure is approximate it says so. A report lists only its largest prefixes (and a
pruned summary undercounts them, ``prefix_accuracy``): a prefix missing from a side whose
list is *complete* (exact summary, fewer prefixes of that type listed than the limit) had
no key there, so its figures on that side are 0; on an incomplete side they are unknown
(``null``), its count there below that side's smallest listed one, and the change is ranked
as if they were 0 with ``approximate`` set. The largest keys are the two top lists: a key
"entered" or "left" a list (it may have existed, smaller, on the other side), and "grown"
ranks the keys on both lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Report = Mapping[str, Any]
Row = dict[str, Any]


def _change(before: int | None, after: int | None) -> int:
    return (after or 0) - (before or 0)


def _by_type(report: Report, field: str, value: str) -> dict[str, int]:
    return {str(e["type"]): int(e[value]) for e in report.get(field) or []}


def _type_rows(old: Report, new: Report) -> list[Row]:
    ob, nb = _by_type(old, "type_bytes", "bytes"), _by_type(new, "type_bytes", "bytes")
    on, nn = _by_type(old, "type_num", "num"), _by_type(new, "type_num", "num")
    types = list(ob) + [t for t in nb if t not in ob]
    return [
        {
            "type": t,
            "bytes_before": ob.get(t, 0),
            "bytes_after": nb.get(t, 0),
            "bytes_change": nb.get(t, 0) - ob.get(t, 0),
            "num_before": on.get(t, 0),
            "num_after": nn.get(t, 0),
            "num_change": nn.get(t, 0) - on.get(t, 0),
        }
        for t in types
    ]


def _incomplete_types(report: Report, listed_limit: int | None) -> set[str]:
    """The types whose prefix list may lack some prefix the keyspace had (a type the
    report does not have at all had no key, so none of its prefixes is missing)."""
    listed: dict[str, int] = {}
    for p in report.get("largest_key_prefixes") or []:
        listed[p["type"]] = listed.get(p["type"], 0) + 1
    return {
        str(acc["type"])
        for acc in report.get("prefix_accuracy") or []
        if not acc["exact"]
        or (listed_limit is not None and listed.get(acc["type"], 0) >= listed_limit)
    }


def _prefix_rows(old: Report, new: Report, listed_limit: int | None) -> list[Row]:
    def index(report: Report) -> dict[tuple[str, str], tuple[int, int]]:
        return {(str(p["key_prefix"]), str(p["type"])): (int(p["bytes"]), int(p["num"]))
                for p in report.get("largest_key_prefixes") or []}  # fmt: skip

    before, after = index(old), index(new)
    old_partial = _incomplete_types(old, listed_limit)
    new_partial = _incomplete_types(new, listed_limit)
    rows: list[Row] = []
    for key in list(before) + [k for k in after if k not in before]:
        prefix, type_ = key
        b = before.get(key) or ((None, None) if type_ in old_partial else (0, 0))
        a = after.get(key) or ((None, None) if type_ in new_partial else (0, 0))
        rows.append(
            {
                "key_prefix": prefix,
                "type": type_,
                "bytes_before": b[0],
                "bytes_after": a[0],
                "num_before": b[1],
                "num_after": a[1],
                "approximate": type_ in old_partial | new_partial,
            }
        )
    return rows


def _name(row: Row) -> str:
    return str(row.get("key_prefix") or row.get("key") or row.get("name") or "")


def _ranked(rows: Iterable[Row], measure: Callable[[Row], int], top: int) -> list[Row]:
    """The ``top`` rows of the largest positive ``measure``, ties by name."""
    scored = [(measure(r), r) for r in rows]
    scored = [(m, r) for m, r in scored if m > 0]
    scored.sort(key=lambda mr: (-mr[0], _name(mr[1])))
    return [r for _, r in scored[:top]]


def _largest_keys(old: Report, new: Report, top: int) -> Row:
    def index(report: Report) -> dict[tuple[str, str], tuple[int, int]]:
        return {(str(k["key"]), str(k["type"])): (int(k["bytes"]), int(k["num_of_elem"]))
                for k in report.get("largest_keys") or []}  # fmt: skip

    before, after = index(old), index(new)

    def row(key: tuple[str, str]) -> Row:
        b, a = before.get(key), after.get(key)
        return {
            "key": key[0],
            "type": key[1],
            "bytes_before": b[0] if b else None,
            "bytes_after": a[0] if a else None,
            "num_of_elem_before": b[1] if b else None,
            "num_of_elem_after": a[1] if a else None,
        }

    entered = [row(k) for k in after if k not in before]
    left = [row(k) for k in before if k not in after]
    kept = [row(k) for k in after if k in before]
    return {
        "entered": entered[:top],
        "left": left[:top],
        "grown": _ranked(kept, lambda r: _change(r["bytes_before"], r["bytes_after"]), top),
    }


def _ttl_rows(old: Report, new: Report) -> list[Row]:
    ob = {t["bucket"]: t for t in old.get("ttl_distribution") or []}
    nb = {t["bucket"]: t for t in new.get("ttl_distribution") or []}
    rows = []
    for bucket in list(ob) + [b for b in nb if b not in ob]:
        o, n = ob.get(bucket, {}), nb.get(bucket, {})
        rows.append(
            {
                "bucket": bucket,
                "num_before": int(o.get("num", 0)),
                "num_after": int(n.get("num", 0)),
                "num_change": int(n.get("num", 0)) - int(o.get("num", 0)),
                "bytes_before": int(o.get("bytes", 0)),
                "bytes_after": int(n.get("bytes", 0)),
                "bytes_change": int(n.get("bytes", 0)) - int(o.get("bytes", 0)),
            }
        )
    return rows


def diff_offline(
    old: Report,
    new: Report,
    *,
    top: int = 20,
    listed_limit: int | None = None,
    keys: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The change from offline report ``old`` to ``new``.

    ``listed_limit`` is how many prefixes per type the reports could list (None: every one
    they tracked); ``keys`` is the keys added and removed, where the caller read both files
    (``keysketch.KeyOverlap.to_dict``).
    """
    prefixes = _prefix_rows(old, new, listed_limit)
    out: dict[str, Any] = {
        "kind": "offline",
        "total": {
            "bytes_before": int(old.get("total_bytes", 0)),
            "bytes_after": int(new.get("total_bytes", 0)),
            "bytes_change": int(new.get("total_bytes", 0)) - int(old.get("total_bytes", 0)),
            "num_before": int(old.get("total_num", 0)),
            "num_after": int(new.get("total_num", 0)),
            "num_change": int(new.get("total_num", 0)) - int(old.get("total_num", 0)),
        },
        "types": _type_rows(old, new),
        "prefixes_grown_by_bytes": _ranked(
            prefixes, lambda r: _change(r["bytes_before"], r["bytes_after"]), top
        ),
        "prefixes_shrunk_by_bytes": _ranked(
            prefixes, lambda r: -_change(r["bytes_before"], r["bytes_after"]), top
        ),
        "prefixes_grown_by_keys": _ranked(
            prefixes, lambda r: _change(r["num_before"], r["num_after"]), top
        ),
        "prefixes_shrunk_by_keys": _ranked(
            prefixes, lambda r: -_change(r["num_before"], r["num_after"]), top
        ),
        "largest_keys": _largest_keys(old, new, top),
        "ttl_distribution": _ttl_rows(old, new),
        "prefixes_exact": not any(r["approximate"] for r in prefixes),
    }
    if keys is not None:
        out["keys"] = dict(keys)
    return out


def _scan_index(result: Report) -> dict[tuple[int, str], Mapping[str, Any]]:
    return {(int(k.get("db", 0)), str(k["name"])): k for k in result.get("keys") or []}


def diff_scans(old: Report, new: Report, *, kind: str, top: int = 20) -> dict[str, Any]:
    """The change from big-key (``kind="bigkey"``) or hot-key (``"hotkey"``) result ``old``
    to ``new``: keys per type, the keys that entered and left the list, the ones that grew.

    A key is known by its db and name; big keys grow by ``size``, hot keys by ``freq``.
    """
    measure = "freq" if kind == "hotkey" else "size"
    before, after = _scan_index(old), _scan_index(new)

    def per_type(index: Mapping[tuple[int, str], Mapping[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in index.values():
            out[str(k["type"])] = out.get(str(k["type"]), 0) + 1
        return out

    ob, nb = per_type(before), per_type(after)

    def row(key: tuple[int, str]) -> Row:
        b, a = before.get(key), after.get(key)
        typed = a or b or {}
        out: Row = {"name": key[1], "db": key[0], "type": typed.get("type")}
        if measure == "size":
            out["unit"] = typed.get("unit")
        out[f"{measure}_before"] = b.get(measure) if b else None
        out[f"{measure}_after"] = a.get(measure) if a else None
        return out

    kept = [row(k) for k in after if k in before]
    return {
        "kind": kind,
        "num_before": len(before),
        "num_after": len(after),
        "types": [
            {
                "type": t,
                "num_before": ob.get(t, 0),
                "num_after": nb.get(t, 0),
                "num_change": nb.get(t, 0) - ob.get(t, 0),
            }
            for t in list(ob) + [t for t in nb if t not in ob]
        ],
        "entered": [row(k) for k in after if k not in before][:top],
        "left": [row(k) for k in before if k not in after][:top],
        "grown": _ranked(
            kept, lambda r: _change(r[f"{measure}_before"], r[f"{measure}_after"]), top
        ),
    }
