// Hearth's Node.js runtime client: runs a user's `file.function` handler against the Lambda
// Runtime API served by hearth-init, following AWS Lambda's Node.js runtime conventions.
//
// Contract with the worker (see runtimes/README.md):
//  * this directory is mounted read-only at /var/runtime, the function code at /var/task
//    (LAMBDA_TASK_ROOT); ./bootstrap runs this file under /usr/bin/node;
//  * the environment carries _HANDLER, AWS_LAMBDA_RUNTIME_API and the AWS_LAMBDA_* variables;
//  * stdout is the function's log. console.* writes "<ISO time>\t<request id>\t<LEVEL>\t<msg>"
//    synchronously (stdout is a pipe or file), so an invoke's logs precede its result.
//
// Lifecycle: load the handler (failure: POST /runtime/init/error, exit 129), then forever
// GET /invocation/next, run the handler, POST /response or /error. As on Lambda:
//  * handlers are async (the returned promise settles the invoke), callback style
//    (event, context, callback), or sync returning undefined and never calling back;
//  * callback(null, result) waits for the event loop to drain unless
//    context.callbackWaitsForEmptyEventLoop is false; context.succeed/fail/done answer at
//    once; a sync handler whose event loop drains without an answer returns null, an async
//    one fails with Runtime.NodeJsExit;
//  * error bodies are {"errorType","errorMessage","trace"}; init errors are
//    Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.MalformedHandlerName,
//    Runtime.UserCodeSyntaxError, or the error user code threw while loading;
//  * an uncaught exception or unhandled rejection fails the current invoke and ends the
//    process (exit 129 / 128), as Lambda recycles such an environment.
// Not supported: response streaming (awslambda.streamifyResponse) and the JSON log format.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const EXIT_UNCAUGHT_EXCEPTION = 129;
const EXIT_UNHANDLED_REJECTION = 128;

// ---------------------------------------------------------------------------------------------
// Errors, named and shaped as Lambda's Node.js runtime names and shapes them.

function runtimeError(name) {
  const cls = class extends Error {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}
const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const NodeJsExit = runtimeError('NodeJsExit');
const UnhandledPromiseRejection = runtimeError('UnhandledPromiseRejection');

function isErrorLike(e) {
  return util.types.isNativeError(e) ||
    (e && typeof e.name === 'string' && typeof e.message === 'string' &&
     typeof e.stack === 'string');
}

// The body of /error and /init/error.
function toRapidResponse(error) {
  try {
    if (isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while ' +
        'retrieving one or more of its message, name, and stack',
    };
  }
}

// The error as the log shows it: a tab, then JSON including the error's own properties.
function toLogFormat(error) {
  const withProperties = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const out = Object.assign(
        { errorType: value.name, errorMessage: value.message, code: value.code }, value);
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(error, withProperties);
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------------------------
// Logging: console.* with Lambda's prefix and levels, filtered by AWS_LAMBDA_LOG_LEVEL.

let currentRequestId; // undefined outside an invoke; Lambda prints it as "undefined" then

function patchConsole() {
  const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
  const configured = levels.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase());
  const minimum = configured < 0 ? 0 : configured;
  const stdout = process.stdout;
  const logger = (level) => {
    if (levels.indexOf(level) < minimum) return () => {};
    return (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t` +
        util.format(...args);
      stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  };
  console.trace = logger('TRACE');
  console.debug = logger('DEBUG');
  console.info = logger('INFO');
  console.log = console.info;
  console.warn = logger('WARN');
  console.error = logger('ERROR');
  console.fatal = logger('FATAL');
}

// ---------------------------------------------------------------------------------------------
// The Runtime API, over one kept-alive connection.
//
// Spoken over a bare `net` socket rather than the `http` module: http's ClientRequest and
// IncomingMessage streams cost ~0.3-0.4 ms per invoke here (two requests each), several times
// the whole platform's warm-invoke budget. The peer is hearth-init on loopback, which always
// answers with Content-Length, so the client needs only that subset of HTTP/1.1: one request in
// flight, keep-alive, and one reconnect when a kept-alive connection turns out to be closed
// before any byte of the answer arrived (the server cannot have acted on it).

class RuntimeApiClient {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.host = address.slice(0, colon);
    this.port = Number(address.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(this.port)) {
      throw new Error(`AWS_LAMBDA_RUNTIME_API must be host:port, got '${address}'`);
    }
    this.hostHeader = `Host: ${address}\r\n`;
    this.socket = null;
    this.inFlight = null; // { request, resolve, reject, retried, head, chunks, length }
  }

  // Resolves to { headers, body } (body a string); GET /next blocks until an invoke arrives.
  async nextInvocation() {
    const res = await this.request('GET', `${API_PREFIX}/invocation/next`);
    if (res.status !== 200) {
      throw new Error(`GET /invocation/next answered ${res.status}: ${res.body.slice(0, 200)}`);
    }
    return res;
  }

  postResponse(requestId, body) {
    return this.post(`/invocation/${encodeURIComponent(requestId)}/response`, body);
  }

  postError(requestId, error) {
    const response = toRapidResponse(error);
    return this.post(`/invocation/${encodeURIComponent(requestId)}/error`,
        JSON.stringify(response), response.errorType);
  }

  postInitError(error) {
    const response = toRapidResponse(error);
    return this.post('/init/error', JSON.stringify(response), response.errorType);
  }

  async post(apiPath, body, errorType) {
    const headers = { 'Content-Type': 'application/json' };
    if (errorType) headers[ERROR_TYPE_HEADER] = errorType;
    const res = await this.request('POST', API_PREFIX + apiPath, body, headers);
    // 202 is success. A 4xx means hearth-init refused this result (stale id, too large);
    // nothing here can fix that, so say so and go on with the next invoke, as Lambda's do.
    if (res.status !== 202) {
      process.stderr.write(
          `hearth runtime: POST ${apiPath} answered ${res.status}: ${res.body.slice(0, 200)}\n`);
    }
  }

  // Resolves to { status, headers (lowercase names), body (a string) }.
  request(method, apiPath, body, headers) {
    let head = `${method} ${apiPath} HTTP/1.1\r\n${this.hostHeader}`;
    if (headers) for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    const payload = body === undefined ? '' : body;
    const request = head + `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n` + payload;
    return new Promise((resolve, reject) => {
      this.inFlight =
          { request, resolve, reject, retried: false, head: null, chunks: [], length: 0 };
      this.send();
    });
  }

  send() {
    if (this.socket === null) this.connect();
    // Referenced only while a request is in flight: an idle connection must not keep the
    // event loop alive, or callbackWaitsForEmptyEventLoop would wait for it forever.
    this.socket.ref();
    this.socket.write(this.inFlight.request);
  }

  connect() {
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {}); // reported through 'close'
    socket.on('close', () => this.onClose(socket));
    this.socket = socket;
  }

  onClose(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    const pending = this.inFlight;
    if (pending === null) return;
    if (!pending.retried && pending.head === null && pending.length === 0) {
      pending.retried = true;
      this.send();
      return;
    }
    this.inFlight = null;
    pending.reject(new Error(`the Runtime API at ${this.host}:${this.port} closed the connection`));
  }

  onData(chunk) {
    const pending = this.inFlight;
    if (pending === null) return this.fail(new Error('Runtime API data with no request in flight'));
    pending.chunks.push(chunk);
    pending.length += chunk.length;
    if (pending.head === null) {
      const received = pending.chunks.length === 1 ? chunk : Buffer.concat(pending.chunks);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        pending.chunks = [received];
        return undefined;
      }
      pending.head = parseHead(received.latin1Slice(0, end));
      if (pending.head === null) return this.fail(new Error('malformed Runtime API response'));
      pending.chunks = [received.subarray(end + 4)];
      pending.length = received.length - end - 4;
    }
    const { status, headers, contentLength } = pending.head;
    if (pending.length < contentLength) return undefined;
    if (pending.length > contentLength) {
      return this.fail(new Error('Runtime API sent more than its Content-Length'));
    }
    this.inFlight = null;
    this.socket.unref();
    const bodyBytes =
        pending.chunks.length === 1 ? pending.chunks[0] : Buffer.concat(pending.chunks);
    if ((headers.connection || '').toLowerCase() === 'close') {
      this.socket.destroy();
      this.socket = null;
    }
    pending.resolve({ status, headers, body: bodyBytes.toString() });
    return undefined;
  }

  fail(error) {
    const pending = this.inFlight;
    this.inFlight = null;
    if (this.socket !== null) this.socket.destroy();
    this.socket = null;
    if (pending !== null) pending.reject(error);
  }
}

// "HTTP/1.1 200 OK\r\nName: value..." → { status, headers, contentLength }, or null.
function parseHead(text) {
  const lines = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!match) return null;
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0) return null;
    headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  if (headers['transfer-encoding'] !== undefined) return null; // hearth-init never chunks
  const contentLength = Number(headers['content-length'] || '0');
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) return null;
  return { status: Number(match[1]), headers, contentLength };
}

// ---------------------------------------------------------------------------------------------
// Loading the handler: "dir/file.nested.fn" under LAMBDA_TASK_ROOT.

function hasTypeModulePackageJson(folder) {
  for (;;) {
    if (folder.endsWith('/node_modules')) return false;
    const pj = path.join(folder, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (e) {
        console.warn(
            `${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    const parent = path.dirname(folder);
    if (parent === folder) return false;
    folder = parent;
  }
}

function requireIfExists(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function importIfExists(file) {
  return fs.existsSync(file) ? import(require('url').pathToFileURL(file).href) : undefined;
}

// The same search order as Lambda: extensionless and .js as CommonJS (unless the nearest
// package.json says "type": "module"), then .js as ESM, .mjs, .cjs, then Node's resolution.
async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const typeModule = hasTypeModulePackageJson(path.dirname(base));
  return requireIfExists(base) ||
    (!typeModule && requireIfExists(base + '.js')) ||
    (typeModule && await importIfExists(base + '.js')) ||
    await importIfExists(base + '.mjs') ||
    requireIfExists(base + '.cjs') ||
    require(require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(`'${fullHandler}' is not a valid handler name. Use absolute ` +
        'paths when specifying root directories in handler names.');
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, propertyPath] = match;

  let userModule;
  try {
    userModule = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(e);
    }
    throw e;
  }
  const handler = propertyPath.split('.').reduce((obj, key) => obj && obj[key], userModule);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

// ---------------------------------------------------------------------------------------------
// Invoking.

// The one function run when the event loop drains ('beforeExit'), set per invoke.
let onEventLoopEmpty = null;
process.on('beforeExit', () => {
  const run = onEventLoopEmpty;
  onEventLoopEmpty = null;
  if (run) run();
});

function jsonOrNull(value) {
  return JSON.stringify(value === undefined ? null : value);
}

const environment = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
};

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    // Header values are kept as latin1 (one char per byte); the JSON in them is UTF-8.
    return JSON.parse(Buffer.from(value, 'latin1').toString());
  } catch (e) {
    throw new Error(`Cannot parse ${name} as json: ${e.toString()}`);
  }
}

// Runs one invoke; resolves to { result: <JSON string> } or { error } once the handler has
// answered by whichever of its means came first. Later answers are ignored.
function runInvoke(handler, isAsync, requestId, headers, body) {
  return new Promise((resolve) => {
    let answered = false;
    let waitForEmptyEventLoop = true;
    const answer = (outcome) => {
      if (answered) return;
      answered = true;
      onEventLoopEmpty = null;
      resolve(outcome);
    };
    const succeed = (result) => {
      try {
        answer({ result: jsonOrNull(result) });
      } catch (_) {
        answer({ error: new Error('Unable to stringify response body') });
      }
    };
    const fail = (err) => answer({ error: err });
    const done = (err, result) => (err !== undefined && err !== null ? fail(err) : succeed(result));
    const callback = (err, result) => {
      if (err !== undefined && err !== null) return fail(err);
      if (!waitForEmptyEventLoop) return succeed(result);
      onEventLoopEmpty = () => setImmediate(() => succeed(result));
    };

    // Until the handler answers, a drained event loop means it never will.
    onEventLoopEmpty = isAsync ?
      () => answer({ error: new NodeJsExit('Runtime exited without providing a reason') }) :
      () => answer({ result: 'null' });

    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    try {
      const context = {
        get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
        set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
        succeed,
        fail: (err) => fail(err === undefined || err === null ? 'handled' : err),
        done,
        functionName: environment.functionName,
        functionVersion: environment.functionVersion,
        memoryLimitInMB: environment.memoryLimitInMB,
        logGroupName: environment.logGroupName,
        logStreamName: environment.logStreamName,
        clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: requestId,
        getRemainingTimeInMillis: () => deadline - Date.now(),
      };
      const returned = handler(JSON.parse(body), context, callback);
      if (returned && typeof returned.then === 'function') returned.then(succeed, fail);
    } catch (err) {
      fail(err);
    }
  });
}

let currentInvoke = null; // { requestId } while an invoke is unanswered

async function serve(client, handler) {
  const isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';
  for (;;) {
    const { headers, body } = await client.nextInvocation();
    const requestId = headers['lambda-runtime-aws-request-id'];
    if (!requestId) throw new Error('GET /invocation/next without Lambda-Runtime-Aws-Request-Id');
    currentRequestId = requestId;
    const traceId = headers['lambda-runtime-trace-id'];
    if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
    else delete process.env._X_AMZN_TRACE_ID;

    currentInvoke = { requestId };
    const outcome = await runInvoke(handler, isAsync, requestId, headers, body);
    currentInvoke = null;
    if (outcome.error === undefined) {
      await client.postResponse(requestId, outcome.result);
    } else {
      console.error('Invoke Error', toLogFormat(outcome.error));
      await client.postError(requestId, outcome.error);
    }
  }
}

// Reports a fatal error for whatever is in progress (the invoke, else init) and exits.
function failAndExit(client, error, exitCode) {
  const report = currentInvoke ? client.postError(currentInvoke.requestId, error) :
    initialised ? Promise.resolve() : client.postInitError(error);
  currentInvoke = null;
  report.then(() => process.exit(exitCode), () => process.exit(exitCode));
}

let initialised = false;

async function main() {
  patchConsole();
  const address = process.env.AWS_LAMBDA_RUNTIME_API;
  if (!address) {
    process.stderr.write('hearth runtime: AWS_LAMBDA_RUNTIME_API is not set\n');
    process.exit(1);
  }
  const client = new RuntimeApiClient(address);

  process.on('uncaughtException', (error) => {
    console.error('Uncaught Exception', toLogFormat(error));
    failAndExit(client, error, EXIT_UNCAUGHT_EXCEPTION);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(String(reason));
    error.reason = reason;
    error.promise = promise;
    console.error('Unhandled Promise Rejection', toLogFormat(error));
    failAndExit(client, error, EXIT_UNHANDLED_REJECTION);
  });

  const appRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
  try {
    process.chdir(appRoot); // Lambda's working directory
  } catch (_) {
    // Handlers that do not rely on the working directory still run.
  }
  let handler;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
  } catch (error) {
    console.error('Uncaught Exception', toLogFormat(error));
    await client.postInitError(error);
    process.exit(EXIT_UNCAUGHT_EXCEPTION);
  }
  initialised = true;
  try {
    await serve(client, handler);
  } catch (error) {
    // The Runtime API itself failed (hearth-init gone, protocol error): nothing to report to.
    console.error('Runtime API Error', toLogFormat(error));
    process.exit(1);
  }
}

main();
