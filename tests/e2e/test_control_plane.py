"""Control plane: every function operation through boto3 and the AWS CLI, with Lambda's exact
response shapes (shared/refs/lambda-api.md §1)."""

import base64
import datetime as dt
import json
import re

import pytest

import hearth_e2e as he

ARN_RE = r"arn:aws:lambda:us-east-1:(\d{12}):function:"
LAST_MODIFIED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def parse_last_modified(value: str) -> dt.datetime:
    assert LAST_MODIFIED_RE.match(value), value
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def versioned_files(version: str) -> dict:
    return {"app.py": he.PROBE_HANDLER, "version.txt": version}


def test_create_get_and_configuration_shapes(lam, create_function, make_zip):
    files = versioned_files("one")
    zip_bytes = make_zip(files)
    before = dt.datetime.now(dt.timezone.utc)
    resp = create_function(files=files, Environment={"Variables": {"GREETING": "hi"}})
    name = resp["FunctionName"]

    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(ARN_RE + re.escape(name), resp["FunctionArn"]), resp["FunctionArn"]
    assert resp["Runtime"] == "python3.11"
    assert resp["Role"] == he.ROLE
    assert resp["Handler"] == "app.handler"
    assert resp["CodeSize"] == len(zip_bytes)
    assert resp["CodeSha256"] == he.code_sha256(zip_bytes)
    assert resp["Timeout"] == 3
    assert resp["MemorySize"] == 128
    assert resp["EphemeralStorage"] == {"Size": 512}
    modified = parse_last_modified(resp["LastModified"])
    assert before - dt.timedelta(seconds=5) <= modified <= before + dt.timedelta(minutes=2)
    assert resp["Version"] == "$LATEST"
    assert resp["State"] in ("Pending", "Active")
    assert resp["RevisionId"]
    assert resp["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert resp["Architectures"] == ["x86_64"]
    assert resp["PackageType"] == "Zip"

    config = lam.get_function_configuration(FunctionName=name)
    config.pop("ResponseMetadata")
    assert config["State"] == "Active"
    assert config["LastUpdateStatus"] == "Successful"
    for key in ("FunctionName", "FunctionArn", "Runtime", "Role", "Handler", "CodeSize",
                "CodeSha256", "Timeout", "MemorySize", "EphemeralStorage", "Version",
                "Environment", "Architectures", "PackageType", "LastModified"):
        assert config[key] == resp[key], key

    got = lam.get_function(FunctionName=name)
    assert got["Configuration"] == config
    assert got["Code"]["RepositoryType"] == "S3"
    assert isinstance(got["Code"]["Location"], str) and got["Code"]["Location"]
    assert "Concurrency" not in got

    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    got = lam.get_function(FunctionName=name)
    assert got["Concurrency"] == {"ReservedConcurrentExecutions": 3}


def test_list_functions_paginates(lam, create_function, aws_cli):
    prefix = f"e2e-list-{he.unique_suffix()}-"
    created = {}
    for i in range(5):
        resp = create_function(name=f"{prefix}{i}", files=versioned_files(str(i)))
        created[resp["FunctionName"]] = resp["CodeSha256"]

    seen, pages, marker = [], 0, None
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = lam.list_functions(**kw)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen.extend(page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
        assert pages < 1000, "pagination does not terminate"
    names = [f["FunctionName"] for f in seen]
    assert len(names) == len(set(names)), f"a function was listed twice: {names}"
    ours = {f["FunctionName"]: f for f in seen if f["FunctionName"].startswith(prefix)}
    assert {n: f["CodeSha256"] for n, f in ours.items()} == created
    assert pages >= 3
    for f in ours.values():
        assert re.fullmatch(ARN_RE + re.escape(f["FunctionName"]), f["FunctionArn"])

    # The CLI follows NextMarker itself and merges the pages.
    out = json.loads(aws_cli("lambda", "list-functions", "--page-size", "2").stdout)
    cli_names = [f["FunctionName"] for f in out["Functions"]]
    assert sorted(n for n in cli_names if n.startswith(prefix)) == sorted(created)
    assert len(cli_names) == len(set(cli_names))


def test_update_function_code_retires_warm_sandboxes(lam, create_function, invoke, make_zip):
    first = create_function(files=versioned_files("one"))
    name = first["FunctionName"]
    warm = json.loads(invoke(name, {"op": "read_file", "name": "version.txt"})["payload"])
    assert warm["content"] == "one"

    new_zip = make_zip(versioned_files("two"))
    resp = lam.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert resp["CodeSha256"] == he.code_sha256(new_zip) != first["CodeSha256"]
    assert resp["CodeSize"] == len(new_zip)
    assert resp["RevisionId"] != first["RevisionId"]
    assert parse_last_modified(resp["LastModified"]) >= parse_last_modified(first["LastModified"])
    he.wait_updated(lam, name)

    after = invoke(name, {"op": "read_file", "name": "version.txt"})
    assert after["status"] == 200 and after["function_error"] is None, after
    body = json.loads(after["payload"])
    assert body["content"] == "two"
    assert body["instance"] != warm["instance"], "a sandbox with the old code served the invoke"
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == resp["CodeSha256"]


def test_update_function_configuration(lam, create_function, invoke):
    created = create_function(Environment={"Variables": {"A": "1"}})
    name = created["FunctionName"]
    probe = {"op": "context", "env": ["A", "B", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]}
    before = json.loads(invoke(name, probe)["payload"])
    assert before["memory_limit_in_mb"] == 128
    assert 0 < before["remaining_ms"] <= 3000
    assert before["env"] == {"A": "1", "B": None, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}

    revision = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    resp = lam.update_function_configuration(
        FunctionName=name, MemorySize=256, Timeout=10, RevisionId=revision,
        Environment={"Variables": {"A": "2", "B": "x"}})
    assert resp["MemorySize"] == 256 and resp["Timeout"] == 10
    assert resp["Environment"] == {"Variables": {"A": "2", "B": "x"}}
    assert resp["RevisionId"] != revision
    he.wait_updated(lam, name)

    after = json.loads(invoke(name, probe)["payload"])
    assert after["memory_limit_in_mb"] == 256
    assert 3000 < after["remaining_ms"] <= 10000
    assert after["env"] == {"A": "2", "B": "x", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
    assert after["instance"] != before["instance"]

    with pytest.raises(lam.exceptions.PreconditionFailedException) as exc:
        lam.update_function_configuration(FunctionName=name, Timeout=20, RevisionId=revision)
    assert he.client_error(exc)[:2] == ("PreconditionFailedException", 412)
    assert lam.get_function_configuration(FunctionName=name)["Timeout"] == 10


def test_delete_function(lam, create_function, invoke):
    created = create_function()
    name, arn = created["FunctionName"], created["FunctionArn"]
    resp = lam.delete_function(FunctionName=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204

    for call in (lambda: lam.get_function(FunctionName=name),
                 lambda: lam.get_function_configuration(FunctionName=name),
                 lambda: invoke(name, {}),
                 lambda: lam.delete_function(FunctionName=name)):
        with pytest.raises(lam.exceptions.ResourceNotFoundException) as exc:
            call()
        code, status, body = he.client_error(exc)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert body["Error"]["Message"] == f"Function not found: {arn}"
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert name not in names


def test_function_concurrency_and_account_limits(new_account, create_function):
    account = new_account()
    lam = account.lam
    name = create_function(client=lam)["FunctionName"]
    settings = lam.get_account_settings()["AccountLimit"]
    total = settings["ConcurrentExecutions"]
    assert settings["UnreservedConcurrentExecutions"] == total

    got = lam.get_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in got

    put = lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert (lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
            == total - 5)

    # At least 100 must stay unreserved.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=total - 99)
    assert he.client_error(exc)[:2] == ("InvalidParameterValueException", 400)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=total - 100)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100

    resp = lam.delete_function_concurrency(FunctionName=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == total


def test_account_settings(new_account, create_function):
    lam = new_account().lam
    empty = lam.get_account_settings()
    assert empty["AccountLimit"] == {
        "TotalCodeSize": 80530636800,
        "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 1000,
    }
    assert empty["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}

    first = create_function(client=lam)
    second = create_function(client=lam, files={"app.py": he.PROBE_HANDLER, "extra.txt": "x"})
    usage = lam.get_account_settings()["AccountUsage"]
    assert usage == {"TotalCodeSize": first["CodeSize"] + second["CodeSize"], "FunctionCount": 2}

    lam.delete_function(FunctionName=first["FunctionName"])
    usage = lam.get_account_settings()["AccountUsage"]
    assert usage == {"TotalCodeSize": second["CodeSize"], "FunctionCount": 1}


def test_function_name_forms_and_qualifier(lam, create_function, invoke):
    created = create_function()
    name, arn = created["FunctionName"], created["FunctionArn"]
    account = re.match(ARN_RE, arn).group(1)
    forms = [name, arn, f"{account}:function:{name}", f"{name}:$LATEST", f"{arn}:$LATEST"]
    for form in forms:
        config = lam.get_function_configuration(FunctionName=form)
        assert config["FunctionName"] == name, form
        assert config["FunctionArn"] in (arn, f"{arn}:$LATEST"), form
        result = invoke(form, {"op": "context"})
        assert result["status"] == 200 and result["function_error"] is None, (form, result)
        assert result["executed_version"] == "$LATEST"
        assert json.loads(result["payload"])["function_name"] == name

    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"][
        "FunctionName"] == name
    result = invoke(name, {"op": "echo"}, Qualifier="$LATEST")
    assert result["status"] == 200 and result["executed_version"] == "$LATEST"

    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name, Qualifier="99")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        invoke(name, {}, Qualifier="99")


def test_cli_round_trip(tmp_path, aws_cli, create_function, make_zip):
    name = f"e2e-cli-{he.unique_suffix()}"
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(make_zip({"app.py": he.PROBE_HANDLER}))
    created = json.loads(aws_cli(
        "lambda", "create-function", "--function-name", name, "--runtime", "python3.11",
        "--handler", "app.handler", "--role", he.ROLE,
        "--zip-file", f"fileb://{zip_path}").stdout)
    create_function.track(name)
    assert created["FunctionName"] == name
    assert created["CodeSha256"] == he.code_sha256(zip_path.read_bytes())

    aws_cli("lambda", "wait", "function-active-v2", "--function-name", name)

    out_path = tmp_path / "out.json"
    meta = json.loads(aws_cli(
        "lambda", "invoke", "--function-name", name, "--cli-binary-format",
        "raw-in-base64-out", "--payload", '{"op": "echo", "v": 1}', "--log-type", "Tail",
        str(out_path)).stdout)
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in meta
    assert json.loads(out_path.read_bytes()) == {"event": {"op": "echo", "v": 1}}
    assert "START RequestId: " in base64.b64decode(meta["LogResult"]).decode()

    listed = json.loads(aws_cli("lambda", "list-functions").stdout)
    assert name in [f["FunctionName"] for f in listed["Functions"]]
    got = json.loads(aws_cli("lambda", "get-function", "--function-name", name).stdout)
    assert got["Configuration"]["FunctionArn"] == created["FunctionArn"]
    assert got["Code"]["RepositoryType"] == "S3"

    aws_cli("lambda", "delete-function", "--function-name", name)
    missing = aws_cli("lambda", "get-function", "--function-name", name, check=False)
    assert missing.returncode == 254, missing
    assert "ResourceNotFoundException" in missing.stderr
