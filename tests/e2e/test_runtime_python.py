"""The python3.11 runtime (runtimes/python) as a Lambda user sees it through the real hearthd:
handler resolution, event and context, environment, logs, errors and warm state
(runtimes/README.md lists the conventions these check)."""

import json
import re
import textwrap

import pytest

import hearth_e2e as he

# One module answering by event["op"], so several behaviours share one function (one cold start).
APP = textwrap.dedent('''
    import json
    import logging
    import os
    import time

    from lib import helpers  # a package next to the handler, found via /var/task on sys.path

    invocations = 0  # module state: survives between invokes of a warm environment

    def handler(event, context):
        global invocations
        invocations += 1
        op = event.get("op")
        if op == "fail":
            helpers.explode(event["message"])
        if op == "unserializable":
            return {1, 2}
        first = context.get_remaining_time_in_millis()
        time.sleep(0.05)
        second = context.get_remaining_time_in_millis()
        print("print-marker", event.get("tag"))
        logging.warning("logging-marker %s", event.get("tag"))
        return {
            "event": event,
            "invocations": invocations,
            "remaining": [first, second],
            "context": {
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
            },
            "env": {k: os.environ.get(k) for k in (
                "GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_EXECUTION_ENV", "AWS_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "TZ")},
            "cwd": os.getcwd(),
            "helper": helpers.shout("hi"),
        }
''')

HELPERS = textwrap.dedent('''
    def shout(text):
        return text.upper() + "!"

    def explode(message):
        raise ValueError(message)
''')


def ok(result: dict) -> dict:
    assert result["status"] == 200 and result["function_error"] is None, result
    return json.loads(result["payload"])


def unhandled(result: dict) -> dict:
    assert result["status"] == 200, result
    assert result["function_error"] == "Unhandled", result
    return json.loads(result["payload"])


@pytest.fixture
def probe(create_function):
    return create_function(
        runtime="python3.11", handler="app.handler",
        files={"app.py": APP, "lib/__init__.py": "", "lib/helpers.py": HELPERS},
        MemorySize=256, Timeout=20, Environment={"Variables": {"GREETING": "hello world"}})


def test_event_context_environment_logs_and_warm_state(probe, invoke):
    name = probe["FunctionName"]
    event = {"tag": "first", "nested": {"list": [1, 2.5, None, True], "text": "h\u00e9llo \u2603"}}
    results = []
    for tag in ("first", "second"):
        result = invoke(name, dict(event, tag=tag), log_tail=True)
        results.append((result, ok(result)))

    for index, (result, body) in enumerate(results):
        request_id = body["context"]["aws_request_id"]
        # The request id the handler saw is the one the platform reported and logged.
        assert request_id == result["request_id"]
        assert he.parse_report(result["log"], request_id).memory_size_mb == 256
        assert body["event"]["nested"] == event["nested"]
        assert body["invocations"] == index + 1, "module state was lost between warm invokes"

        first, second = body["remaining"]
        assert 0 < second < first <= 20000
        assert first - second >= 40

        # print() is unprefixed; the root logger has Lambda's handler; both precede the REPORT.
        tag = body["event"]["tag"]
        log = result["log"]
        assert f"print-marker {tag}\n" in log
        assert re.search(r"^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t"
                         + re.escape(request_id) + rf"\tlogging-marker {tag}$", log, re.M), log
        assert log.index(f"print-marker {tag}") < log.index(f"REPORT RequestId: {request_id}")

    body = results[0][1]
    assert body["context"] == {
        "aws_request_id": body["context"]["aws_request_id"],
        "function_name": name,
        "function_version": "$LATEST",
        "invoked_function_arn": probe["FunctionArn"],
        "memory_limit_in_mb": "256",
        "log_group_name": f"/aws/lambda/{name}",
        "log_stream_name": body["context"]["log_stream_name"],
    }
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]+",
                        body["context"]["log_stream_name"])
    assert body["env"] == {
        "GREETING": "hello world",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_REGION": he.REGION,
        "LAMBDA_TASK_ROOT": "/var/task",
        "_HANDLER": "app.handler",
        "TZ": ":UTC",
    }
    assert body["cwd"] == "/var/task"
    assert body["helper"] == "HI!"


def test_handler_errors_are_reported_like_lambda(probe, invoke):
    name = probe["FunctionName"]

    result = invoke(name, {"op": "fail", "message": "bad input"}, log_tail=True)
    body = unhandled(result)
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input"
    assert body["requestId"] == result["request_id"]
    # Lambda's trace: traceback.format_list() entries, user frames only, innermost last.
    assert [re.sub(r"line \d+", "line N", frame) for frame in body["stackTrace"]] == [
        '  File "/var/task/app.py", line N, in handler\n'
        '    helpers.explode(event["message"])\n',
        '  File "/var/task/lib/helpers.py", line N, in explode\n'
        '    raise ValueError(message)\n',
    ]
    assert "[ERROR] ValueError: bad input\rTraceback (most recent call last):" in result["log"]

    body = unhandled(invoke(name, {"op": "unserializable"}))
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == ("Unable to marshal response: Object of type set is not JSON "
                                    "serializable")

    # The environment survived both failures: the same module state answers.
    assert ok(invoke(name, {"tag": "after"}))["invocations"] == 3


@pytest.mark.parametrize("handler", ["pkg/sub/mod.fn", "pkg.sub.mod.fn"])
def test_nested_module_paths(create_function, invoke, handler):
    name = create_function(handler=handler, files={
        "pkg/sub/mod.py":
            "def fn(event, context):\n    return {'module': __name__, 'got': event}\n",
    })["FunctionName"]
    assert ok(invoke(name, {"x": 1})) == {"module": "pkg.sub.mod", "got": {"x": 1}}


@pytest.mark.parametrize("files, handler, error_type, message", [
    ({"app.py": "def handler(e, c):\n    return 1\n"}, "nope.handler",
     "Runtime.ImportModuleError", "Unable to import module 'nope': No module named 'nope'"),
    ({"app.py": "import not_installed_anywhere\n"}, "app.handler",
     "Runtime.ImportModuleError",
     "Unable to import module 'app': No module named 'not_installed_anywhere'"),
    ({"app.py": "def other(e, c):\n    return 1\n"}, "app.handler",
     "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
    ({"app.py": "def handler(e, c):\n    return 1\n"}, "apphandler",
     "Runtime.MalformedHandlerName",
     "Bad handler 'apphandler': not enough values to unpack (expected 2, got 1)"),
    ({"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler",
     "Runtime.UserCodeSyntaxError", "Syntax error in module 'app': "),
    ({"app.py": "raise RuntimeError('config missing')\n"}, "app.handler",
     "RuntimeError", "config missing"),
], ids=["missing-module", "missing-dependency", "missing-function", "malformed", "syntax",
        "raises-on-import"])
def test_init_errors(create_function, invoke, files, handler, error_type, message):
    name = create_function(handler=handler, files=files)["FunctionName"]
    result = invoke(name, {})
    body = unhandled(result)
    assert body["errorType"] == error_type, body
    assert body["errorMessage"].startswith(message), body
    assert set(body) >= {"errorMessage", "errorType", "stackTrace"}
