"""Issue 18 finding 5 as a careless operator does it: ``python scripts/repro_backup_bounds.py DIR``.

Starts a redis-server with ~20 MB of values and a real ``keyscope serve`` (data in DIR), then
through the official SDK: a storm of 213 ``copy_instance`` calls on one instance; deleting
that instance while its backup is taken (and counting what is in its folder 12 s later); a
restart with an orphan file in a deleted instance's folder; 105 backups of one instance, one
after the other. Prints what each step got. RELIABILITY.md records its output.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

import httpx
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdcs.v2 import CopyInstanceRequest, DcsClient, ListBackupRecordsRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.utils.dcs import AK, PROJECT, SK, SignedClient, credentials_file
from tests.utils.servers import RedisServer, free_port, start_server

KEYSCOPE = [sys.executable, "-c", "from keyscope.cli.main import app; app()"]


def serve(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    args = [*KEYSCOPE, "serve", "--port", str(port), "--data-dir", str(data)]
    with log.open("ab") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"keyscope serve did not start: see {log}")


def register(url: str, server: RedisServer, name: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as http:
        body = {"name": name, "mode": "single", "addresses": [server.address]}
        return str(SignedClient(http).post("/instances", json_body=body).json()["instance_id"])


def copies(client: DcsClient, instance_id: str, count: int, *, retry_busy: bool) -> dict[str, int]:
    """``count`` copy_instance outcomes by status and DCS code (optionally waiting out 4961)."""
    outcome: collections.Counter[str] = collections.Counter()
    while sum(outcome.values()) < count:
        try:
            client.copy_instance(CopyInstanceRequest(instance_id=instance_id))
            outcome["200"] += 1
        except ClientRequestException as exc:
            if retry_busy and exc.error_code == "DCS.4961":
                time.sleep(0.05)  # the previous backup of the node is still being taken
                continue
            outcome[f"{exc.status_code} {exc.error_code}"] += 1
    return dict(outcome)


def main(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    if not (data / "credentials.json").exists():
        credentials_file(data / "credentials.json")
    server = start_server(root / "redis")
    server.client().mset({f"k:{i}": "v" * 1000 for i in range(20_000)})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(data, port, root / "serve.log")
    client = (
        DcsClient.new_builder()
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoints([url])
        .build()
    )
    try:
        storm = register(url, server, "storm")
        print("storm of 213 copy_instance:", copies(client, storm, 213, retry_busy=False))
        with httpx.Client(base_url=url, timeout=60) as http:
            print("delete instance:", SignedClient(http).delete(f"/instances/{storm}").status_code)
        time.sleep(12)
        folder = data / "backups" / storm
        left = sorted(p.name for p in folder.rglob("*")) if folder.exists() else None
        print("its folder 12 s later:", "absent" if left is None else left)

        process.terminate()
        process.wait(30)
        orphan = data / "backups" / "5560df16-cebf-4473-95c4-d1b573c16e79"
        orphan.mkdir(parents=True, exist_ok=True)
        (orphan / "x.rdb").write_bytes(b"REDIS0011" + b"\0" * 2**20)
        process = serve(data, port, root / "serve.log")
        print("orphan folder after a restart:", "still there" if orphan.exists() else "swept")

        server.client().flushall()
        server.client().config_set("repl-diskless-sync-delay", "0")
        many = register(url, server, "many")
        print("105 backups one after the other:", copies(client, many, 105, retry_busy=True))
        listing = client.list_backup_records(ListBackupRecordsRequest(instance_id=many, limit=1000))
        print("backups stored:", listing.total_num)
    finally:
        process.terminate()
        process.wait(30)
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
