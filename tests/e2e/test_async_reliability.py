"""What Hearth promises about accepted events, tested against failures of the daemon and of its
disk: a 202 survives `kill -9` (every accepted event runs at least once after a restart; the
duplicates are counted and reported), and a full data directory refuses new events with a clear
5xx instead of accepting and losing them."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import threading

import botocore.exceptions
import pytest

import hearth_e2e as he

SEQ_HANDLER = r'''
def handler(event, context):
    print("SEQ %d" % event["seq"])
    return event["seq"]
'''
_SEQ = re.compile(r"^SEQ (\d+)$", re.M)


def processed(server, account: str, name: str) -> collections.Counter:
    return collections.Counter(int(n) for n in _SEQ.findall(server.function_log(account, name)))


def create_seq_function(lam, memory: int = 512) -> tuple[str, str]:
    name = f"e2e-seq-{he.unique_suffix()}"
    resp = he.create_and_wait(lam, name, zip_bytes=he.make_zip({"app.py": SEQ_HANDLER}),
                              MemorySize=memory)
    return name, resp["FunctionArn"].split(":")[4]


class Sender:
    """Sends Event invokes {"seq": n} from several threads; records which were accepted (202).
    A thread stops at its first failure (the daemon went away); what it did not get accepted
    is left for a later send()."""

    def __init__(self, server, name: str, threads: int = 8):
        self.server, self.name, self.threads = server, name, threads
        self.accepted: dict[int, str] = {}  # seq -> request id of the 202
        self.lock = threading.Lock()

    def send(self, seqs: list[int], on_accept=None) -> list[int]:
        """Sends `seqs`; returns those not accepted."""
        todo = collections.deque(seqs)
        left: list[int] = []

        def work():
            lam = he.lambda_client(self.server.endpoint, self.server.access_key,
                                   self.server.secret_key, self.server.region,
                                   max_pool_connections=2)
            while True:
                with self.lock:
                    if not todo:
                        return
                    seq = todo.popleft()
                try:
                    resp = lam.invoke(FunctionName=self.name, InvocationType="Event",
                                      Payload=json.dumps({"seq": seq}))
                    assert resp["StatusCode"] == 202
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                    with self.lock:
                        left.append(seq)
                        left.extend(todo)
                        todo.clear()
                    return
                with self.lock:
                    self.accepted[seq] = resp["ResponseMetadata"]["RequestId"]
                    count = len(self.accepted)
                if on_accept:
                    on_accept(count)

        workers = [threading.Thread(target=work) for _ in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return sorted(left)


def test_kill_9_in_the_middle_of_10000_events_loses_none(spawn_hearthd):
    total = 10_000
    server = spawn_hearthd()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    name, account = create_seq_function(lam)
    sender = Sender(server, name)

    killed = threading.Event()

    def kill_halfway(count: int):
        if count >= total // 2 and not killed.is_set():
            killed.set()
            server.kill9()

    left = sender.send(list(range(total)), on_accept=kill_halfway)
    assert killed.is_set(), "the daemon was never killed"
    accepted_before = len(sender.accepted)
    assert left, "the kill left nothing unsent: it came too late to test anything"

    server.start()  # same data dir, same port
    assert sender.send(left) == [], "the restarted daemon refused events"
    assert len(sender.accepted) == total

    def all_processed():
        seen = processed(server, account, name)
        return seen if set(sender.accepted) <= set(seen) else None
    seen = he.wait_for(all_processed, 600, "every accepted event to be processed", interval=1)
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    print(f"\nkill -9 after {accepted_before} accepted events of {total}: all {total} processed, "
          f"{duplicates} duplicate invocations ({len([n for n in seen.values() if n > 1])} events "
          "ran more than once)")
    assert set(seen) == set(range(total)), "an event ran that was never sent"


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs of this test's own: a data directory that can be filled."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(mount)],
                   check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path) -> None:
    """Writes `path` until the filesystem has no space left."""
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_data_dir_refuses_events_clearly_and_loses_none(small_disk, spawn_hearthd):
    server = spawn_hearthd(extra_args=("--event-concurrency", "1"), data_dir=small_disk / "data")
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    name, account = create_seq_function(lam, memory=128)
    sender = Sender(server, name, threads=1)
    assert sender.send([0]) == []
    he.wait_for(lambda: 0 in processed(server, account, name), 60, "the first event to run")

    filler = small_disk / "filler"
    fill(filler)
    refused = None
    for seq in range(1, 2000):
        try:
            resp = lam.invoke(FunctionName=name, InvocationType="Event",
                              Payload=json.dumps({"seq": seq}))
        except botocore.exceptions.ClientError as exc:
            refused = exc
            break
        assert resp["StatusCode"] == 202
        sender.accepted[seq] = resp["ResponseMetadata"]["RequestId"]
    assert refused is not None, "a full disk never refused an event"
    code, status, resp = he.client_error(refused)
    assert (code, status) == ("ServiceException", 503)
    assert "data directory is full" in resp["Error"]["Message"]
    assert server.alive()
    # The control plane still answers reads.
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name

    os.unlink(filler)
    assert sender.send([5000]) == [], "space was freed but events are still refused"
    he.wait_for(lambda: set(sender.accepted) <= set(processed(server, account, name)), 120,
                "every accepted event to be processed once space was freed", interval=0.5)
    assert server.dead_letters() == []
