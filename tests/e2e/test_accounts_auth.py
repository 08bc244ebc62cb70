"""Accounts and SigV4 authentication: tenants cannot see each other, and only correctly signed,
fresh requests from known keys get through (shared/refs/lambda-api.md §3)."""

import datetime as dt
import hashlib
import json
import re

import pytest

import hearth_e2e as he

LIST_PATH = "/2015-03-31/functions"


def test_accounts_cannot_see_each_other(lam, new_account, create_function, invoke):
    alice, bob = new_account(), new_account()
    assert re.fullmatch(r"\d{12}", alice.account_id) and re.fullmatch(r"\d{12}", bob.account_id)
    assert alice.account_id != bob.account_id

    name = f"e2e-shared-name-{he.unique_suffix()}"
    a_fn = create_function(name=name, client=alice.lam,
                           files={"app.py": he.PROBE_HANDLER, "owner.txt": "alice"})
    assert a_fn["FunctionArn"] == f"arn:aws:lambda:us-east-1:{alice.account_id}:function:{name}"

    for client in (bob.lam, lam):
        assert name not in [f["FunctionName"] for f in client.list_functions()["Functions"]]
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_function(FunctionName=name)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            invoke(name, {"op": "echo"}, client=client)
        # Naming alice's function by its full ARN does not reach it either.
        with pytest.raises(client.exceptions.ClientError) as exc:
            invoke(a_fn["FunctionArn"], {"op": "echo"}, client=client)
        assert he.client_error(exc)[1] in (403, 404)
        with pytest.raises(client.exceptions.ClientError) as exc:
            client.delete_function(FunctionName=a_fn["FunctionArn"])
        assert he.client_error(exc)[1] in (403, 404)

    b_fn = create_function(name=name, client=bob.lam,
                           files={"app.py": he.PROBE_HANDLER, "owner.txt": "bob"})
    assert b_fn["FunctionArn"] == f"arn:aws:lambda:us-east-1:{bob.account_id}:function:{name}"
    read_owner = {"op": "read_file", "name": "owner.txt"}
    assert json.loads(invoke(name, read_owner, client=alice.lam)["payload"])["content"] == "alice"
    assert json.loads(invoke(name, read_owner, client=bob.lam)["payload"])["content"] == "bob"

    bob.lam.delete_function(FunctionName=name)
    assert alice.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == \
        a_fn["FunctionArn"]


def test_unknown_access_key_is_unrecognized(client_for):
    client = client_for(he.random_access_key(), he.random_secret_key())
    with pytest.raises(client.exceptions.ClientError) as exc:
        client.list_functions()
    assert he.client_error(exc)[:2] == ("UnrecognizedClientException", 403)


def test_wrong_secret_is_an_invalid_signature(hearthd, client_for):
    client = client_for(hearthd.access_key, he.random_secret_key())
    with pytest.raises(client.exceptions.ClientError) as exc:
        client.list_functions()
    assert he.client_error(exc)[:2] == ("InvalidSignatureException", 403)


@pytest.mark.parametrize("skew_minutes", [-20, 20])
def test_stale_or_future_signatures_are_rejected(raw_request, skew_minutes):
    now = dt.datetime.utcnow()
    assert raw_request("GET", LIST_PATH, when=now).status == 200
    assert raw_request("GET", LIST_PATH, when=now - dt.timedelta(minutes=10)).status == 200

    resp = raw_request("GET", LIST_PATH, when=now + dt.timedelta(minutes=skew_minutes))
    assert (resp.status, resp.error_code) == (403, "InvalidSignatureException"), resp


def test_paths_with_and_without_trailing_slash(raw_request, create_function):
    name = create_function()["FunctionName"]
    for path in (LIST_PATH, LIST_PATH + "/"):
        resp = raw_request("GET", path)
        assert resp.status == 200, resp
        assert name in [f["FunctionName"] for f in resp.json()["Functions"]], path
    for path in ("/2016-08-19/account-settings", "/2016-08-19/account-settings/"):
        resp = raw_request("GET", path)
        assert resp.status == 200, resp
        assert resp.json()["AccountUsage"]["FunctionCount"] >= 1


def test_js_sdk_style_signed_content_sha256(raw_request, create_function):
    name = create_function()["FunctionName"]
    body = json.dumps({"op": "echo", "from": "js"}).encode()
    headers = {
        "content-type": "application/octet-stream",
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
        "amz-sdk-invocation-id": "5c6c0c39-0f6e-4d3c-9a8e-2c1c4f8f1b11",
        "amz-sdk-request": "attempt=1; max=1",
        "x-amz-user-agent": "aws-sdk-js/3.1164.0",
    }
    resp = raw_request("POST", f"/2015-03-31/functions/{name}/invocations", body=body,
                       headers=headers)
    assert resp.status == 200, resp
    assert resp.json() == {"event": {"op": "echo", "from": "js"}}


def test_body_is_covered_by_the_signature(raw_request, create_function):
    name = create_function()["FunctionName"]
    path = f"/2015-03-31/functions/{name}/invocations"
    signed = json.dumps({"op": "echo", "v": "aaaa"}).encode()
    tampered = json.dumps({"op": "echo", "v": "bbbb"}).encode()
    assert raw_request("POST", path, body=signed).status == 200
    resp = raw_request("POST", path, body=signed, send_body=tampered)
    assert (resp.status, resp.error_code) == (403, "InvalidSignatureException"), resp
