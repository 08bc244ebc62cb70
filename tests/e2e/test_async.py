"""Asynchronous invocation end to end: Event invokes and InvokeAsync through boto3 and the AWS
CLI, retries with the same request id, EventInvokeConfig, destinations (functions and the
built-in dead-letter store), DeadLetterConfig, maximum event age, redrive."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

import hearth_e2e as he

# Prints every event it gets (with its request id) and fails when asked to: by the event, or
# for every event while the function's FAIL variable is "1".
ASYNC_HANDLER = r'''
import json, os

def handler(event, context):
    print("EVENT " + json.dumps({"id": context.aws_request_id, "event": event}, sort_keys=True))
    if os.environ.get("FAIL") == "1" or (isinstance(event, dict) and event.get("fail")):
        raise RuntimeError("asked to fail")
    return {"echo": event}
'''


def seen_events(hearthd, account_id: str, name: str) -> list[dict]:
    """What the function printed: [{"id": request id, "event": event}, ...] in log order."""
    return [json.loads(line[len("EVENT "):])
            for line in hearthd.function_log(account_id, name).splitlines()
            if line.startswith("EVENT ")]


@pytest.fixture
def async_function(create_function):
    """Creates an ASYNC_HANDLER function; returns (name, arn, account id)."""
    def make(**kwargs):
        resp = create_function(files={"app.py": ASYNC_HANDLER}, **kwargs)
        arn = resp["FunctionArn"]
        return resp["FunctionName"], arn, arn.split(":")[4]
    return make


def send_event(lam, name: str, event) -> str:
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    return resp["ResponseMetadata"]["RequestId"]


def test_event_invoke_answers_202_and_runs_with_its_request_id(hearthd, lam, aws_cli,
                                                               async_function, tmp_path):
    name, _, account = async_function()
    request_id = send_event(lam, name, {"n": 1})
    he.wait_for(lambda: any(e["id"] == request_id for e in seen_events(hearthd, account, name)),
                30, "the event to run")
    assert [e for e in seen_events(hearthd, account, name)
            if e["id"] == request_id] == [{"id": request_id, "event": {"n": 1}}]

    # The AWS CLI, and the legacy InvokeAsync.
    out = tmp_path / "out.json"
    cli = aws_cli("lambda", "invoke", "--function-name", name, "--invocation-type", "Event",
                  "--cli-binary-format", "raw-in-base64-out", "--payload", '{"n": 2}', str(out))
    assert json.loads(cli.stdout)["StatusCode"] == 202
    legacy = lam.invoke_async(FunctionName=name, InvokeArgs=json.dumps({"n": 3}))
    assert legacy["Status"] == 202
    he.wait_for(lambda: {2, 3} <= {e["event"]["n"] for e in seen_events(hearthd, account, name)},
                30, "the CLI's and InvokeAsync's events to run")
    assert not hearthd.dead_letters()


def test_async_payload_limits(lam, async_function):
    name, _, _ = async_function()
    # Exactly 1 MB is accepted; one byte more is refused before anything is stored.
    exact = '"' + "x" * (he.MAX_ASYNC_PAYLOAD - 2) + '"'
    assert lam.invoke(FunctionName=name, InvocationType="Event",
                      Payload=exact)["StatusCode"] == 202
    with pytest.raises(botocore.exceptions.ClientError) as err:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=exact + " ")
    code, status, body = he.client_error(err.value)
    assert (code, status) == ("RequestTooLargeException", 413)
    assert "1048576" in body["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        lam.invoke_async(FunctionName=name, InvokeArgs=b"x" * (256 * 1024 + 1))
    assert he.client_error(err.value)[:2] == ("RequestTooLargeException", 413)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name + "-missing", InvocationType="Event", Payload=b"{}")


def test_event_invoke_config_api(lam, lam_unvalidated, aws_cli, async_function, hearthd):
    name, arn, account = async_function()
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as err:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert "doesn't have an EventInvokeConfig" in he.client_error(err.value)[2]["Error"]["Message"]

    dest = f"arn:aws:sqs:{hearthd.region}:{account}:failures"
    put = lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": dest}})
    assert put["FunctionArn"] == arn + ":$LATEST"
    assert put["MaximumRetryAttempts"] == 1 and put["MaximumEventAgeInSeconds"] == 3600
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": dest}}
    assert put["LastModified"].year >= 2026

    # Update merges; Put replaces.
    upd = lam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert (upd["MaximumRetryAttempts"], upd["MaximumEventAgeInSeconds"]) == (0, 3600)
    assert upd["DestinationConfig"]["OnFailure"] == {"Destination": dest}
    got = json.loads(aws_cli("lambda", "get-function-event-invoke-config", "--function-name",
                             name).stdout)
    assert got["MaximumRetryAttempts"] == 0
    listed = lam.list_function_event_invoke_configs(FunctionName=name)
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [arn + ":$LATEST"]
    replaced = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2)
    assert "MaximumEventAgeInSeconds" not in replaced
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    # Not part of the function's configuration: its RevisionId does not change.
    before = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    assert lam.get_function_configuration(FunctionName=name)["RevisionId"] == before

    bad = [
        (dict(MaximumRetryAttempts=3), "maximumRetryAttempts"),
        (dict(MaximumEventAgeInSeconds=59), "maximumEventAgeInSeconds"),
        (dict(MaximumEventAgeInSeconds=21601), "maximumEventAgeInSeconds"),
        (dict(DestinationConfig={"OnSuccess": {"Destination": "arn:aws:sns:us-east-1:"
                                                              f"{account}:topic"}}),
         "not supported"),
        (dict(DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:"
                                                              "999999999999:q"}}),
         "this account"),
        (dict(DestinationConfig={"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:"
                                                              "999999999999:function:f"}}),
         "this account"),
        (dict(DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:us-east-1:{account}:"
                                                              "bad name"}}),
         "queue name"),
    ]
    for kwargs, needle in bad:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            lam_unvalidated.put_function_event_invoke_config(FunctionName=name, **kwargs)
        code, status, body = he.client_error(err.value)
        assert (code, status) == ("InvalidParameterValueException", 400), kwargs
        assert needle in body["Error"]["Message"], (kwargs, body)

    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_event_invoke_config(FunctionName=name)
    assert lam.list_function_event_invoke_configs(
        FunctionName=name)["FunctionEventInvokeConfigs"] == []
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName=name + "-missing",
                                             MaximumRetryAttempts=1)


def test_a_failing_event_is_tried_1_plus_retries_times_then_dead_lettered(hearthd, lam,
                                                                           async_function):
    name, arn, account = async_function()
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    request_id = send_event(lam, name, {"fail": True, "order": 7})

    def entry():
        return [d for d in hearthd.dead_letters() if d["RequestId"] == request_id]
    [dead] = he.wait_for(entry, 60, "the failed event in the default dead-letter queue")
    attempts = [e for e in seen_events(hearthd, account, name) if e["id"] == request_id]
    assert len(attempts) == 2, "1 + MaximumRetryAttempts attempts, each with the same request id"
    record = dead["Record"]
    assert record["requestContext"] == {"requestId": request_id, "functionArn": arn + ":$LATEST",
                                        "condition": "RetriesExhausted",
                                        "approximateInvokeCount": 2}
    assert record["requestPayload"] == {"fail": True, "order": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert dead["FunctionName"] == name


def test_destinations_receive_lambdas_invocation_record(hearthd, lam, async_function):
    dest_name, dest_arn, account = async_function()
    name, arn, _ = async_function()
    failures = f"arn:aws:sqs:{hearthd.region}:{account}:failures-{he.unique_suffix()}"
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": dest_arn},
                           "OnFailure": {"Destination": failures}})

    ok_id = send_event(lam, name, {"order": 1})
    fail_id = send_event(lam, name, {"order": 2, "fail": True})

    def record_for(request_id):
        for e in seen_events(hearthd, account, dest_name):
            if e["event"].get("requestContext", {}).get("requestId") == request_id:
                return e["event"]
    record = he.wait_for(lambda: record_for(ok_id), 60, "the OnSuccess record")
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"] == arn + ":$LATEST"
    assert record["requestPayload"] == {"order": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"echo": {"order": 1}}

    queue = failures.rsplit(":", 1)[1]
    [dead] = he.wait_for(lambda: hearthd.dead_letters(queue), 60, "the OnFailure record")
    assert dead["RequestId"] == fail_id
    assert dead["Record"]["requestContext"]["condition"] == "RetriesExhausted"
    assert record_for(fail_id) is None, "a failure does not go to OnSuccess"
    assert not [d for d in hearthd.dead_letters() if d["RequestId"] in (ok_id, fail_id)], \
        "with a destination configured, nothing goes to the default queue"


def test_dead_letter_config_and_redrive(hearthd, lam, async_function):
    queue = f"dlq-{he.unique_suffix()}"
    name, _, account = async_function(Environment={"Variables": {"FAIL": "1"}})
    target = f"arn:aws:sqs:{hearthd.region}:{account}:{queue}"
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": target})
    he.wait_updated(lam, name)
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == \
        {"TargetArn": target}
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    request_id = send_event(lam, name, {"order": 3})
    [dead] = he.wait_for(lambda: hearthd.dead_letters(queue), 60, "the DeadLetterConfig entry")
    assert dead["RequestId"] == request_id

    # `hearth` lists the entry as the API does.
    listed = json.loads(hearthd.hearth_cli("dead-letters", "list", "--queue", queue).stdout)
    assert [d["Id"] for d in listed["DeadLetters"]] == [dead["Id"]]
    assert listed["DeadLetters"][0]["Record"]["requestContext"]["requestId"] == request_id

    # Fix the function, redrive with `hearth`: the same event runs again, with its request id,
    # and succeeds.
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
    he.wait_updated(lam, name)
    out = hearthd.hearth_cli("dead-letters", "redrive", "--queue", queue, "--id", str(dead["Id"]))
    assert json.loads(out.stdout) == {"Redriven": 1}
    he.wait_for(lambda: len([e for e in seen_events(hearthd, account, name)
                             if e["id"] == request_id]) == 2, 60, "the redriven event to run")
    assert hearthd.dead_letters(queue) == []
    assert json.loads(hearthd.hearth_cli("dead-letters", "delete", "--queue", queue).stdout) == \
        {"Deleted": 0}
    bad = hearthd.hearth_cli("dead-letters", "list", "--queue", "no such queue", check=False)
    assert bad.returncode == 1 and "InvalidParameterValueException" in bad.stderr

    # A DeadLetterConfig target must be a queue of this account.
    with pytest.raises(botocore.exceptions.ClientError) as err:
        lam.update_function_configuration(
            FunctionName=name,
            DeadLetterConfig={"TargetArn": f"arn:aws:lambda:{hearthd.region}:{account}:"
                                           "function:other"})
    assert he.client_error(err.value)[:2] == ("InvalidParameterValueException", 400)


def test_an_event_older_than_its_maximum_age_goes_to_on_failure(hearthd, lam, async_function):
    """Reserved concurrency 0 throttles every attempt: throttles are retried, not counted, until
    the event's maximum age (the minimum Lambda allows, 60 s) has passed."""
    name, _, account = async_function()
    queue = f"expired-{he.unique_suffix()}"
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:{hearthd.region}:"
                                                        f"{account}:{queue}"}})
    request_id = send_event(lam, name, {"late": True})
    [dead] = he.wait_for(lambda: hearthd.dead_letters(queue), 120, "the expired event")
    assert dead["RequestId"] == request_id
    assert dead["Record"]["requestContext"]["condition"] == "EventAgeExceeded"
    assert dead["Record"]["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in dead["Record"]
    assert seen_events(hearthd, account, name) == [], "a throttled function never ran"
