"""Event source mappings for Redis streams end to end: Debian's redis-server started here on a
loopback port, mappings made with the AWS CLI and boto3, records delivered in order, a failing
batch bisected and the poison record sent to OnFailure, positions kept across a restart."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import botocore.exceptions
import pytest

import hearth_e2e as he

REDIS = "/usr/bin/redis-server"

# Prints each record it gets; fails the whole batch if any record has the field fail=1.
STREAM_HANDLER = r'''
import json

def handler(event, context):
    for r in event["Records"]:
        print("RECORD " + json.dumps({"id": r["eventID"], "fields": r["redis"].get("fields")}))
    if any((r["redis"].get("fields") or {}).get("fail") == "1" for r in event["Records"]):
        raise RuntimeError("poison record")
    return len(event["Records"])
'''


def _resp(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Redis:
    """One redis-server of this test's own, on 127.0.0.1, and a minimal RESP client for it."""

    def __init__(self, tmp_path):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        he.wait_for(self._ping, 10, "redis-server to answer PING", interval=0.02)

    def _ping(self) -> bool:
        try:
            return self.command("PING") == b"+PONG"
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(_resp(*args))
            reply = conn.recv(65536)
        return reply.split(b"\r\n")[0] if reply[:1] in (b"+", b"-", b":") else reply

    def xadd(self, key: str, **fields: str) -> str:
        args = ["XADD", key, "*"]
        for k, v in fields.items():
            args += [k, v]
        reply = self.command(*args)
        assert reply.startswith(b"$"), reply
        return reply.split(b"\r\n")[1].decode()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def redis(tmp_path):
    if not os.path.exists(REDIS):
        pytest.skip(f"{REDIS} is missing (scripts/install-deps installs redis-server)")
    server = Redis(tmp_path)
    yield server
    server.stop()


def arn_of(redis: Redis, key: str) -> str:
    return f"arn:aws:redis:::stream/127.0.0.1:{redis.port}/0/{key}"


def records_seen(server, account: str, name: str) -> list[dict]:
    return [json.loads(line[len("RECORD "):])
            for line in server.function_log(account, name).splitlines()
            if line.startswith("RECORD ")]


@pytest.fixture
def stream_function(create_function):
    def make(**kwargs):
        resp = create_function(files={"app.py": STREAM_HANDLER}, **kwargs)
        return resp["FunctionName"], resp["FunctionArn"], resp["FunctionArn"].split(":")[4]
    return make


def test_a_mapping_delivers_records_in_order_and_follows_updates(hearthd, lam, aws_cli, redis,
                                                                 stream_function):
    name, arn, account = stream_function()
    source = arn_of(redis, "orders")
    created = json.loads(aws_cli(
        "lambda", "create-event-source-mapping", "--function-name", name,
        "--event-source-arn", source, "--starting-position", "TRIM_HORIZON",
        "--batch-size", "3").stdout)
    uuid = created["UUID"]
    assert created["State"] == "Creating"
    assert created["FunctionArn"] == arn and created["EventSourceArn"] == source
    assert created["BatchSize"] == 3 and created["MaximumRetryAttempts"] == -1

    ids = [redis.xadd("orders", order=str(i)) for i in range(7)]
    he.wait_for(lambda: len(records_seen(hearthd, account, name)) >= 7, 60, "7 records")
    assert [r["id"] for r in records_seen(hearthd, account, name)] == ids
    assert records_seen(hearthd, account, name)[2]["fields"] == {"order": "2"}

    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled" and got["LastProcessingResult"] == "OK"
    listed = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    assert lam.list_event_source_mappings(EventSourceArn=source)["EventSourceMappings"]

    # Disabled, records wait in the stream; enabled again, delivery resumes where it stopped.
    upd = lam.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=10)
    assert upd["State"] == "Updating" and upd["BatchSize"] == 10
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    later = redis.xadd("orders", order="7")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    he.wait_for(lambda: len(records_seen(hearthd, account, name)) >= 8, 60, "the 8th record")
    assert [r["id"] for r in records_seen(hearthd, account, name)] == ids + [later]

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=uuid)


def test_a_failing_batch_is_bisected_and_the_poison_record_sent_to_on_failure(
        hearthd, lam, redis, stream_function):
    name, _, account = stream_function()
    queue = f"stream-failures-{he.unique_suffix()}"
    uuid = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn_of(redis, "payments"),
        StartingPosition="TRIM_HORIZON", BatchSize=6, MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:{hearthd.region}:"
                                                        f"{account}:{queue}"}})["UUID"]
    ids = [redis.xadd("payments", n=str(i), **({"fail": "1"} if i == 4 else {}))
           for i in range(6)]
    [dead] = he.wait_for(lambda: hearthd.dead_letters(queue), 60, "the poison record")
    info = dead["Record"]["RedisStreamBatchInfo"]
    assert (info["startId"], info["endId"], info["batchSize"]) == (ids[4], ids[4], 1)
    assert dead["Record"]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    ok = {r["id"] for r in records_seen(hearthd, account, name) if r["fields"].get("fail") != "1"}
    assert ok == set(ids) - {ids[4]}
    lam.delete_event_source_mapping(UUID=uuid)


def test_bad_mappings_are_refused_like_lambda(lam, lam_unvalidated, redis, stream_function):
    name, _, account = stream_function()
    source = arn_of(redis, "refusals")
    cases = [
        (dict(EventSourceArn=f"arn:aws:kinesis:us-east-1:{account}:stream/s",
              StartingPosition="LATEST"), "InvalidParameterValueException", "Redis streams"),
        (dict(EventSourceArn="arn:aws:redis:::stream/127.0.0.1:0/0/k",
              StartingPosition="LATEST"), "InvalidParameterValueException", "port"),
        (dict(EventSourceArn=source), "InvalidParameterValueException", "StartingPosition"),
        (dict(EventSourceArn=source, StartingPosition="LATEST", BatchSize=0),
         "InvalidParameterValueException", "batchSize"),
        (dict(EventSourceArn=source, StartingPosition="LATEST", ParallelizationFactor=11),
         "InvalidParameterValueException", "parallelizationFactor"),
        (dict(EventSourceArn=source, StartingPosition="LATEST", MaximumRecordAgeInSeconds=30),
         "InvalidParameterValueException", "MaximumRecordAgeInSeconds"),
    ]
    for kwargs, code, needle in cases:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            lam_unvalidated.create_event_source_mapping(FunctionName=name, **kwargs)
        got, status, resp = he.client_error(err.value)
        assert (got, status) == (code, 400), (kwargs, resp)
        assert needle in resp["Error"]["Message"], (kwargs, resp)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_event_source_mapping(FunctionName=name + "-missing", EventSourceArn=source,
                                        StartingPosition="LATEST")
    uuid = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=source,
                                           StartingPosition="LATEST")["UUID"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_event_source_mapping(FunctionName=name, EventSourceArn=source,
                                        StartingPosition="LATEST")
    lam.delete_event_source_mapping(UUID=uuid)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_event_source_mapping(UUID=uuid)


def test_mappings_and_positions_survive_a_restart(spawn_hearthd, redis):
    server = spawn_hearthd()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    name = f"e2e-stream-{he.unique_suffix()}"
    resp = he.create_and_wait(lam, name, zip_bytes=he.make_zip({"app.py": STREAM_HANDLER}))
    account = resp["FunctionArn"].split(":")[4]
    uuid = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn_of(redis, "r"),
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    first = redis.xadd("r", n="1")
    he.wait_for(lambda: records_seen(server, account, name), 60, "the first record")
    server.restart()
    second = redis.xadd("r", n="2")
    he.wait_for(lambda: len(records_seen(server, account, name)) >= 2, 60, "the second record")
    # Log streams (one per environment) are read in no set order: compare what ran, and how often.
    assert sorted(r["id"] for r in records_seen(server, account, name)) == [first, second], \
        "after the restart, delivery resumed from the stored position (each record once)"
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
