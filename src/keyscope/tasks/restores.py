"""The restore executor: write a stored backup's keys into the instance with ``RESTORE``.

Registered for ``TaskKind.RESTORE`` at import. The task's ``params`` hold the backup
(``backup_id`` and the paths of its files, one per shard, fixed when the restore was
created) and ``force``. The format check runs again here, on the topology the task runs
against; the files are then read one after the other, each key going where its slot lives.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from keyscope.domain import codes
from keyscope.domain.errors import NotFound
from keyscope.domain.tasks import TaskKind
from keyscope.rdb.payloads import rdb_version, read_payloads
from keyscope.redis.restore import check_format, restore_payloads
from keyscope.tasks import executors


def run_restore(ctx: executors.TaskContext) -> executors.Outcome:
    assert ctx.topology is not None  # the spec asks for the topology
    named = ctx.params.get("backup_paths") or [ctx.params["backup_path"]]  # older tasks: one
    paths = [Path(str(p)) for p in named]
    for path in paths:
        if not path.is_file():
            raise NotFound(f"the file of backup {ctx.params['backup_id']} is gone",
                           code=codes.BACKUP_NOT_FOUND)  # fmt: skip
        valkey, version = rdb_version(path)
        check_format(ctx.topology, valkey_magic=valkey, rdb_version=version)
    counts = restore_payloads(
        ctx.topology,
        ctx.auth,
        itertools.chain.from_iterable(read_payloads(p) for p in paths),
        force=bool(ctx.params.get("force")),
        max_ops_per_sec=ctx.options.max_ops_per_sec,
        cancel=ctx.cancel,
        progress=lambda restored: ctx.progress(restored, None),
    )
    result = {
        "restored_keys": counts.restored,
        "skipped_expired": counts.skipped_expired,
        "by_node": counts.by_node,
    }
    return executors.Outcome(num=counts.restored, result=result, keys_scanned=counts.restored)


executors.register(executors.ExecutorSpec(TaskKind.RESTORE, run=run_restore))
