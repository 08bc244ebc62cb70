"""The nodejs20.x runtime (runtimes/nodejs) as a Lambda user sees it through the real hearthd:
handler styles (async, callback, sync, legacy context.succeed), CommonJS and ES modules, event
and context, environment, console logging, errors and warm state (runtimes/README.md)."""

import json
import re
import textwrap

import pytest

import hearth_e2e as he

INDEX = textwrap.dedent('''
    const { shout } = require('./lib/helpers');
    let invocations = 0; // module state: survives between invokes of a warm environment

    exports.handler = async (event, context) => {
      invocations += 1;
      if (event.op === 'fail') {
        const error = new TypeError(event.message);
        error.code = 'E_BAD';
        throw error;
      }
      const first = context.getRemainingTimeInMillis();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = context.getRemainingTimeInMillis();
      console.log('log-marker', event.tag, { n: 1 });
      console.warn('warn-marker');
      console.error('error-marker\\nsecond line');
      return {
        event, invocations, remaining: [first, second], helper: shout('hi'),
        context: {
          awsRequestId: context.awsRequestId, functionName: context.functionName,
          functionVersion: context.functionVersion, invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB, logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
        },
        env: Object.fromEntries(['GREETING', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_EXECUTION_ENV',
                                 'LAMBDA_TASK_ROOT', '_HANDLER'].map((k) => [k, process.env[k]])),
        cwd: process.cwd(),
      };
    };

    // Callback style: Lambda answers once the event loop is empty, so the timer runs first.
    exports.callback = (event, context, callback) => {
      setTimeout(() => console.log('timer-after-callback'), 200);
      callback(null, { style: 'callback' });
    };

    exports.callbackNoWait = (event, context, callback) => {
      context.callbackWaitsForEmptyEventLoop = false;
      setTimeout(() => console.log('late-timer'), 1500);
      callback(null, { style: 'no-wait' });
    };

    exports.callbackError = (event, context, callback) => callback('plain string error');

    exports.syncUndefined = () => { console.log('sync-ran'); };

    exports.legacySucceed = (event, context) => context.succeed({ style: 'succeed' });

    exports.nested = { deeper: { handler: async () => ({ style: 'nested' }) } };
''')

HELPERS = "exports.shout = (text) => text.toUpperCase() + '!';\n"

FILES = {
    "index.js": INDEX,
    "lib/helpers.js": HELPERS,
    "esm.mjs": "import os from 'node:os';\n"
               "export const handler = async (event) => ({ style: 'esm', event, "
               "platform: os.platform() });\n",
    "typed/package.json": '{"type": "module"}\n',
    "typed/app.js": "export const handler = async () => ({ style: 'type-module' });\n",
    "common.cjs": "module.exports.handler = async () => ({ style: 'cjs' });\n",
}


def ok(result: dict) -> dict:
    assert result["status"] == 200 and result["function_error"] is None, result
    return json.loads(result["payload"])


def unhandled(result: dict) -> dict:
    assert result["status"] == 200, result
    assert result["function_error"] == "Unhandled", result
    return json.loads(result["payload"])


def log_line(level: str, request_id: str, message: str) -> re.Pattern:
    """Lambda's console line: <ISO time>\\t<request id>\\t<LEVEL>\\t<message>."""
    return re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t" + re.escape(request_id)
                      + "\t" + level + "\t" + re.escape(message) + "$", re.M)


def test_event_context_environment_logs_and_warm_state(create_function, invoke):
    config = create_function(runtime="nodejs20.x", handler="index.handler", files=FILES,
                             MemorySize=192, Timeout=20,
                             Environment={"Variables": {"GREETING": "hello world"}})
    name = config["FunctionName"]
    event = {"nested": {"list": [1, 2.5, None, True], "text": "h\u00e9llo \u2603"}}

    for expected_count, tag in ((1, "first"), (2, "second")):
        result = invoke(name, dict(event, tag=tag), log_tail=True)
        body = ok(result)
        request_id = body["context"]["awsRequestId"]
        assert request_id == result["request_id"]
        assert he.parse_report(result["log"], request_id).memory_size_mb == 192
        assert body["invocations"] == expected_count, "module state was lost between invokes"
        assert body["event"] == dict(event, tag=tag)
        first, second = body["remaining"]
        assert 0 < second < first <= 20000 and first - second >= 40

        log = result["log"]
        assert log_line("INFO", request_id, f"log-marker {tag} {{ n: 1 }}").search(log), log
        assert log_line("WARN", request_id, "warn-marker").search(log), log
        # A multi-line message stays one record: Lambda turns its newlines into CRs.
        assert log_line("ERROR", request_id, "error-marker\rsecond line").search(log), log
        assert log.index("log-marker") < log.index(f"REPORT RequestId: {request_id}")

    assert body["context"] == {
        "awsRequestId": request_id,
        "functionName": name,
        "functionVersion": "$LATEST",
        "invokedFunctionArn": config["FunctionArn"],
        "memoryLimitInMB": "192",
        "logGroupName": f"/aws/lambda/{name}",
        "logStreamName": body["context"]["logStreamName"],
        "callbackWaitsForEmptyEventLoop": True,
    }
    assert body["env"] == {
        "GREETING": "hello world",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x",
        "LAMBDA_TASK_ROOT": "/var/task",
        "_HANDLER": "index.handler",
    }
    assert body["cwd"] == "/var/task"
    assert body["helper"] == "HI!"


@pytest.mark.parametrize("handler, expected", [
    ("index.callback", {"style": "callback"}),
    ("index.callbackNoWait", {"style": "no-wait"}),
    ("index.syncUndefined", None),
    ("index.legacySucceed", {"style": "succeed"}),
    ("index.nested.deeper.handler", {"style": "nested"}),
    ("esm.handler", {"style": "esm", "event": {"k": "v"}, "platform": "linux"}),
    ("typed/app.handler", {"style": "type-module"}),
    ("common.handler", {"style": "cjs"}),
])
def test_handler_styles_and_module_kinds(create_function, invoke, handler, expected):
    name = create_function(runtime="nodejs20.x", handler=handler, files=FILES,
                           Timeout=20)["FunctionName"]
    result = invoke(name, {"k": "v"}, log_tail=True)
    assert ok(result) == expected
    if handler == "index.callback":
        # callbackWaitsForEmptyEventLoop (default true): the pending timer ran before the answer.
        assert log_line("INFO", result["request_id"], "timer-after-callback").search(result["log"])
    if handler == "index.callbackNoWait":
        assert "late-timer" not in result["log"]
    if handler == "index.syncUndefined":
        assert log_line("INFO", result["request_id"], "sync-ran").search(result["log"])


def test_handler_errors_are_reported_like_lambda(create_function, invoke):
    name = create_function(runtime="nodejs20.x", handler="index.handler", files=FILES,
                           Timeout=20)["FunctionName"]

    result = invoke(name, {"op": "fail", "message": "bad input"}, log_tail=True)
    body = unhandled(result)
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "bad input"
    assert body["trace"][0] == "TypeError: bad input"
    assert "/var/task/index.js:" in body["trace"][1], body["trace"]
    # The log carries the error with its own properties (here `code`) as one record.
    assert re.search(r"\tERROR\tInvoke Error \t\{\"errorType\":\"TypeError\","
                     r"\"errorMessage\":\"bad input\",\"code\":\"E_BAD\"", result["log"]), \
        result["log"]

    # The environment is still usable and kept its state.
    assert ok(invoke(name, {"tag": "after"}))["invocations"] == 2

    callback_error = create_function(runtime="nodejs20.x", handler="index.callbackError",
                                     files=FILES)["FunctionName"]
    assert unhandled(invoke(callback_error, {})) == {
        "errorType": "string", "errorMessage": "plain string error", "trace": []}


@pytest.mark.parametrize("files, handler, error_type, message", [
    ({"index.js": "exports.handler = async () => 1;\n"}, "missing.handler",
     "Runtime.ImportModuleError", "Error: Cannot find module 'missing'"),
    ({"index.js": "require('not-installed-anywhere');\n"}, "index.handler",
     "Runtime.ImportModuleError", "Error: Cannot find module 'not-installed-anywhere'"),
    ({"index.js": "exports.other = async () => 1;\n"}, "index.handler",
     "Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
    ({"index.js": "exports.handler = 42;\n"}, "index.handler",
     "Runtime.HandlerNotFound", "index.handler is not a function"),
    ({"index.js": "exports.handler = async () => 1;\n"}, "index",
     "Runtime.MalformedHandlerName", "Bad handler"),
    ({"index.js": "exports.handler = async () => {\n"}, "index.handler",
     "Runtime.UserCodeSyntaxError", "SyntaxError: "),
    ({"index.mjs": "export const handler = async () => 1;\nthrow new RangeError('no config');\n"},
     "index.handler", "RangeError", "no config"),
], ids=["missing-module", "missing-dependency", "missing-export", "not-a-function", "malformed",
        "syntax", "esm-throws-on-load"])
def test_init_errors(create_function, invoke, files, handler, error_type, message):
    name = create_function(runtime="nodejs20.x", handler=handler, files=files)["FunctionName"]
    body = unhandled(invoke(name, {}))
    assert body["errorType"] == error_type, body
    assert body["errorMessage"].startswith(message), body
    assert isinstance(body["trace"], list) and body["trace"], body
