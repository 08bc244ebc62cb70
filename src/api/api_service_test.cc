// The Lambda API end to end in one process: a real stack (SQLite metadata store and local code
// store in a temporary directory, account registry, function service, worker manager over
// FakeWorker environments that echo their payload, invoker) behind ApiService on an http::Server
// bound to an ephemeral port, driven by http::Client with requests signed by sigv4::sign() the
// way botocore signs them.
#include "api/api_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "api/sigv4.h"
#include "codestore/chunked_code_store.h"
#include "codestore/testing/memory_chunks.h"
#include "codestore/testing/zip_builder.h"
#include "codestore/zip_archive.h"
#include "common/encoding.h"
#include "control/function_name.h"
#include "frontend/event_target_impl.h"
#include "frontend/log_store.h"
#include "http/client.h"
#include "http/server.h"
#include "queue/sqlite_event_queue.h"
#include "store/metadata_store.h"
#include "worker/testing/fake_worker.h"

namespace hearth::api {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::beast::http::status;
using boost::beast::http::verb;
using nlohmann::json;

constexpr char kAccessKey[] = "AKIDHEARTHTEST000001";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kRegion[] = "us-east-1";
constexpr char kRole[] = "arn:aws:iam::123456789012:role/lambda";

std::string zipWith(const std::string& source) {
  return codestore::testing::ZipBuilder().file("app.py", source).build();
}

json createBody(const std::string& name, const std::string& zip) {
  return {{"FunctionName", name},
          {"Runtime", "python3.11"},
          {"Role", kRole},
          {"Handler", "app.handler"},
          {"Code", {{"ZipFile", base64Encode(zip)}}}};
}

class ApiServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hearth-api-XXXXXX").string();
    // SAFETY: mkdtemp rewrites the XXXXXX suffix in place; tmpl is a writable NUL-terminated
    // buffer that outlives the call.
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;

    auto store = store::openSqliteStore((dir_ / "metadata.db").string());
    ASSERT_TRUE(store.ok()) << store.error().toString();
    store_ = std::move(*store);
    codestore::CodeStoreOptions code_options;
    code_options.dir = dir_ / "code";
    code_options.keyring = dir_ / "keyring";
    auto code = codestore::ChunkedCodeStore::open(code_options);
    ASSERT_TRUE(code.ok()) << code.error().toString();
    code_ = std::move(*code);

    accounts_ = std::make_unique<control::AccountRegistry>(*store_);
    ASSERT_TRUE(accounts_->load().ok());
    auto account = accounts_->create("tester", std::make_pair(kAccessKey, kSecret));
    ASSERT_TRUE(account.ok()) << account.error().toString();
    account_ = *account;

    functions_ = std::make_unique<control::FunctionService>(*store_, *code_, kRegion);
    ASSERT_TRUE(functions_->load().ok());
    workers_ = std::make_unique<workermgr::WorkerManager>(
        io_.get_executor(), std::vector<workermgr::WorkerSlot>{{&worker_, 1 << 20}},
        workermgr::Options{});
    logs_ = std::make_unique<frontend::LogStore>(dir_ / "logs");
    auto events = queue::SqliteEventQueue::open((dir_ / "queue.db").string(), io_.get_executor());
    ASSERT_TRUE(events.ok()) << events.error().toString();
    events_ = std::move(*events);
    invoker_ =
        std::make_unique<frontend::Invoker>(*functions_, *workers_, *logs_, *events_, kRegion);
    target_ = std::make_unique<frontend::EventTargetImpl>(*functions_, *invoker_, kRegion);
    streams_ =
        std::make_unique<eventsources::MappingRunner>(*events_, *target_, io_.get_executor());
    mappings_ = std::make_unique<control::EventSourceMappingService>(*store_, *functions_, kRegion);
    api_ = std::make_unique<ApiService>(
        ApiService::Deps{*accounts_, *functions_, *invoker_, *code_, *events_, *mappings_,
                         *streams_, pool_.get_executor(), kRegion, "download-secret-for-tests"});

    http::ServerOptions options;
    options.body_limit = kMaxRequestBodyBytes;
    options.too_large = [this](const http::Request& req) { return api_->tooLarge(req); };
    auto server = http::Server::listen(
        io_, "127.0.0.1", 0, [this](http::Request& req) { return api_->handle(req); },
        std::move(options));
    ASSERT_TRUE(server.ok()) << server.error().toString();
    server_ = std::move(*server);
    client_ = std::make_unique<http::Client>(io_.get_executor());
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    workers_->shutdown();
    pool_.join();
    fs::remove_all(dir_);
  }

  // Runs `op` on the test's io_context until it completes.
  template <typename T>
  T await(asio::awaitable<T> op) {
    std::future<T> done = asio::co_spawn(io_, std::move(op), asio::use_future);
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out");
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    return done.get();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  http::Request request(verb method, const std::string& target, std::string body = {}) {
    http::Request req{method, target, 11};
    req.set(boost::beast::http::field::host, host());
    req.body() = std::move(body);
    return req;
  }

  // Sends `req` as is (sign it first if it should be signed) and checks what every reply of the
  // API carries.
  http::Response sendRaw(http::Request req) {
    if (!client_->isOpen()) {
      Result<void> connected = await(client_->connect("127.0.0.1", server_->port()));
      if (!connected) throw std::runtime_error(connected.error().toString());
    }
    Result<http::Response> res = await(client_->send(req));
    if (!res) throw std::runtime_error(res.error().toString());
    EXPECT_EQ((*res)["x-amzn-RequestId"].size(), 36u) << req.target();
    if (!res->body().empty() && (*res)["Content-Type"] != "application/zip") {
      EXPECT_EQ((*res)["Content-Type"], "application/json") << req.target();
    }
    return std::move(*res);
  }

  http::Response send(http::Request req, const std::string& key = kAccessKey,
                      const std::string& secret = kSecret, const std::string& region = kRegion) {
    sigv4::sign(req, key, secret, region, std::chrono::system_clock::now());
    return sendRaw(std::move(req));
  }

  http::Response send(verb method, const std::string& target, std::string body = {}) {
    return send(request(method, target, std::move(body)));
  }

  // Sends and expects `expected`; returns the JSON body (null when empty).
  json sendJson(verb method, const std::string& target, const json& body, status expected) {
    http::Response res = send(method, target, body.is_null() ? std::string() : body.dump());
    EXPECT_EQ(res.result(), expected) << method << " " << target << ": " << res.body();
    if (res.body().empty()) return nullptr;
    json doc = json::parse(res.body(), nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << res.body();
    return doc;
  }

  // Expects a Lambda error reply; returns its message as botocore reads it.
  static std::string expectError(const http::Response& res, status st, std::string_view name) {
    EXPECT_EQ(res.result(), st) << res.body();
    EXPECT_EQ(res["X-Amzn-ErrorType"], name) << res.body();
    json body = json::parse(res.body(), nullptr, false);
    if (!body.is_object()) {
      ADD_FAILURE() << "error body is not a JSON object: " << res.body();
      return {};
    }
    EXPECT_EQ(body["Type"], st >= status::internal_server_error ? "Service" : "User");
    if (body.contains("message")) return body["message"];
    if (body.contains("Message")) return body["Message"];
    ADD_FAILURE() << "no message: " << res.body();
    return {};
  }

  json createFunction(const std::string& name, const std::string& zip) {
    return sendJson(verb::post, "/2015-03-31/functions", createBody(name, zip), status::created);
  }

  std::string arn(const std::string& name) const {
    return control::functionArn(kRegion, account_.account_id, name);
  }

  fs::path dir_;
  asio::io_context io_;
  asio::thread_pool pool_{1};
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<codestore::ChunkedCodeStore> code_;
  std::unique_ptr<control::AccountRegistry> accounts_;
  store::Account account_;
  std::unique_ptr<control::FunctionService> functions_;
  worker::testing::FakeWorker worker_;
  std::unique_ptr<workermgr::WorkerManager> workers_;
  std::unique_ptr<frontend::LogStore> logs_;
  std::unique_ptr<queue::SqliteEventQueue> events_;
  std::unique_ptr<frontend::Invoker> invoker_;
  std::unique_ptr<frontend::EventTargetImpl> target_;
  std::unique_ptr<eventsources::MappingRunner> streams_;
  std::unique_ptr<control::EventSourceMappingService> mappings_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(ApiServiceTest, FunctionLifecycle) {
  const std::string zip = zipWith("def handler(e, c):\n    return e\n");
  json created = createFunction("hello", zip);
  EXPECT_EQ(created["FunctionName"], "hello");
  EXPECT_EQ(created["FunctionArn"], arn("hello"));
  EXPECT_EQ(created["CodeSize"], zip.size());
  EXPECT_EQ(created["State"], "Active");
  EXPECT_EQ(created["MemorySize"], 128);
  const std::string revision = created["RevisionId"];

  // GetFunction by name, by percent-encoded ARN (as botocore sends it), with a trailing slash.
  for (const std::string& target : {std::string("/2015-03-31/functions/hello"),
                                    "/2015-03-31/functions/" + uriEncode(arn("hello"), false),
                                    std::string("/2015-03-31/functions/hello/")}) {
    SCOPED_TRACE(target);
    json got = sendJson(verb::get, target, nullptr, status::ok);
    EXPECT_EQ(got["Configuration"], created);
    EXPECT_EQ(got["Code"]["RepositoryType"], "S3");
    EXPECT_TRUE(got["Code"]["Location"].get<std::string>().starts_with("http://" + host() +
                                                                       "/hearth/code/"));
    EXPECT_FALSE(got.contains("Concurrency"));
  }

  // A qualifier shows in the ARN; $LATEST is the only version there is.
  json config = sendJson(verb::get, "/2015-03-31/functions/hello/configuration?Qualifier=%24LATEST",
                         nullptr, status::ok);
  EXPECT_EQ(config["FunctionArn"], arn("hello") + ":$LATEST");
  std::string missing_version =
      expectError(send(verb::get, "/2015-03-31/functions/hello:7/configuration"), status::not_found,
                  "ResourceNotFoundException");
  EXPECT_EQ(missing_version, "Function not found: " + arn("hello") + ":7");

  json updated = sendJson(verb::put, "/2015-03-31/functions/hello/configuration",
                          {{"MemorySize", 256},
                           {"Environment", {{"Variables", {{"GREETING", "hi"}}}}},
                           {"RevisionId", revision}},
                          status::ok);
  EXPECT_EQ(updated["MemorySize"], 256);
  EXPECT_EQ(updated["Environment"]["Variables"]["GREETING"], "hi");
  EXPECT_NE(updated["RevisionId"], revision);

  // The old RevisionId no longer matches.
  expectError(send(verb::put, "/2015-03-31/functions/hello/configuration",
                   json{{"Timeout", 5}, {"RevisionId", revision}}.dump()),
              status::precondition_failed, "PreconditionFailedException");

  const std::string zip2 = zipWith("def handler(e, c):\n    return {'v': 2}\n");
  json recoded = sendJson(verb::put, "/2015-03-31/functions/hello/code",
                          {{"ZipFile", base64Encode(zip2)}}, status::ok);
  EXPECT_EQ(recoded["CodeSize"], zip2.size());
  EXPECT_NE(recoded["CodeSha256"], created["CodeSha256"]);
  EXPECT_EQ(recoded["MemorySize"], 256) << "a code update keeps the configuration";

  // DryRun validates without changing the code.
  json dry = sendJson(verb::put, "/2015-03-31/functions/hello/code",
                      {{"ZipFile", base64Encode(zip)}, {"DryRun", true}}, status::ok);
  EXPECT_EQ(dry["CodeSha256"], recoded["CodeSha256"]);

  http::Response deleted = send(verb::delete_, "/2015-03-31/functions/hello");
  EXPECT_EQ(deleted.result(), status::no_content);
  EXPECT_TRUE(deleted.body().empty());
  EXPECT_EQ(expectError(send(verb::get, "/2015-03-31/functions/hello"), status::not_found,
                        "ResourceNotFoundException"),
            "Function not found: " + arn("hello"));
  expectError(send(verb::delete_, "/2015-03-31/functions/hello"), status::not_found,
              "ResourceNotFoundException");
}

TEST_F(ApiServiceTest, ListFunctionsPaginatesWithOpaqueMarkers) {
  const std::string zip = zipWith("x = 1\n");
  const std::vector<std::string> names = {"alpha", "bravo", "charlie", "delta", "echo"};
  for (const std::string& name : names) createFunction(name, zip);

  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    // Older clients send the trailing slash; the marker goes back percent-encoded.
    std::string target = "/2015-03-31/functions/?MaxItems=2&FunctionVersion=ALL";
    if (!marker.empty()) target += "&Marker=" + uriEncode(marker, false);
    json page = sendJson(verb::get, target, nullptr, status::ok);
    EXPECT_LE(page["Functions"].size(), 2u);
    for (const json& f : page["Functions"]) seen.push_back(f["FunctionName"]);
    marker = page.value("NextMarker", "");
    ++pages;
  } while (!marker.empty() && pages < 10);
  EXPECT_EQ(seen, names);
  EXPECT_EQ(pages, 3);

  json all = sendJson(verb::get, "/2015-03-31/functions", nullptr, status::ok);
  EXPECT_EQ(all["Functions"].size(), names.size());
  EXPECT_FALSE(all.contains("NextMarker"));

  expectError(send(verb::get, "/2015-03-31/functions?MaxItems=0"), status::bad_request,
              "InvalidParameterValueException");
  expectError(send(verb::get, "/2015-03-31/functions?MaxItems=ten"), status::bad_request,
              "InvalidParameterValueException");
  expectError(send(verb::get, "/2015-03-31/functions?Marker=%21%21"), status::bad_request,
              "InvalidParameterValueException");
}

TEST_F(ApiServiceTest, InvokeEchoesAndReportsLikeLambda) {
  createFunction("echo", zipWith("x = 1\n"));
  const std::string target = "/2015-03-31/functions/echo/invocations";

  http::Request req = request(verb::post, target, R"({"hello":"world"})");
  req.set("X-Amz-Log-Type", "Tail");
  http::Response res = send(std::move(req));
  ASSERT_EQ(res.result(), status::ok) << res.body();
  EXPECT_EQ(res.body(), R"({"hello":"world"})");
  EXPECT_EQ(res["X-Amz-Executed-Version"], "$LATEST");
  EXPECT_EQ(res.count("X-Amz-Function-Error"), 0u);
  std::optional<std::string> log = base64Decode(res["X-Amz-Log-Result"]);
  ASSERT_TRUE(log.has_value());
  // The invoke's request id is the API request's.
  EXPECT_NE(log->find("START RequestId: " + std::string(res["x-amzn-RequestId"])),
            std::string::npos)
      << *log;

  // Qualified by ARN and ?Qualifier=$LATEST.
  http::Response qualified = send(
      verb::post,
      "/2015-03-31/functions/" + uriEncode(arn("echo"), false) + "/invocations?Qualifier=%24LATEST",
      "{}");
  EXPECT_EQ(qualified.result(), status::ok) << qualified.body();
  EXPECT_EQ(qualified.count("X-Amz-Log-Result"), 0u);

  http::Request context = request(verb::post, target, "{}");
  context.set("X-Amz-Client-Context", "not base64!");
  expectError(send(std::move(context)), status::bad_request, "InvalidParameterValueException");
  http::Request log_type = request(verb::post, target, "{}");
  log_type.set("X-Amz-Log-Type", "Everything");
  expectError(send(std::move(log_type)), status::bad_request, "InvalidParameterValueException");

  http::Request dry = request(verb::post, target, "{}");
  dry.set("X-Amz-Invocation-Type", "DryRun");
  http::Response dry_res = send(std::move(dry));
  EXPECT_EQ(dry_res.result(), status::no_content);
  EXPECT_TRUE(dry_res.body().empty());

  // Event: 202 once durable, with the request id every attempt will carry.
  http::Request event = request(verb::post, target, R"({"async":1})");
  event.set("X-Amz-Invocation-Type", "Event");
  http::Response accepted = send(std::move(event));
  EXPECT_EQ(accepted.result(), status::accepted) << accepted.body();
  EXPECT_TRUE(accepted.body().empty());
  EXPECT_EQ(events_->depth(), 1u);
  auto queued = await(events_->lease(10, std::chrono::seconds(60)));
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ((*queued)[0].request_id, accepted["x-amzn-RequestId"]);
  EXPECT_EQ((*queued)[0].payload, R"({"async":1})");
  EXPECT_EQ((*queued)[0].target.function_name, "echo");
  http::Request big_event = request(verb::post, target, std::string(1048577, 'x'));
  big_event.set("X-Amz-Invocation-Type", "Event");
  EXPECT_EQ(expectError(send(std::move(big_event)), status::payload_too_large,
                        "RequestTooLargeException"),
            "Request must be smaller than 1048576 bytes for the InvokeFunction operation");
  http::Request missing_event = request(verb::post, "/2015-03-31/functions/nope/invocations", "{}");
  missing_event.set("X-Amz-Invocation-Type", "Event");
  expectError(send(std::move(missing_event)), status::not_found, "ResourceNotFoundException");
  EXPECT_EQ(events_->depth(), 1u) << "refused events are not stored";

  http::Response legacy = send(verb::post, "/2014-11-13/functions/echo/invoke-async/", "{}");
  EXPECT_EQ(legacy.result(), status::accepted);
  EXPECT_EQ(json::parse(legacy.body())["Status"], 202);
  expectError(
      send(verb::post, "/2014-11-13/functions/echo/invoke-async/", std::string(262145, 'x')),
      status::payload_too_large, "RequestTooLargeException");
  EXPECT_EQ(events_->depth(), 2u);

  EXPECT_EQ(expectError(send(verb::post, "/2015-03-31/functions/nope/invocations", "{}"),
                        status::not_found, "ResourceNotFoundException"),
            "Function not found: " + arn("nope"));

  std::string big(frontend::kMaxSyncPayloadBytes + 1, 'x');
  EXPECT_EQ(expectError(send(verb::post, target, big), status::payload_too_large,
                        "RequestTooLargeException"),
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation");

  // A function failure is still HTTP 200, flagged in a header.
  createFunction("crashy", zipWith("x = 2\n"));
  worker_.crashOnInvoke(true);
  http::Response crashed = send(verb::post, "/2015-03-31/functions/crashy/invocations", "{}");
  EXPECT_EQ(crashed.result(), status::ok);
  EXPECT_EQ(crashed["X-Amz-Function-Error"], "Unhandled");
}

TEST_F(ApiServiceTest, AuthenticationFailuresAndUnknownRoutes) {
  const std::string target = "/2015-03-31/functions";
  expectError(sendRaw(request(verb::get, target)), status::forbidden,
              "UnrecognizedClientException");
  expectError(send(request(verb::get, target), "AKIDUNKNOWN000000000", kSecret), status::forbidden,
              "UnrecognizedClientException");
  expectError(send(request(verb::get, target), kAccessKey, "not-the-secret"), status::forbidden,
              "InvalidSignatureException");
  std::string region_message =
      expectError(send(request(verb::get, target), kAccessKey, kSecret, "eu-west-1"),
                  status::forbidden, "InvalidSignatureException");
  EXPECT_NE(region_message.find("eu-west-1"), std::string::npos);

  // A body changed after signing no longer verifies.
  http::Request tampered = request(verb::post, target, createBody("x", "zip").dump());
  sigv4::sign(tampered, kAccessKey, kSecret, kRegion, std::chrono::system_clock::now());
  tampered.body() = createBody("y", "zip").dump();
  expectError(sendRaw(std::move(tampered)), status::forbidden, "InvalidSignatureException");

  expectError(send(verb::get, "/2015-03-31/no-such-thing"), status::not_found,
              "UnknownOperationException");
  expectError(send(verb::patch, "/2015-03-31/functions"), status::not_found,
              "UnknownOperationException");
}

TEST_F(ApiServiceTest, RequestValidationErrors) {
  const std::string zip = zipWith("x = 1\n");
  expectError(send(verb::post, "/2015-03-31/functions", "{not json"), status::bad_request,
              "InvalidRequestContentException");

  json body = createBody("f", zip);
  body["MemorySize"] = 99999;
  EXPECT_NE(expectError(send(verb::post, "/2015-03-31/functions", body.dump()), status::bad_request,
                        "InvalidParameterValueException")
                .find("memorySize"),
            std::string::npos);
  body["MemorySize"] = "big";
  expectError(send(verb::post, "/2015-03-31/functions", body.dump()), status::bad_request,
              "InvalidParameterValueException");

  expectError(send(verb::post, "/2015-03-31/functions",
                   createBody("f", "this is not a zip archive").dump()),
              status::bad_request, "InvalidParameterValueException");
  expectError(send(verb::post, "/2015-03-31/functions", createBody("bad name!", zip).dump()),
              status::bad_request, "InvalidParameterValueException");

  createFunction("f", zip);
  expectError(send(verb::post, "/2015-03-31/functions", createBody("f", zip).dump()),
              status::conflict, "ResourceConflictException");
  // An ARN in another account cannot exist for this caller.
  expectError(
      send(verb::get, "/2015-03-31/functions/" +
                          uriEncode("arn:aws:lambda:us-east-1:999999999999:function:f", false)),
      status::not_found, "ResourceNotFoundException");
  expectError(send(verb::put, "/2015-03-31/functions/f:1/configuration", "{}"), status::bad_request,
              "InvalidParameterValueException");

  // Bodies over the server's limit never reach a handler; tooLarge() names the right exception.
  http::Request huge_invoke = request(verb::post, "/2015-03-31/functions/f/invocations");
  expectError(api_->tooLarge(huge_invoke), status::payload_too_large, "RequestTooLargeException");
  http::Request huge_create = request(verb::post, "/2015-03-31/functions/");
  EXPECT_EQ(expectError(api_->tooLarge(huge_create), status::payload_too_large,
                        "RequestEntityTooLargeException"),
            "Request must be smaller than 69905067 bytes for the CreateFunction operation");
}

TEST_F(ApiServiceTest, ConcurrencyAndAccountSettings) {
  const std::string zip = zipWith("x = 1\n");
  createFunction("a", zip);
  createFunction("b", zip);

  json settings = sendJson(verb::get, "/2016-08-19/account-settings/", nullptr, status::ok);
  EXPECT_EQ(settings["AccountLimit"]["ConcurrentExecutions"], 1000);
  EXPECT_EQ(settings["AccountLimit"]["UnreservedConcurrentExecutions"], 1000);
  EXPECT_EQ(settings["AccountLimit"]["TotalCodeSize"], 80530636800ULL);
  EXPECT_EQ(settings["AccountLimit"]["CodeSizeZipped"], 52428800);
  EXPECT_EQ(settings["AccountLimit"]["CodeSizeUnzipped"], 262144000);
  EXPECT_EQ(settings["AccountUsage"]["FunctionCount"], 2);
  EXPECT_EQ(settings["AccountUsage"]["TotalCodeSize"], 2 * zip.size());

  EXPECT_EQ(sendJson(verb::get, "/2019-09-30/functions/a/concurrency", nullptr, status::ok),
            json::object());
  EXPECT_EQ(sendJson(verb::put, "/2017-10-31/functions/a/concurrency",
                     {{"ReservedConcurrentExecutions", 10}}, status::ok),
            json({{"ReservedConcurrentExecutions", 10}}));
  EXPECT_EQ(sendJson(verb::get, "/2019-09-30/functions/a/concurrency", nullptr, status::ok),
            json({{"ReservedConcurrentExecutions", 10}}));
  EXPECT_EQ(sendJson(verb::get, "/2015-03-31/functions/a", nullptr,
                     status::ok)["Concurrency"]["ReservedConcurrentExecutions"],
            10);
  EXPECT_EQ(sendJson(verb::get, "/2016-08-19/account-settings", nullptr,
                     status::ok)["AccountLimit"]["UnreservedConcurrentExecutions"],
            990);

  // At least 100 must stay unreserved.
  expectError(send(verb::put, "/2017-10-31/functions/b/concurrency",
                   json{{"ReservedConcurrentExecutions", 900}}.dump()),
              status::bad_request, "InvalidParameterValueException");
  expectError(send(verb::put, "/2017-10-31/functions/b/concurrency", "{}"), status::bad_request,
              "InvalidParameterValueException");
  expectError(send(verb::put, "/2017-10-31/functions/zzz/concurrency",
                   json{{"ReservedConcurrentExecutions", 1}}.dump()),
              status::not_found, "ResourceNotFoundException");

  EXPECT_EQ(send(verb::delete_, "/2017-10-31/functions/a/concurrency").result(),
            status::no_content);
  EXPECT_EQ(sendJson(verb::get, "/2019-09-30/functions/a/concurrency", nullptr, status::ok),
            json::object());
}

TEST_F(ApiServiceTest, PresignedCodeDownload) {
  const std::string zip = zipWith("def handler(e, c):\n    return 1\n");
  createFunction("dl", zip);
  json got = sendJson(verb::get, "/2015-03-31/functions/dl", nullptr, status::ok);
  const std::string location = got["Code"]["Location"];
  const std::string prefix = "http://" + host();
  ASSERT_TRUE(location.starts_with(prefix)) << location;
  const std::string target = location.substr(prefix.size());

  // Unsigned: the URL is its own credential.
  http::Response res = sendRaw(request(verb::get, target));
  ASSERT_EQ(res.result(), status::ok) << res.body();
  EXPECT_EQ(res["Content-Type"], "application/zip");
  // The stored tree, zipped canonically: the same files, not the upload's bytes.
  auto treeIn = [](const std::string& z) {
    codestore::testing::MemoryChunks chunks;
    codestore::TreeBuilder builder(chunks, codestore::zipTreeRules());
    EXPECT_TRUE(codestore::unpackZip(z, builder).ok());
    Result<codestore::Manifest> m = builder.finish();
    EXPECT_TRUE(m.ok());
    return codestore::testing::treeOf(*m, chunks.blobs);
  };
  EXPECT_EQ(treeIn(res.body()), treeIn(zip));

  std::string tampered = target;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  expectError(sendRaw(request(verb::get, tampered)), status::forbidden,
              "InvalidSignatureException");
  const size_t query = target.find('?');
  expectError(sendRaw(request(verb::get, target.substr(0, query))), status::forbidden,
              "InvalidSignatureException");
  // Extending the expiry invalidates the signature.
  std::string extended = target;
  const size_t expires = extended.find("Expires=") + 8;
  extended.replace(expires, 1, extended[expires] == '9' ? "8" : "9");
  expectError(sendRaw(request(verb::get, extended)), status::forbidden,
              "InvalidSignatureException");
}

}  // namespace
}  // namespace hearth::api
