"""Hearth's Python runtime client: runs a user's `module.function` handler against the Lambda
Runtime API served by hearth-init, following AWS Lambda's Python runtime conventions.

Contract with the worker (see runtimes/README.md):
  * this directory is mounted read-only at /var/runtime (LAMBDA_RUNTIME_DIR), the function code
    at /var/task (LAMBDA_TASK_ROOT); bootstrap runs under /usr/bin/python3 -S;
  * the environment carries _HANDLER, AWS_LAMBDA_RUNTIME_API and the AWS_LAMBDA_* variables;
  * stdout is the function's log: everything a handler prints or logs is flushed before the
    runtime posts that invoke's result, so the worker can attribute logs by order.

Lifecycle: resolve the handler (failure: POST /runtime/init/error, exit 1), then forever
GET /invocation/next, call handler(event, context), POST /response or /error.

What Lambda's client does and this one does the same way: error bodies
{"errorMessage","errorType","requestId","stackTrace"}; Runtime.ImportModuleError,
Runtime.HandlerNotFound, Runtime.MalformedHandlerName, Runtime.UserCodeSyntaxError,
Runtime.BuiltInModuleConflict at init; Runtime.UnmarshalError / Runtime.MarshalError for
events and results that are not JSON; other exceptions report their class name; print() is
unprefixed; the root `logging` logger gets Lambda's "[LEVEL]\\t<time>\\t<request id>\\t<msg>"
handler. Differences, on purpose, for cold-start time (target: 40 ms for sandbox + interpreter
+ init; measured, the interpreter alone takes ~10 ms of it): the Runtime API is spoken over
_socket instead of http.client, and JSON goes through _json's C scanner and encoder instead of
the json package (importing http.client, socket and json costs 25-35 ms: ssl, email, re, enum);
`logging` and `traceback` are imported only when used; results are encoded as json.dumps()
does (Lambda's client uses simplejson, which adds Decimal).

Not thread-safe: one invoke at a time, as the Runtime API requires.
"""

import _json
import _socket
import importlib
import os
import sys
import time

_API_PREFIX = "/2018-06-01/runtime"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# Lambda's text log format joins the lines of one error record with CR so that a log line
# reader keeps it as one record, and indents traceback lines with NO-BREAK SPACE.
_LOG_RECORD_LINE_SEPARATOR = "\r"
_LOG_INDENT = "\u00a0"

# The request being served, read by the logging filter; "" outside an invoke.
_current_request_id = ""


class FaultError(Exception):
    """A failure the runtime reports with one of Lambda's Runtime.* error types."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class ProtocolError(Exception):
    """The Runtime API server answered something this client cannot interpret."""


class _ConnectionClosed(ConnectionError):
    """The Runtime API server closed the connection."""


class RuntimeApiClient:
    """A minimal HTTP/1.1 client for the Runtime API on one persistent connection.

    Built on _socket rather than http.client or even socket: importing those costs 20-30 ms
    and ~10 ms here (ssl, email; socket's enum conversion of every constant). The peer is
    hearth-init (trusted, on loopback) and the requests are four fixed shapes, so this speaks
    exactly the subset needed: Content-Length or chunked bodies, keep-alive, and one
    reconnect when a kept-alive connection turns out to be closed before any byte of the
    response arrived (the server cannot have acted on a request it never answered).
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("AWS_LAMBDA_RUNTIME_API must be host:port, got %r" % address)
        self._address = (host, int(port))
        self._host_header = ("Host: %s\r\n" % address).encode("ascii")
        self._sock = None
        self._buf = bytearray()  # received bytes not consumed yet

    def next_invocation(self):
        """Blocks until the next event; returns (headers dict with lowercase names, body)."""
        status, headers, body = self._request(b"GET", _API_PREFIX + "/invocation/next")
        if status != 200:
            raise ProtocolError("GET /invocation/next answered %d: %r" % (status, body[:200]))
        return headers, body

    def post_response(self, request_id, payload):
        self._post("/invocation/%s/response" % request_id, payload, None)

    def post_error(self, request_id, error):
        self._post("/invocation/%s/error" % request_id, _encode_error(error), error["errorType"])

    def post_init_error(self, error):
        self._post("/init/error", _encode_error(error), error["errorType"])

    def _post(self, path, payload, error_type):
        extra = b""
        if error_type:
            extra = ("%s: %s\r\n" % (_ERROR_TYPE_HEADER, error_type)).encode("latin-1")
        status, _, body = self._request(b"POST", _API_PREFIX + path, payload, extra)
        # 202 is success; 4xx means hearth-init rejected this result (stale request id, too
        # large, wrong state). Nothing this process can do fixes that: say so and carry on
        # with the next invocation, as Lambda's clients do.
        if status != 202:
            sys.stderr.write("hearth runtime: POST %s answered %d: %r\n"
                             % (path, status, body[:200]))
            sys.stderr.flush()

    def _request(self, method, path, body=b"", extra_headers=b""):
        request = b"%s %s HTTP/1.1\r\n%s%sContent-Length: %d\r\n\r\n%s" % (
            method, path.encode("latin-1"), self._host_header, extra_headers, len(body), body)
        for attempt in (0, 1):
            if self._sock is None:
                self._connect()
            try:
                self._sock.sendall(request)
                head = self._read_until(b"\r\n\r\n")
            except (_ConnectionClosed, BrokenPipeError, ConnectionResetError):
                if attempt or self._buf:
                    raise
                self._close()  # a kept-alive connection the server had closed: retry once
                continue
            return self._read_response(head)
        raise AssertionError("unreachable")

    def _connect(self):
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)  # close-on-exec
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        try:
            sock.connect(self._address)
        except OSError:
            sock.close()
            raise
        self._sock = sock

    def _close(self):
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buf.clear()

    def _fill(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise _ConnectionClosed("Runtime API at %s:%d closed the connection" % self._address)
        self._buf += chunk

    def _read_until(self, delimiter):
        start = 0
        while True:
            end = self._buf.find(delimiter, start)
            if end >= 0:
                end += len(delimiter)
                data = bytes(self._buf[:end])
                del self._buf[:end]
                return data
            start = max(0, len(self._buf) - len(delimiter) + 1)
            self._fill()

    def _read_exactly(self, size):
        if len(self._buf) >= size:
            data = bytes(self._buf[:size])
            del self._buf[:size]
            return data
        data = bytearray(size)
        view = memoryview(data)
        got = len(self._buf)
        view[:got] = self._buf
        self._buf.clear()
        while got < size:
            n = self._sock.recv_into(view[got:])
            if n == 0:
                raise _ConnectionClosed("connection closed after %d of %d body bytes" % (got, size))
            got += n
        return data

    def _read_to_eof(self):
        try:
            while True:
                self._fill()
        except _ConnectionClosed:
            data = bytes(self._buf)
            self._buf.clear()
            return data

    def _read_response(self, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError("bad status line %r" % lines[0][:100])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    raise ProtocolError("bad header line %r" % line[:100])
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = self._read_to_eof()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            self._close()
        return status, headers, body

    def _read_chunked(self):
        chunks = []
        while True:
            size_line = self._read_until(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF closing the chunk
        while self._read_until(b"\r\n") != b"\r\n":
            pass  # trailer fields
        return b"".join(chunks)


class _JsonDecodeContext:
    """The attributes _json.make_scanner reads, valued as json.JSONDecoder() sets them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__
    memo = {}


_scan_json = _json.make_scanner(_JsonDecodeContext)
_JSON_WHITESPACE = " \t\n\r"


def _not_serializable(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def json_loads(data):
    """json.loads(data) for bytes, through the C scanner directly: the json package imports
    re, and with it enum, for ~10 ms of start-up. Anything the fast path does not accept goes
    to json.loads itself, so results and error messages are exactly the standard library's."""
    try:
        text = data.decode()
        start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
        value, end = _scan_json(text, start)
        if not text[end:].strip(_JSON_WHITESPACE):
            return value
    except (ValueError, StopIteration, RecursionError):
        pass
    import json

    return json.loads(data)


def json_dumps(value):
    """json.dumps(value).encode() through the C encoder; as json_loads, it falls back to the
    json package for anything unusual, which also raises its exact errors."""
    try:
        encode = _json.make_encoder({}, _not_serializable, _json.encode_basestring_ascii, None,
                                    ": ", ", ", False, False, True)
        return "".join(encode(value, 0)).encode()
    except (TypeError, ValueError, OverflowError, RecursionError):
        import json

        return json.dumps(value).encode()


def _encode_error(error):
    # A message that cannot be encoded must still be reported: fall back to repr().
    try:
        return json_dumps(error)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return json_dumps({k: v if isinstance(v, (str, list)) else repr(v)
                           for k, v in error.items()})


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, fields):
        self.cognito_identity_id = fields.get("cognitoIdentityId")
        self.cognito_identity_pool_id = fields.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name")

    def __init__(self, fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, fields):
        self.custom = fields.get("custom")
        self.env = fields.get("env")
        client = fields.get("client")
        self.client = Client(client) if isinstance(client, dict) else None


class LambdaContext:
    """The handler's `context`, attribute for attribute as Lambda's Python runtime builds it
    (memory_limit_in_mb is a str there too: it is the environment variable's value)."""

    __slots__ = ("aws_request_id", "log_group_name", "log_stream_name", "function_name",
                 "memory_limit_in_mb", "function_version", "invoked_function_arn",
                 "client_context", "identity", "_deadline_ms")

    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, identity):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity))


def _parse_json_header(value, what):
    try:
        return json_loads(value.encode("latin-1"))  # the header's bytes, as received
    except ValueError as e:
        raise FaultError("Runtime.LambdaContextUnmarshalError",
                         "Unable to parse %s JSON: %s" % (what, e))


def _make_context(request_id, headers):
    deadline = headers.get("lambda-runtime-deadline-ms", "")
    client_context = None
    raw = headers.get("lambda-runtime-client-context")
    if raw:
        fields = _parse_json_header(raw, "Client Context")
        client_context = ClientContext(fields) if isinstance(fields, dict) else None
    raw = headers.get("lambda-runtime-cognito-identity")
    identity = CognitoIdentity(_parse_json_header(raw, "Cognito Identity") if raw else {})
    return LambdaContext(request_id, int(deadline) if deadline.isdigit() else 0,
                         headers.get("lambda-runtime-invoked-function-arn"),
                         client_context, identity)


def load_handler(handler):
    """Resolves "path/to/module.function" under sys.path; raises FaultError."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % module_name)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise FaultError("Runtime.ImportModuleError",
                         "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        raise FaultError("Runtime.UserCodeSyntaxError",
                         "Syntax error in module '%s': %s" % (module_name, e),
                         ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)])
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError("Runtime.HandlerNotFound",
                         "Handler '%s' missing on module '%s'" % (function_name, module_name))


def make_error(message, error_type, stack_trace, request_id=""):
    return {"errorMessage": message or "", "errorType": error_type or "",
            "requestId": request_id, "stackTrace": stack_trace or []}


def _error_from_exception(exc, request_id=""):
    """Lambda's report of an exception raised by user code: the class name, str(exc), and
    the traceback in traceback.format_list() form without this module's own frames."""
    import traceback  # only on the error path: costs ~5 ms to import

    frames = [(f.filename, f.lineno, f.name, f.line)
              for f in traceback.extract_tb(exc.__traceback__)]
    while frames and frames[0][0] == __file__:
        frames.pop(0)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def _log_error(error):
    """Writes an error to the function log as one record, the way Lambda does."""
    description = "[ERROR]"
    if error["errorType"]:
        description += " " + error["errorType"]
    if error["errorMessage"]:
        description += (":" if error["errorType"] else "") + " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append(_LOG_INDENT * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(_LOG_RECORD_LINE_SEPARATOR.join(lines) + "\n")


def _install_log_handler(logging):
    """Gives the root logger Lambda's text handler:
    "[LEVEL]\\t<UTC time>\\t<request id>\\t<message>"."""

    class LambdaLogHandler(logging.Handler):
        def emit(self, record):
            try:
                sys.stdout.write(self.format(record))
            except Exception:
                self.handleError(record)

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id
            return True

    logging.Formatter.converter = time.gmtime
    handler = LambdaLogHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


class _LoggingImportHook:
    """A sys.meta_path finder that installs Lambda's log handler right after user code first
    imports `logging`, so the runtime itself never pays for importing it (~10 ms)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        # Each find_spec() call makes a fresh loader, so patching this instance is local.
        exec_module = spec.loader.exec_module

        def exec_then_install(module):
            exec_module(module)
            _install_log_handler(module)

        spec.loader.exec_module = exec_then_install
        return spec


def _configure_import_path(task_root):
    """sys.path as on Lambda: the task root first, then layers (/opt), then the runtime,
    the interpreter's own paths and, last, site-packages (added here since we run with -S)."""
    runtime_dir = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == runtime_dir:
        del sys.path[0]  # the bootstrap script's directory; re-added below in Lambda's place
    version = "python%d.%d" % sys.version_info[:2]
    sys.path[0:0] = [task_root, "/opt/python/lib/%s/site-packages" % version, "/opt/python",
                     runtime_dir]
    import site  # with -S, importing site only defines it; nothing runs

    for directory in site.getsitepackages():
        if directory not in sys.path:
            sys.path.append(directory)


def _flush_output():
    """Pushes everything written so far to the log: it must precede the result that is about
    to be posted. Flushes the original streams too, in case user code replaced sys.stdout."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass  # None, closed or not a stream: nothing of ours to flush


def _serve(client, handler):
    global _current_request_id
    environ = os.environ
    while True:
        headers, body = client.next_invocation()
        request_id = headers.get("lambda-runtime-aws-request-id")
        if not request_id:
            raise ProtocolError("GET /invocation/next without Lambda-Runtime-Aws-Request-Id")
        _current_request_id = request_id
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]

        error = None
        try:
            context = _make_context(request_id, headers)
            try:
                event = json_loads(body)
            except ValueError as e:
                raise FaultError("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
            result = handler(event, context)
            if isinstance(result, bytes):
                payload = result
            else:
                try:
                    payload = json_dumps(result)
                except (TypeError, ValueError, OverflowError, RecursionError) as e:
                    raise FaultError("Runtime.MarshalError", "Unable to marshal response: %s" % e)
        except FaultError as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, request_id)
        except Exception as e:
            error = _error_from_exception(e, request_id)

        if error is not None:
            _log_error(error)
        _flush_output()
        if error is None:
            client.post_response(request_id, payload)
        else:
            client.post_error(request_id, error)


def main():
    # print() output reaches the log line by line, as on Lambda, even if the invoke then
    # hangs until it times out.
    sys.stdout.reconfigure(line_buffering=True)
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.stderr.write("hearth runtime: AWS_LAMBDA_RUNTIME_API is not set\n")
        return 1
    client = RuntimeApiClient(address)

    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    _configure_import_path(task_root)
    try:
        os.chdir(task_root)
    except OSError:
        pass  # Lambda's working directory; handlers that don't rely on it still run
    if "logging" not in sys.modules:
        sys.meta_path.insert(0, _LoggingImportHook())
    else:
        _install_log_handler(sys.modules["logging"])

    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
        error = None
    except FaultError as fault:
        error = make_error(fault.message, fault.error_type, fault.trace)
    except Exception as e:
        error = _error_from_exception(e)
    if error is not None:
        _log_error(error)
        _flush_output()
        client.post_init_error(error)
        return 1
    _serve(client, handler)
    return 0
