// FunctionService and AccountRegistry over the real SQLite metadata store and the real local code
// store, in a temporary directory.
#include "control/function_service.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "codestore/chunk_reader.h"
#include "codestore/chunked_code_store.h"
#include "common/check.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/testing/temp_dir.h"
#include "common/time_format.h"
#include "control/account_registry.h"
#include "control/event_source_mapping.h"
#include "store/metadata_store.h"

namespace hearth::control {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAccountA[] = "111111111111";
constexpr char kAccountB[] = "222222222222";
constexpr char kRole[] = "arn:aws:iam::111111111111:role/lambda-role";

la_ssize_t appendToString(archive*, void* client, const void* buf, size_t n) {
  // SAFETY: client is the std::string passed to archive_write_open2 in makeZip(), alive
  // throughout; buf holds n bytes.
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A zip archive of regular files (name -> content), built in memory with libarchive.
std::string makeZip(const std::map<std::string, std::string>& files) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            &archive_write_free);
  CHECK(archive_write_set_format_zip(a.get()) == ARCHIVE_OK);
  CHECK(archive_write_set_bytes_in_last_block(a.get(), 1) == ARCHIVE_OK);
  CHECK(archive_write_open2(a.get(), &out, nullptr, appendToString, nullptr, nullptr) ==
        ARCHIVE_OK);
  for (const auto& [name, data] : files) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    CHECK(archive_write_header(a.get(), entry.get()) == ARCHIVE_OK);
    CHECK(archive_write_data(a.get(), data.data(), data.size()) ==
          static_cast<la_ssize_t>(data.size()));
  }
  CHECK(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

CodeSource zipCode(std::string zip) { return CodeSource{std::move(zip), ""}; }

const std::string& zipV1() {
  static const std::string zip =
      makeZip({{"index.py", "def handler(event, context):\n    return 1\n"}});
  return zip;
}

const std::string& zipV2() {
  static const std::string zip = makeZip(
      {{"index.py", "def handler(event, context):\n    return 2\n"}, {"lib/util.py", "X = 1\n"}});
  return zip;
}

std::string sha256Base64(std::string_view data) { return base64Encode(sha256(data)); }

FunctionSettings pythonSettings() {
  FunctionSettings s;
  s.runtime = "python3.11";
  s.handler = "index.handler";
  s.role = kRole;
  return s;
}

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TempDirTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::MetadataStore> openStore() {
    auto s = store::openSqliteStore((dir_ / "metadata.db").string());
    EXPECT_TRUE(s.ok()) << s.error().toString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  hearth::testing::TempDir tmp_{"hearth-control"};
  const fs::path& dir_ = tmp_.path();
};

class FunctionServiceTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    open();
  }
  void TearDown() override {
    close();
    TempDirTest::TearDown();
  }

  void open() {
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    codestore::CodeStoreOptions options;
    options.dir = dir_ / "code";
    options.keyring = dir_ / "keyring";
    auto code = codestore::ChunkedCodeStore::open(options);
    ASSERT_TRUE(code.ok()) << code.error().toString();
    code_ = std::move(code).value();
    service_ = std::make_unique<FunctionService>(*store_, *code_, "us-east-1");
    Result<void> loaded = service_->load();
    ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
    service_->setChangeListener([this](const std::string& account, const std::string& name) {
      changes_.emplace_back(account, name);
    });
  }
  void close() {
    service_.reset();
    code_.reset();  // releases the code store's directory lock
    store_.reset();
  }
  // A restart: everything closed and opened again from disk.
  void reopen() {
    close();
    open();
  }

  FunctionPtr mustCreate(const std::string& account, const std::string& name,
                         const FunctionSettings& settings = pythonSettings(),
                         const std::string& zip = zipV1()) {
    Result<FunctionPtr> f = service_->create(account, name, settings, zipCode(zip));
    EXPECT_TRUE(f.ok()) << name << ": " << f.error().toString();
    return f.ok() ? *f : nullptr;
  }

  // Expects create() with `settings` to fail with kInvalidParameter; returns its message.
  std::string createError(const FunctionSettings& settings) {
    Result<FunctionPtr> f = service_->create(kAccountA, "invalid", settings, zipCode(zipV1()));
    EXPECT_FALSE(f.ok());
    if (f.ok()) return {};
    EXPECT_EQ(f.error().code, ErrorCode::kInvalidParameter) << f.error().toString();
    EXPECT_FALSE(service_->get(kAccountA, "invalid").ok());
    return f.error().message;
  }

  std::vector<std::string> names(const std::string& account) {
    std::vector<std::string> out;
    for (const FunctionPtr& f : service_->list(account)) out.push_back(f->name);
    return out;
  }

  std::unique_ptr<store::MetadataStore> store_;
  // The text of `path` in stored code `id`, read back through its verified chunks.
  Result<std::string> storedFile(const std::string& id, const std::string& path) {
    Result<codestore::Manifest> m = code_->manifest(id);
    if (!m) return m.error();
    codestore::ChunkReader reader(
        *m, id, [this](const codestore::ChunkId& c) { return code_->sealedChunk(c); });
    for (const codestore::TreeEntry& e : m->entries) {
      if (e.path == path) return reader.content(e);
    }
    return makeError(ErrorCode::kNotFound, "no " + path + " in code " + id);
  }

  std::unique_ptr<codestore::ChunkedCodeStore> code_;
  std::unique_ptr<FunctionService> service_;
  std::vector<std::pair<std::string, std::string>> changes_;
};

// --- create ------------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, CreateAppliesLambdaDefaults) {
  auto before = std::chrono::system_clock::now();
  FunctionPtr f = mustCreate(kAccountA, "hello");
  auto after = std::chrono::system_clock::now();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->account_id, kAccountA);
  EXPECT_EQ(f->name, "hello");
  EXPECT_EQ(f->version, "$LATEST");
  EXPECT_EQ(f->runtime, "python3.11");
  EXPECT_EQ(f->handler, "index.handler");
  EXPECT_EQ(f->role, kRole);
  EXPECT_EQ(f->description, "");
  EXPECT_EQ(f->memory_mb, 128u);
  EXPECT_EQ(f->timeout_s, 3u);
  EXPECT_EQ(f->ephemeral_mb, 512u);
  EXPECT_TRUE(f->environment.empty());
  EXPECT_EQ(f->code_sha256, sha256Base64(zipV1()));
  EXPECT_EQ(f->code_size, zipV1().size());
  EXPECT_EQ(f->code_unzipped_size,
            std::string("def handler(event, context):\n    return 1\n").size());
  EXPECT_FALSE(f->code_id.empty());
  EXPECT_FALSE(f->revision_id.empty());
  EXPECT_FALSE(f->reserved_concurrency.has_value());
  EXPECT_GE(f->last_modified, before - std::chrono::milliseconds(1));
  EXPECT_LE(f->last_modified, after);

  Result<FunctionPtr> got = service_->get(kAccountA, "hello");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->revision_id, f->revision_id);
  EXPECT_EQ((*got)->code_sha256, f->code_sha256);

  // The code is stored.
  EXPECT_EQ(storedFile(f->code_id, "index.py").value(),
            "def handler(event, context):\n    return 1\n");

  // Creating is not a change to an existing function.
  EXPECT_TRUE(changes_.empty());
}

TEST_F(FunctionServiceTest, CreateKeepsGivenSettings) {
  FunctionSettings s = pythonSettings();
  s.description = "a description";
  s.memory_mb = 10240;
  s.timeout_s = 900;
  s.ephemeral_mb = 10240;
  s.environment = std::map<std::string, std::string>{{"STAGE", "prod"}, {"Db_Host2", "x"}};
  FunctionPtr f = mustCreate(kAccountA, "configured", s);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->description, "a description");
  EXPECT_EQ(f->memory_mb, 10240u);
  EXPECT_EQ(f->timeout_s, 900u);
  EXPECT_EQ(f->ephemeral_mb, 10240u);
  EXPECT_EQ(f->environment,
            (std::map<std::string, std::string>{{"Db_Host2", "x"}, {"STAGE", "prod"}}));
}

TEST_F(FunctionServiceTest, RevisionIdsAreUnique) {
  FunctionPtr a = mustCreate(kAccountA, "a");
  FunctionPtr b = mustCreate(kAccountA, "b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->revision_id, b->revision_id);
}

TEST_F(FunctionServiceTest, MemoryOutOfRange) {
  FunctionSettings s = pythonSettings();
  s.memory_mb = 127;
  EXPECT_EQ(createError(s),
            "1 validation error detected: Value '127' at 'memorySize' failed to satisfy "
            "constraint: Member must have value greater than or equal to 128");
  s.memory_mb = 10241;
  EXPECT_EQ(createError(s),
            "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy "
            "constraint: Member must have value less than or equal to 10240");
  // Wide input is reported, not wrapped into range.
  s.memory_mb = (int64_t{1} << 32) + 256;
  EXPECT_THAT(createError(s), HasSubstr("less than or equal to 10240"));
}

TEST_F(FunctionServiceTest, TimeoutOutOfRange) {
  FunctionSettings s = pythonSettings();
  s.timeout_s = 0;
  EXPECT_EQ(createError(s),
            "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
  s.timeout_s = 901;
  EXPECT_EQ(createError(s),
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy "
            "constraint: Member must have value less than or equal to 900");
}

TEST_F(FunctionServiceTest, EphemeralStorageOutOfRange) {
  FunctionSettings s = pythonSettings();
  s.ephemeral_mb = 511;
  EXPECT_EQ(createError(s),
            "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to "
            "satisfy constraint: Member must have value greater than or equal to 512");
  s.ephemeral_mb = 10241;
  EXPECT_THAT(createError(s), HasSubstr("less than or equal to 10240"));
}

TEST_F(FunctionServiceTest, UnknownRuntime) {
  FunctionSettings s = pythonSettings();
  s.runtime = "python2.7";
  std::string message = createError(s);
  EXPECT_THAT(message, HasSubstr("python2.7"));
  EXPECT_THAT(message, HasSubstr("at 'runtime' failed to satisfy constraint: Member must satisfy "
                                 "enum value set"));
  s.runtime.reset();
  EXPECT_EQ(createError(s),
            "The Runtime parameter is required for functions with a Zip package type.");
}

TEST_F(FunctionServiceTest, HandlerRequiredExceptForProvidedRuntimes) {
  FunctionSettings s = pythonSettings();
  s.handler.reset();
  EXPECT_EQ(createError(s),
            "The Handler parameter is required for functions with a Zip package type.");
  s.runtime = "nodejs20.x";
  EXPECT_EQ(createError(s),
            "The Handler parameter is required for functions with a Zip package type.");

  s.runtime = "provided.al2023";
  FunctionPtr f = mustCreate(kAccountA, "custom", s);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->runtime, "provided.al2023");
  EXPECT_EQ(f->handler, "");

  s = pythonSettings();
  s.handler = "index handler";
  EXPECT_THAT(createError(s), HasSubstr("at 'handler' failed to satisfy constraint"));
}

TEST_F(FunctionServiceTest, EnvironmentLimitIsFourKilobytes) {
  FunctionSettings s = pythonSettings();
  // Keys and values count: 2 + 4094 = 4096 bytes is the most allowed.
  s.environment = std::map<std::string, std::string>{{"AB", std::string(4094, 'v')}};
  ASSERT_NE(mustCreate(kAccountA, "at-limit", s), nullptr);

  s.environment = std::map<std::string, std::string>{{"ABC", std::string(4094, 'v')}};
  std::string message = createError(s);
  EXPECT_THAT(message, HasSubstr("exceeded the 4KB limit"));
  EXPECT_THAT(message, HasSubstr("4097"));
}

TEST_F(FunctionServiceTest, ReservedEnvironmentKeys) {
  FunctionSettings s = pythonSettings();
  s.environment = std::map<std::string, std::string>{{"AWS_REGION", "eu-west-1"}, {"OK", "1"}};
  EXPECT_EQ(createError(s),
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            "for modification. Reserved keys used in this request: AWS_REGION");
  // Every reserved key is named, and any AWS_LAMBDA_ prefix is reserved.
  s.environment =
      std::map<std::string, std::string>{{"AWS_LAMBDA_ANYTHING", "x"}, {"AWS_DEFAULT_REGION", "y"}};
  EXPECT_THAT(createError(s), HasSubstr("Reserved keys used in this request: AWS_DEFAULT_REGION,"
                                        "AWS_LAMBDA_ANYTHING"));
  // Reserved keys are refused on update as well.
  FunctionPtr f = mustCreate(kAccountA, "fn");
  ASSERT_NE(f, nullptr);
  FunctionSettings update;
  update.environment = std::map<std::string, std::string>{{"LAMBDA_TASK_ROOT", "/tmp"}};
  Result<FunctionPtr> r = service_->updateConfiguration(kAccountA, "fn", update, "");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("LAMBDA_TASK_ROOT"));
}

TEST_F(FunctionServiceTest, BadEnvironmentKeyName) {
  FunctionSettings s = pythonSettings();
  for (const char* key : {"1ABC", "BAD-KEY", "has space", "_LEADING"}) {
    SCOPED_TRACE(key);
    s.environment = std::map<std::string, std::string>{{key, "v"}};
    EXPECT_THAT(createError(s), HasSubstr("Map keys must satisfy constraint"));
  }
}

TEST_F(FunctionServiceTest, RoleIsRequired) {
  FunctionSettings s = pythonSettings();
  s.role = "";
  EXPECT_EQ(createError(s), "The role defined for the function is empty.");
  s.role.reset();
  EXPECT_EQ(createError(s), "The role defined for the function is empty.");
}

TEST_F(FunctionServiceTest, InvalidFunctionName) {
  for (const std::string& name :
       {std::string(""), std::string(65, 'a'), std::string("a.b"), std::string("a:b")}) {
    Result<FunctionPtr> f = service_->create(kAccountA, name, pythonSettings(), zipCode(zipV1()));
    ASSERT_FALSE(f.ok()) << name;
    EXPECT_EQ(f.error().code, ErrorCode::kInvalidParameter);
  }
  EXPECT_NE(mustCreate(kAccountA, std::string(64, 'a')), nullptr);
}

TEST_F(FunctionServiceTest, InvalidZipCreatesNothing) {
  Result<FunctionPtr> f =
      service_->create(kAccountA, "broken", pythonSettings(), zipCode("not a zip"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidZipFile) << f.error().toString();
  EXPECT_FALSE(service_->get(kAccountA, "broken").ok());
  // The failed attempt left no write in progress behind.
  EXPECT_NE(mustCreate(kAccountA, "broken"), nullptr);
}

TEST_F(FunctionServiceTest, DuplicateCreateConflicts) {
  FunctionPtr first = mustCreate(kAccountA, "dup");
  ASSERT_NE(first, nullptr);
  FunctionSettings s = pythonSettings();
  s.memory_mb = 1024;
  Result<FunctionPtr> again = service_->create(kAccountA, "dup", s, zipCode(zipV2()));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(again.error().message, "Function already exist: dup");
  Result<FunctionPtr> got = service_->get(kAccountA, "dup");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->revision_id, first->revision_id);
  EXPECT_EQ((*got)->memory_mb, 128u);
  EXPECT_EQ((*got)->code_sha256, sha256Base64(zipV1()));
}

// --- get / list --------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, GetAndListAreScopedPerAccount) {
  ASSERT_NE(mustCreate(kAccountA, "charlie"), nullptr);
  ASSERT_NE(mustCreate(kAccountA, "alpha"), nullptr);
  ASSERT_NE(mustCreate(kAccountA, "bravo"), nullptr);
  FunctionSettings big = pythonSettings();
  big.memory_mb = 2048;
  ASSERT_NE(mustCreate(kAccountB, "alpha", big, zipV2()), nullptr);

  EXPECT_THAT(names(kAccountA), ElementsAre("alpha", "bravo", "charlie"));
  EXPECT_THAT(names(kAccountB), ElementsAre("alpha"));
  EXPECT_TRUE(service_->list("333333333333").empty());

  Result<FunctionPtr> a = service_->get(kAccountA, "alpha");
  Result<FunctionPtr> b = service_->get(kAccountB, "alpha");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)->memory_mb, 128u);
  EXPECT_EQ((*b)->memory_mb, 2048u);
  EXPECT_EQ((*a)->account_id, kAccountA);
  EXPECT_EQ((*b)->account_id, kAccountB);
  EXPECT_NE((*a)->code_sha256, (*b)->code_sha256);

  Result<FunctionPtr> missing = service_->get(kAccountB, "bravo");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  // Changing one account's function leaves the other's alone.
  FunctionSettings update;
  update.memory_mb = 512;
  ASSERT_TRUE(service_->updateConfiguration(kAccountA, "alpha", update, "").ok());
  ASSERT_TRUE(service_->remove(kAccountB, "alpha").ok());
  a = service_->get(kAccountA, "alpha");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->memory_mb, 512u);
  EXPECT_THAT(names(kAccountA), ElementsAre("alpha", "bravo", "charlie"));
  EXPECT_TRUE(names(kAccountB).empty());

  AccountUsage usage = service_->usage(kAccountA);
  EXPECT_EQ(usage.function_count, 3u);
  EXPECT_EQ(usage.total_code_size, 3 * zipV1().size());
  EXPECT_EQ(service_->usage(kAccountB).function_count, 0u);
}

// --- updateCode ----------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, UpdateCodeChangesShaAndRevision) {
  FunctionPtr v1 = mustCreate(kAccountA, "fn");
  ASSERT_NE(v1, nullptr);
  Result<FunctionPtr> v2 = service_->updateCode(kAccountA, "fn", zipCode(zipV2()), v1->revision_id);
  ASSERT_TRUE(v2.ok()) << v2.error().toString();
  EXPECT_EQ((*v2)->code_sha256, sha256Base64(zipV2()));
  EXPECT_EQ((*v2)->code_size, zipV2().size());
  EXPECT_NE((*v2)->code_id, v1->code_id);
  EXPECT_NE((*v2)->revision_id, v1->revision_id);
  EXPECT_GE((*v2)->last_modified, v1->last_modified);
  // Configuration is untouched.
  EXPECT_EQ((*v2)->handler, v1->handler);
  EXPECT_EQ((*v2)->memory_mb, v1->memory_mb);
  EXPECT_THAT(changes_, ElementsAre(std::make_pair(std::string(kAccountA), std::string("fn"))));

  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->revision_id, (*v2)->revision_id);

  // The old code is no longer referenced, so it is gone; the new one is there.
  EXPECT_EQ(code_->manifest(v1->code_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storedFile((*v2)->code_id, "lib/util.py").value(), "X = 1\n");
}

TEST_F(FunctionServiceTest, UpdateCodeWithStaleRevisionChangesNothing) {
  FunctionPtr v1 = mustCreate(kAccountA, "fn");
  ASSERT_NE(v1, nullptr);
  ASSERT_TRUE(
      service_->updateCode(kAccountA, "fn", zipCode(zipV2()), "").ok());  // no RevisionId: allowed
  changes_.clear();
  Result<FunctionPtr> stale =
      service_->updateCode(kAccountA, "fn", zipCode(zipV1()), v1->revision_id);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_THAT(stale.error().message, HasSubstr("does not match the latest Revision Id"));
  EXPECT_TRUE(changes_.empty());
  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->code_sha256, sha256Base64(zipV2()));
}

TEST_F(FunctionServiceTest, UpdateCodeOfMissingFunctionIsNotFound) {
  Result<FunctionPtr> r = service_->updateCode(kAccountA, "nope", zipCode(zipV1()), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  ASSERT_NE(mustCreate(kAccountA, "fn"), nullptr);
  r = service_->updateCode(kAccountB, "fn", zipCode(zipV2()), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(FunctionServiceTest, UpdateCodeWithBadZipKeepsOldCode) {
  FunctionPtr v1 = mustCreate(kAccountA, "fn");
  ASSERT_NE(v1, nullptr);
  Result<FunctionPtr> r = service_->updateCode(kAccountA, "fn", zipCode("garbage"), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidZipFile);
  EXPECT_TRUE(changes_.empty());
  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->revision_id, v1->revision_id);
  EXPECT_TRUE(code_->manifest(v1->code_id).ok());
}

// --- updateConfiguration -----------------------------------------------------------------------

TEST_F(FunctionServiceTest, UpdateConfigurationChangesOnlyWhatIsGiven) {
  FunctionSettings create = pythonSettings();
  create.description = "first";
  create.environment = std::map<std::string, std::string>{{"A1", "x"}};
  FunctionPtr v1 = mustCreate(kAccountA, "fn", create);
  ASSERT_NE(v1, nullptr);

  FunctionSettings update;
  update.memory_mb = 256;
  update.environment = std::map<std::string, std::string>{{"B1", "y"}};
  Result<FunctionPtr> v2 = service_->updateConfiguration(kAccountA, "fn", update, v1->revision_id);
  ASSERT_TRUE(v2.ok()) << v2.error().toString();
  EXPECT_EQ((*v2)->memory_mb, 256u);
  EXPECT_EQ((*v2)->environment, (std::map<std::string, std::string>{{"B1", "y"}}));
  EXPECT_EQ((*v2)->description, "first");
  EXPECT_EQ((*v2)->handler, "index.handler");
  EXPECT_EQ((*v2)->timeout_s, 3u);
  EXPECT_EQ((*v2)->code_id, v1->code_id);
  EXPECT_EQ((*v2)->code_sha256, v1->code_sha256);
  EXPECT_NE((*v2)->revision_id, v1->revision_id);
  EXPECT_THAT(changes_, ElementsAre(std::make_pair(std::string(kAccountA), std::string("fn"))));
  // The code is still referenced.
  EXPECT_TRUE(code_->manifest(v1->code_id).ok());
}

TEST_F(FunctionServiceTest, UpdateConfigurationWithStaleRevisionChangesNothing) {
  FunctionPtr v1 = mustCreate(kAccountA, "fn");
  ASSERT_NE(v1, nullptr);
  FunctionSettings update;
  update.timeout_s = 30;
  Result<FunctionPtr> v2 = service_->updateConfiguration(kAccountA, "fn", update, v1->revision_id);
  ASSERT_TRUE(v2.ok());
  changes_.clear();

  update.timeout_s = 60;
  update.memory_mb = 4096;
  Result<FunctionPtr> stale =
      service_->updateConfiguration(kAccountA, "fn", update, v1->revision_id);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_TRUE(changes_.empty());

  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->timeout_s, 30u);
  EXPECT_EQ((*got)->memory_mb, 128u);
  EXPECT_EQ((*got)->revision_id, (*v2)->revision_id);

  // Not persisted either.
  reopen();
  got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->timeout_s, 30u);
  EXPECT_EQ((*got)->revision_id, (*v2)->revision_id);
}

TEST_F(FunctionServiceTest, InvalidUpdateConfigurationChangesNothing) {
  FunctionPtr v1 = mustCreate(kAccountA, "fn");
  ASSERT_NE(v1, nullptr);
  FunctionSettings update;
  update.timeout_s = 5;  // valid, but the request as a whole is not
  update.memory_mb = 100;
  Result<FunctionPtr> r = service_->updateConfiguration(kAccountA, "fn", update, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_TRUE(changes_.empty());

  // Switching to a runtime that needs a handler while clearing it is refused too.
  FunctionSettings clear;
  clear.handler = "";
  r = service_->updateConfiguration(kAccountA, "fn", clear, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);

  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->timeout_s, 3u);
  EXPECT_EQ((*got)->handler, "index.handler");
  EXPECT_EQ((*got)->revision_id, v1->revision_id);

  r = service_->updateConfiguration(kAccountA, "missing", update, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

// --- remove --------------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, RemoveDeletesAndNotifies) {
  FunctionPtr f = mustCreate(kAccountA, "fn");
  ASSERT_NE(f, nullptr);
  Result<void> removed = service_->remove(kAccountA, "fn");
  ASSERT_TRUE(removed.ok()) << removed.error().toString();
  EXPECT_THAT(changes_, ElementsAre(std::make_pair(std::string(kAccountA), std::string("fn"))));

  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(service_->list(kAccountA).empty());

  Result<void> again = service_->remove(kAccountA, "fn");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(changes_.size(), 1u);

  // Gone from disk too, and the name can be used again.
  reopen();
  EXPECT_FALSE(service_->get(kAccountA, "fn").ok());
  EXPECT_NE(mustCreate(kAccountA, "fn"), nullptr);
}

// --- code sharing --------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, IdenticalCodeIsSharedAndReleasedWithItsLastUser) {
  FunctionPtr one = mustCreate(kAccountA, "one");
  FunctionPtr two = mustCreate(kAccountA, "two");
  FunctionPtr other = mustCreate(kAccountB, "one");
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(one->code_id, two->code_id);
  EXPECT_NE(one->code_id, other->code_id);  // accounts never share stored code
  EXPECT_EQ(one->code_sha256, other->code_sha256);
  const std::string id = one->code_id;

  ASSERT_TRUE(service_->remove(kAccountA, "one").ok());
  EXPECT_EQ(storedFile(id, "index.py").value(), "def handler(event, context):\n    return 1\n");
  EXPECT_TRUE(code_->readZip(id).ok());

  ASSERT_TRUE(service_->remove(kAccountA, "two").ok());
  EXPECT_EQ(code_->manifest(id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(code_->readZip(id).ok());
  EXPECT_TRUE(code_->manifest(other->code_id).ok());
}

TEST_F(FunctionServiceTest, LoadDropsCodeNoFunctionCommitted) {
  FunctionPtr kept = mustCreate(kAccountA, "kept");
  ASSERT_NE(kept, nullptr);
  // An upload that reached the code store but whose function never committed (a crash between).
  Result<codestore::CodeInfo> orphan = code_->put(kAccountA, zipV2());
  ASSERT_TRUE(orphan.ok());
  close();
  open();
  EXPECT_EQ(code_->manifest(orphan->id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(code_->manifest(kept->code_id).ok());
}

TEST_F(FunctionServiceTest, UpdatingCodeAwayFromSharedCodeKeepsIt) {
  FunctionPtr one = mustCreate(kAccountA, "one");
  FunctionPtr two = mustCreate(kAccountA, "two");
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(service_->updateCode(kAccountA, "one", zipCode(zipV2()), "").ok());
  EXPECT_TRUE(code_->manifest(two->code_id).ok());
  // Updating to the same code again is not a release either.
  ASSERT_TRUE(service_->updateCode(kAccountA, "two", zipCode(zipV1()), "").ok());
  EXPECT_TRUE(code_->manifest(two->code_id).ok());
  // Moving `two` onto `one`'s code releases the first zip.
  ASSERT_TRUE(service_->updateCode(kAccountA, "two", zipCode(zipV2()), "").ok());
  EXPECT_FALSE(code_->manifest(two->code_id).ok());
  ASSERT_TRUE(service_->remove(kAccountA, "one").ok());
  Result<FunctionPtr> got = service_->get(kAccountA, "two");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(code_->manifest((*got)->code_id).ok());
}

// --- reserved concurrency ------------------------------------------------------------------------

TEST_F(FunctionServiceTest, ConcurrencyBounds) {
  FunctionPtr f = mustCreate(kAccountA, "fn");
  ASSERT_NE(f, nullptr);

  Result<FunctionPtr> r = service_->putConcurrency(kAccountA, "fn", -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("greater than or equal to 0"));

  r = service_->putConcurrency(kAccountA, "fn", 901);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(r.error().message,
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100].");
  Result<FunctionPtr> got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)->reserved_concurrency.has_value());

  r = service_->putConcurrency(kAccountA, "fn", 900);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->reserved_concurrency, 900u);
  EXPECT_EQ((*r)->revision_id, f->revision_id);
  EXPECT_EQ(service_->usage(kAccountA).reserved_concurrency_sum, 900u);

  // Zero is a valid reservation (it throttles every invoke), distinct from none.
  r = service_->putConcurrency(kAccountA, "fn", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->reserved_concurrency, 0u);

  r = service_->deleteConcurrency(kAccountA, "fn");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->reserved_concurrency.has_value());
  EXPECT_EQ((*r)->revision_id, f->revision_id);
  got = service_->get(kAccountA, "fn");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)->reserved_concurrency.has_value());
  EXPECT_EQ((*got)->revision_id, f->revision_id);

  r = service_->putConcurrency(kAccountA, "missing", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  r = service_->deleteConcurrency(kAccountA, "missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(FunctionServiceTest, ConcurrencyIsSharedAcrossAnAccountsFunctions) {
  ASSERT_NE(mustCreate(kAccountA, "one"), nullptr);
  ASSERT_NE(mustCreate(kAccountA, "two"), nullptr);
  ASSERT_NE(mustCreate(kAccountB, "three"), nullptr);

  ASSERT_TRUE(service_->putConcurrency(kAccountA, "one", 500).ok());
  Result<FunctionPtr> r = service_->putConcurrency(kAccountA, "two", 500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("[100]"));
  Result<FunctionPtr> two = service_->get(kAccountA, "two");
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE((*two)->reserved_concurrency.has_value());

  ASSERT_TRUE(service_->putConcurrency(kAccountA, "two", 400).ok());
  EXPECT_EQ(service_->usage(kAccountA).reserved_concurrency_sum, 900u);
  EXPECT_EQ(service_->reservedConcurrencySum(kAccountA), 900u);
  // A function's own reservation is replaced, not added to.
  EXPECT_TRUE(service_->putConcurrency(kAccountA, "one", 500).ok());
  EXPECT_FALSE(service_->putConcurrency(kAccountA, "one", 501).ok());
  // Another account has its own limit.
  EXPECT_TRUE(service_->putConcurrency(kAccountB, "three", 900).ok());

  // Releasing a reservation makes room.
  ASSERT_TRUE(service_->deleteConcurrency(kAccountA, "two").ok());
  EXPECT_TRUE(service_->putConcurrency(kAccountA, "one", 900).ok());
  // So does deleting the function.
  ASSERT_TRUE(service_->remove(kAccountA, "one").ok());
  EXPECT_EQ(service_->reservedConcurrencySum(kAccountA), 0u);
  EXPECT_TRUE(service_->putConcurrency(kAccountA, "two", 900).ok());
  // The running sum the invoke path reads always equals the full recount.
  for (const char* account : {kAccountA, kAccountB}) {
    EXPECT_EQ(service_->reservedConcurrencySum(account),
              service_->usage(account).reserved_concurrency_sum);
  }
  // And survives a restart.
  reopen();
  EXPECT_EQ(service_->reservedConcurrencySum(kAccountA), 900u);
  EXPECT_EQ(service_->reservedConcurrencySum(kAccountB), 900u);
}

// --- restart -------------------------------------------------------------------------------------

TEST_F(FunctionServiceTest, FunctionsSurviveRestart) {
  FunctionSettings s = pythonSettings();
  s.description = "persisted";
  s.memory_mb = 1536;
  s.timeout_s = 42;
  s.ephemeral_mb = 2048;
  s.environment = std::map<std::string, std::string>{{"STAGE", "prod"}, {"EMPTY", ""}};
  ASSERT_NE(mustCreate(kAccountA, "persist", s), nullptr);
  ASSERT_TRUE(service_->updateCode(kAccountA, "persist", zipCode(zipV2()), "").ok());
  ASSERT_TRUE(service_->putConcurrency(kAccountA, "persist", 25).ok());
  FunctionSettings provided;
  provided.runtime = "provided.al2023";
  provided.role = kRole;
  ASSERT_NE(mustCreate(kAccountB, "persist", provided, zipV2()), nullptr);
  ASSERT_NE(mustCreate(kAccountB, "zero", pythonSettings()), nullptr);
  ASSERT_TRUE(service_->putConcurrency(kAccountB, "zero", 0).ok());

  std::vector<Function> before;
  for (const char* account : {kAccountA, kAccountB}) {
    for (const FunctionPtr& f : service_->list(account)) before.push_back(*f);
  }
  ASSERT_EQ(before.size(), 3u);

  reopen();

  std::vector<Function> after;
  for (const char* account : {kAccountA, kAccountB}) {
    for (const FunctionPtr& f : service_->list(account)) after.push_back(*f);
  }
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    const Function& b = before[i];
    const Function& a = after[i];
    SCOPED_TRACE(b.account_id + "/" + b.name);
    EXPECT_EQ(a.account_id, b.account_id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.runtime, b.runtime);
    EXPECT_EQ(a.handler, b.handler);
    EXPECT_EQ(a.role, b.role);
    EXPECT_EQ(a.description, b.description);
    EXPECT_EQ(a.memory_mb, b.memory_mb);
    EXPECT_EQ(a.timeout_s, b.timeout_s);
    EXPECT_EQ(a.ephemeral_mb, b.ephemeral_mb);
    EXPECT_EQ(a.environment, b.environment);
    EXPECT_EQ(a.code_id, b.code_id);
    EXPECT_EQ(a.code_sha256, b.code_sha256);
    EXPECT_EQ(a.code_size, b.code_size);
    EXPECT_EQ(a.code_unzipped_size, b.code_unzipped_size);
    EXPECT_EQ(a.revision_id, b.revision_id);
    EXPECT_EQ(a.reserved_concurrency, b.reserved_concurrency);
    // Stored to the millisecond, which is what LastModified shows.
    EXPECT_EQ(formatLambdaTimestamp(a.last_modified), formatLambdaTimestamp(b.last_modified));
    EXPECT_TRUE(code_->manifest(a.code_id).ok());
  }
  EXPECT_EQ(after[0].reserved_concurrency, 25u);
  EXPECT_EQ(after[0].code_sha256, sha256Base64(zipV2()));
  EXPECT_EQ(after[0].environment.at("STAGE"), "prod");
  EXPECT_EQ(after[2].reserved_concurrency, 0u);

  // Revision checks and concurrency limits carry on from the loaded state.
  FunctionSettings update;
  update.memory_mb = 128;
  EXPECT_TRUE(
      service_->updateConfiguration(kAccountA, "persist", update, before[0].revision_id).ok());
  EXPECT_FALSE(service_->putConcurrency(kAccountA, "persist", 901).ok());
}

TEST_F(FunctionServiceTest, EventInvokeConfigPutMergesDeletesAndSurvivesRestart) {
  FunctionPtr f = mustCreate(kAccountA, "async");
  ASSERT_NE(f, nullptr);
  const std::string dlq = std::string("arn:aws:sqs:us-east-1:") + kAccountA + ":dlq";
  const std::string fn = std::string("arn:aws:lambda:us-east-1:") + kAccountA + ":function:dest";

  EventInvokeConfigSettings put;
  put.max_retries = 1;
  put.max_age_s = 120;
  put.on_failure = dlq;
  Result<FunctionPtr> r = service_->putEventInvokeConfig(kAccountA, "async", put, false);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->revision_id, f->revision_id) << "not part of the configuration";

  EventInvokeConfigSettings update;
  update.on_success = fn + ":$LATEST";
  r = service_->putEventInvokeConfig(kAccountA, "async", update, true);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const EventInvokeConfig merged = *(*r)->event_invoke_config;
  EXPECT_EQ(merged.max_retries, 1u);
  EXPECT_EQ(merged.max_age_s, 120u);
  EXPECT_EQ(merged.on_failure, dlq);
  EXPECT_EQ(merged.on_success, fn + ":$LATEST");

  FunctionSettings dead_letter;
  dead_letter.dead_letter_arn = dlq;
  ASSERT_TRUE(service_->updateConfiguration(kAccountA, "async", dead_letter, "").ok());

  reopen();
  Result<FunctionPtr> loaded = service_->get(kAccountA, "async");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE((*loaded)->event_invoke_config.has_value());
  EventInvokeConfig stored = merged;  // times are stored to the millisecond
  stored.last_modified = fromEpochMillis(toEpochMillis(merged.last_modified));
  EXPECT_EQ(*(*loaded)->event_invoke_config, stored);
  EXPECT_EQ((*loaded)->dead_letter_arn, dlq);

  // Put replaces: unset fields are gone.
  EventInvokeConfigSettings replace;
  replace.max_retries = 0;
  r = service_->putEventInvokeConfig(kAccountA, "async", replace, false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->event_invoke_config->max_age_s.has_value());
  EXPECT_TRUE((*r)->event_invoke_config->on_failure.empty());

  // Out of range, a foreign or unsupported destination: refused, nothing changed.
  struct Bad {
    EventInvokeConfigSettings s;
    ErrorCode code;
  };
  std::vector<Bad> bad(6);
  bad[0].s.max_retries = 3;
  bad[1].s.max_age_s = 59;
  bad[2].s.on_failure = "arn:aws:sqs:us-east-1:999999999999:q";
  bad[3].s.on_success = "arn:aws:lambda:eu-west-1:" + std::string(kAccountA) + ":function:f";
  bad[4].s.on_failure = "arn:aws:sns:us-east-1:" + std::string(kAccountA) + ":topic";
  bad[4].code = ErrorCode::kUnsupported;
  bad[5].s.on_failure = "not-an-arn";
  for (size_t i = 0; i < bad.size(); ++i) {
    if (i != 4) bad[i].code = ErrorCode::kInvalidParameter;
    Result<FunctionPtr> refused =
        service_->putEventInvokeConfig(kAccountA, "async", bad[i].s, true);
    ASSERT_FALSE(refused.ok()) << i;
    EXPECT_EQ(refused.error().code, bad[i].code) << i << ": " << refused.error().toString();
  }
  EXPECT_EQ((*service_->get(kAccountA, "async"))->event_invoke_config->max_retries, 0u);

  FunctionSettings function_as_dlq;
  function_as_dlq.dead_letter_arn = fn;
  EXPECT_EQ(service_->updateConfiguration(kAccountA, "async", function_as_dlq, "").error().code,
            ErrorCode::kInvalidParameter);

  ASSERT_TRUE(service_->deleteEventInvokeConfig(kAccountA, "async").ok());
  EXPECT_EQ(service_->deleteEventInvokeConfig(kAccountA, "async").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->putEventInvokeConfig(kAccountA, "missing", replace, false).error().code,
            ErrorCode::kNotFound);
}

TEST_F(FunctionServiceTest, EventSourceMappingsAreValidatedPersistedAndAnnounced) {
  ASSERT_NE(mustCreate(kAccountA, "consumer"), nullptr);
  const std::string source = "arn:aws:redis:::stream/127.0.0.1:6379/0/a%3ab";
  auto open_mappings = [&] {
    auto m = std::make_unique<EventSourceMappingService>(*store_, *service_, "us-east-1");
    EXPECT_TRUE(m->load().ok());
    return m;
  };
  auto mappings = open_mappings();
  std::vector<std::pair<std::string, bool>> announced;  // (uuid, still there)
  mappings->setChangeListener(
      [&](const std::string& uuid, MappingPtr m) { announced.emplace_back(uuid, m != nullptr); });

  EventSourceMappingSettings s;
  s.event_source_arn = source;
  s.starting_position = "LATEST";
  s.batch_size = 25;
  s.bisect_on_error = true;
  Result<MappingPtr> created = mappings->create(kAccountA, FunctionRef{"consumer", ""}, s);
  ASSERT_TRUE(created.ok()) << created.error().toString();
  const std::string uuid = (*created)->uuid;
  EXPECT_EQ((*created)->event_source_arn, "arn:aws:redis:::stream/127.0.0.1:6379/0/a%3Ab")
      << "stored canonical";
  EXPECT_EQ((*created)->max_retry_attempts, -1);
  EXPECT_EQ(mappings->create(kAccountA, FunctionRef{"consumer", ""}, s).error().code,
            ErrorCode::kConflict);
  EXPECT_EQ(mappings->create(kAccountA, FunctionRef{"nobody", ""}, s).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(mappings->get(kAccountB, uuid).error().code, ErrorCode::kNotFound)
      << "another account sees nothing";

  EventSourceMappingSettings change;
  change.enabled = false;
  change.max_retry_attempts = 3;
  ASSERT_TRUE(mappings->update(kAccountA, uuid, std::nullopt, change).ok());
  EventSourceMappingSettings fixed;
  fixed.starting_position = "TRIM_HORIZON";
  EXPECT_EQ(mappings->update(kAccountA, uuid, std::nullopt, fixed).error().code,
            ErrorCode::kInvalidParameter);

  reopen();
  mappings = open_mappings();
  Result<MappingPtr> loaded = mappings->get(kAccountA, uuid);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE((*loaded)->enabled);
  EXPECT_EQ((*loaded)->max_retry_attempts, 3);
  EXPECT_EQ((*loaded)->batch_size, 25u);
  EXPECT_TRUE((*loaded)->bisect_on_error);
  EXPECT_EQ(mappings->list(kAccountA, std::string("consumer"), std::nullopt).size(), 1u);
  EXPECT_TRUE(mappings->list(kAccountA, std::string("other"), std::nullopt).empty());
  EXPECT_EQ(mappings->list(kAccountA, std::nullopt, source).size(), 1u)
      << "a filter spelled like the request (a%3ab) finds the canonical a%3Ab";
  ASSERT_TRUE(mappings->remove(kAccountA, uuid).ok());
  EXPECT_TRUE(mappings->all().empty());
  EXPECT_EQ(announced, (std::vector<std::pair<std::string, bool>>{{uuid, true}, {uuid, true}}))
      << "the listener of the first instance saw the create and the update";
}

TEST_F(FunctionServiceTest, CodeReferencesAreRebuiltOnLoad) {
  FunctionPtr one = mustCreate(kAccountA, "one");
  ASSERT_NE(mustCreate(kAccountA, "two"), nullptr);
  ASSERT_NE(one, nullptr);
  reopen();
  ASSERT_TRUE(service_->remove(kAccountA, "one").ok());
  EXPECT_TRUE(code_->manifest(one->code_id).ok());
  ASSERT_TRUE(service_->remove(kAccountA, "two").ok());
  EXPECT_FALSE(code_->manifest(one->code_id).ok());
}

// --- applySettings -------------------------------------------------------------------------------

TEST(ApplySettingsTest, LeavesFunctionUnchangedFieldsAlone) {
  Function f;
  f.runtime = "nodejs20.x";
  f.handler = "index.handler";
  FunctionSettings s;
  s.description = std::string(256, 'd');
  ASSERT_TRUE(applySettings(s, f, "us-east-1").ok());
  EXPECT_EQ(f.description.size(), 256u);
  EXPECT_EQ(f.runtime, "nodejs20.x");
  s.description = std::string(257, 'd');
  Result<void> r = applySettings(s, f, "us-east-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
}

// --- AccountRegistry -----------------------------------------------------------------------------

class AccountRegistryTest : public TempDirTest {};

TEST_F(AccountRegistryTest, CreateAndLookUp) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  AccountRegistry registry(*store);
  ASSERT_TRUE(registry.load().ok());

  Result<store::Account> alice = registry.create("alice");
  ASSERT_TRUE(alice.ok()) << alice.error().toString();
  EXPECT_EQ(alice->name, "alice");
  ASSERT_EQ(alice->account_id.size(), 12u);
  EXPECT_EQ(alice->account_id.find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(alice->access_key_id.size(), 20u);
  EXPECT_TRUE(alice->access_key_id.starts_with("AKIA"));
  EXPECT_EQ(alice->secret_access_key.size(), 40u);

  std::optional<store::Account> found = registry.lookup(alice->access_key_id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, *alice);
  std::optional<store::Account> by_name = registry.findByName("alice");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(*by_name, *alice);
  EXPECT_FALSE(registry.lookup("AKIAUNKNOWNUNKNOWN00").has_value());
  EXPECT_FALSE(registry.findByName("bob").has_value());

  Result<store::Account> bob =
      registry.create("bob", std::make_pair("AKIABOBBOBBOBBOBBOB0", "bob-secret"));
  ASSERT_TRUE(bob.ok()) << bob.error().toString();
  EXPECT_NE(bob->account_id, alice->account_id);
  found = registry.lookup("AKIABOBBOBBOBBOBBOB0");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "bob");
  EXPECT_EQ(found->secret_access_key, "bob-secret");
}

TEST_F(AccountRegistryTest, DuplicateAndInvalidNames) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  AccountRegistry registry(*store);
  ASSERT_TRUE(registry.load().ok());
  Result<store::Account> first = registry.create("team");
  ASSERT_TRUE(first.ok());

  Result<store::Account> dup = registry.create("team");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict) << dup.error().toString();
  // The first account is untouched.
  std::optional<store::Account> found = registry.findByName("team");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->access_key_id, first->access_key_id);

  // A taken access key conflicts as well.
  Result<store::Account> same_key =
      registry.create("other", std::make_pair(first->access_key_id, "s"));
  ASSERT_FALSE(same_key.ok());
  EXPECT_EQ(same_key.error().code, ErrorCode::kConflict);

  for (const std::string& bad :
       {std::string(""), std::string("has space"), std::string("a/b"), std::string(65, 'n')}) {
    Result<store::Account> r = registry.create(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  }
}

TEST_F(AccountRegistryTest, AccountsSurviveRestart) {
  std::string key;
  {
    auto store = openStore();
    ASSERT_NE(store, nullptr);
    AccountRegistry registry(*store);
    ASSERT_TRUE(registry.load().ok());
    Result<store::Account> a = registry.create("persisted");
    ASSERT_TRUE(a.ok());
    key = a->access_key_id;
  }
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  AccountRegistry registry(*store);
  ASSERT_TRUE(registry.load().ok());
  std::optional<store::Account> found = registry.lookup(key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "persisted");
  EXPECT_TRUE(registry.findByName("persisted").has_value());
}

TEST_F(AccountRegistryTest, KeyCreatedByAnotherInstanceBecomesVisible) {
  // Two stores on one file: the daemon's and `hearthd account create`'s.
  auto daemon_store = openStore();
  auto cli_store = openStore();
  ASSERT_NE(daemon_store, nullptr);
  ASSERT_NE(cli_store, nullptr);
  AccountRegistry daemon(*daemon_store);
  AccountRegistry cli(*cli_store);
  ASSERT_TRUE(daemon.load().ok());
  ASSERT_TRUE(cli.load().ok());

  // Unknown keys while nothing changed are simply unknown.
  EXPECT_FALSE(daemon.lookup("AKIANOSUCHKEY0000000").has_value());

  Result<store::Account> created = cli.create("late");
  ASSERT_TRUE(created.ok()) << created.error().toString();

  // The other instance's commit is seen on the very next lookup of the new key.
  std::optional<store::Account> found = daemon.lookup(created->access_key_id);
  ASSERT_TRUE(found.has_value()) << "the daemon's registry never saw the new key";
  EXPECT_EQ(*found, *created);
  EXPECT_TRUE(daemon.findByName("late").has_value());
}

TEST_F(AccountRegistryTest, WriteCredentialsFile) {
  store::Account account{"123456789012", "creds", "AKIAEXAMPLEEXAMPLE00",
                         "secretsecretsecretsecretsecretsecret0000"};
  fs::path path = dir_ / "credentials";
  // A pre-existing, world-readable file is replaced.
  {
    std::ofstream old(path);
    old << "[old]\n";
  }
  fs::permissions(path, fs::perms(0644));

  Result<void> written = writeCredentialsFile(path.string(), "hearth", account);
  ASSERT_TRUE(written.ok()) << written.error().toString();
  EXPECT_EQ(readText(path),
            "[hearth]\n"
            "aws_access_key_id = AKIAEXAMPLEEXAMPLE00\n"
            "aws_secret_access_key = secretsecretsecretsecretsecretsecret0000\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  // A new file, too, is private.
  fs::path fresh = dir_ / "fresh-credentials";
  ASSERT_TRUE(writeCredentialsFile(fresh.string(), "default", account).ok());
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(readText(fresh).starts_with("[default]\n"));

  // A directory that does not exist is an error, not a crash.
  Result<void> bad = writeCredentialsFile((dir_ / "no/such/dir/creds").string(), "x", account);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace hearth::control
