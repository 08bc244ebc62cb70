// Drives hearthd with the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda), for
// tests/e2e/test_js_sdk.py. Input (environment): HEARTH_SDK_DIR (the fetch-aws-sdk-js install),
// HEARTH_ENDPOINT, HEARTH_ACCESS_KEY, HEARTH_SECRET_KEY, HEARTH_REGION, HEARTH_FUNCTION,
// HEARTH_ZIP_B64 (a python3.11 echo handler, app.handler). Output: one JSON line on stdout with
// what each call returned; the Python test asserts on it. Any unexpected error exits non-zero.
import { createRequire } from 'node:module';
import path from 'node:path';

const env = process.env;
const require = createRequire(path.resolve(env.HEARTH_SDK_DIR, 'package.json'));
const {
  LambdaClient, CreateFunctionCommand, GetFunctionCommand, ListFunctionsCommand, InvokeCommand,
  UpdateFunctionConfigurationCommand, DeleteFunctionCommand,
} = require('@aws-sdk/client-lambda');

const client = new LambdaClient({
  endpoint: env.HEARTH_ENDPOINT,
  region: env.HEARTH_REGION,
  credentials: { accessKeyId: env.HEARTH_ACCESS_KEY, secretAccessKey: env.HEARTH_SECRET_KEY },
  maxAttempts: 1,
});
const name = env.HEARTH_FUNCTION;
const out = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check) {
  for (let i = 0; i < 60; i++) {
    const cfg = (await client.send(new GetFunctionCommand({ FunctionName: name }))).Configuration;
    if (check(cfg)) return cfg;
    await sleep(1000);
  }
  throw new Error(`function ${name} did not settle`);
}

async function invoke(payload) {
  const r = await client.send(new InvokeCommand({
    FunctionName: name, Payload: new TextEncoder().encode(JSON.stringify(payload)),
    LogType: 'Tail',
  }));
  return {
    status: r.StatusCode, functionError: r.FunctionError ?? null,
    payload: JSON.parse(new TextDecoder().decode(r.Payload)),
    log: r.LogResult ? Buffer.from(r.LogResult, 'base64').toString('utf8') : null,
    requestId: r.$metadata.requestId ?? null,
  };
}

const created = await client.send(new CreateFunctionCommand({
  FunctionName: name, Runtime: 'python3.11', Role: 'arn:aws:iam::123456789012:role/x',
  Handler: 'app.handler', Code: { ZipFile: new Uint8Array(Buffer.from(env.HEARTH_ZIP_B64, 'base64')) },
}));
out.create = { status: created.$metadata.httpStatusCode, functionName: created.FunctionName,
               functionArn: created.FunctionArn, runtime: created.Runtime,
               handler: created.Handler, codeSha256: created.CodeSha256 };

const got = await client.send(new GetFunctionCommand({ FunctionName: name }));
out.get = { functionName: got.Configuration.FunctionName, state: got.Configuration.State,
            codeLocation: got.Code?.Location ?? null };
out.activeState = (await waitFor((c) => c.State === 'Active')).State;

const names = [];
let marker;
do {
  const page = await client.send(new ListFunctionsCommand({ Marker: marker }));
  for (const f of page.Functions ?? []) names.push(f.FunctionName);
  marker = page.NextMarker;
} while (marker);
out.listed = names.includes(name);

out.invoke1 = await invoke({ hello: 'js-sdk', n: [1, 2, 3] });

const updated = await client.send(new UpdateFunctionConfigurationCommand({
  FunctionName: name, Environment: { Variables: { JS_SDK_MARKER: 'from-js-sdk' } },
}));
out.update = { status: updated.$metadata.httpStatusCode,
               variables: updated.Environment?.Variables ?? null };
out.updateStatus = (await waitFor((c) => c.LastUpdateStatus !== 'InProgress')).LastUpdateStatus;

out.invoke2 = await invoke({ env: 'JS_SDK_MARKER' });

try {
  await client.send(new InvokeCommand({ FunctionName: `${name}-missing`,
                                        Payload: new TextEncoder().encode('{}') }));
  out.missing = { name: null };
} catch (err) {
  out.missing = { name: err.name, status: err.$metadata?.httpStatusCode ?? null,
                  message: err.message };
}

const deleted = await client.send(new DeleteFunctionCommand({ FunctionName: name }));
out.delete = { status: deleted.$metadata.httpStatusCode };
try {
  await client.send(new GetFunctionCommand({ FunctionName: name }));
  out.afterDelete = null;
} catch (err) {
  out.afterDelete = err.name;
}

process.stdout.write(JSON.stringify(out) + '\n');
