#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hearth-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "metadata.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<MetadataStore> open() {
    auto store = openSqliteStore(path_);
    EXPECT_TRUE(store.ok()) << store.error().toString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path dir_;
  std::string path_;
};

Account account(const std::string& id, const std::string& name, const std::string& key) {
  return Account{
      .account_id = id, .name = name, .access_key_id = key, .secret_access_key = "secret-" + id};
}

TEST_F(SqliteStoreTest, AccountsAreUniqueByIdNameAndAccessKey) {
  auto store = open();
  ASSERT_TRUE(store);
  const Account alice = account("111111111111", "alice", "AKIAALICE");
  const Account bob = account("222222222222", "bob", "AKIABOB");
  ASSERT_TRUE(store->createAccount(bob).ok());
  ASSERT_TRUE(store->createAccount(alice).ok());

  const Account clashes[] = {
      account("111111111111", "carol", "AKIACAROL"),  // same id
      account("333333333333", "alice", "AKIACAROL"),  // same name
      account("333333333333", "carol", "AKIABOB"),    // same access key
  };
  for (const Account& clash : clashes) {
    Result<void> r = store->createAccount(clash);
    ASSERT_FALSE(r.ok()) << clash.name;
    EXPECT_EQ(r.error().code, ErrorCode::kConflict) << r.error().toString();
  }

  auto accounts = store->listAccounts();
  ASSERT_TRUE(accounts.ok()) << accounts.error().toString();
  EXPECT_EQ(*accounts, (std::vector<Account>{alice, bob}));  // ordered by account id
}

TEST_F(SqliteStoreTest, FunctionsAreReplacedDeletedAndSurviveReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->createAccount(account("111111111111", "alice", "AKIAALICE")).ok());
    ASSERT_TRUE(store->putFunction({"111111111111", "f", "$LATEST", R"({"v":1})"}).ok());
    ASSERT_TRUE(store->putFunction({"111111111111", "f", "1", R"({"v":1})"}).ok());
    ASSERT_TRUE(store->putFunction({"111111111111", "f", "$LATEST", R"({"v":2})"}).ok());
    ASSERT_TRUE(store->putFunction({"111111111111", "g", "$LATEST", R"({"g":true})"}).ok());
    // Same function name in another account is a different function.
    ASSERT_TRUE(store->putFunction({"222222222222", "f", "$LATEST", "{}"}).ok());

    ASSERT_TRUE(store->deleteFunction("111111111111", "g").ok());
    Result<void> again = store->deleteFunction("111111111111", "g");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
    Result<void> other = store->deleteFunction("333333333333", "f");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  }
  // A new process opening the same file sees every committed write.
  auto store = open();
  ASSERT_TRUE(store);
  auto records = store->listFunctions();
  ASSERT_TRUE(records.ok()) << records.error().toString();
  EXPECT_EQ(*records, (std::vector<FunctionRecord>{
                          {"111111111111", "f", "$LATEST", R"({"v":2})"},
                          {"111111111111", "f", "1", R"({"v":1})"},
                          {"222222222222", "f", "$LATEST", "{}"},
                      }));
  auto accounts = store->listAccounts();
  ASSERT_TRUE(accounts.ok());
  ASSERT_EQ(accounts->size(), 1u);
  EXPECT_EQ((*accounts)[0].name, "alice");

  ASSERT_TRUE(store->deleteFunction("111111111111", "f").ok());  // every version
  records = store->listFunctions();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAllLand) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "fn-" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store->putFunction({"111111111111", name, "$LATEST", "{}"}).ok());
        EXPECT_TRUE(store->listFunctions().ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto records = store->listFunctions();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), size_t{kThreads * kPerThread});
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsAnError) {
  {
    std::ofstream junk(path_, std::ios::binary);
    for (int i = 0; i < 1024; ++i) junk << "not a database, just text ";
  }
  auto store = openSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
  EXPECT_NE(store.error().message.find("not a database"), std::string::npos)
      << store.error().message;
}

TEST_F(SqliteStoreTest, RefusesNewerSchemaAndForeignDatabases) {
  {
    auto store = open();
    ASSERT_TRUE(store);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  std::string bump = "PRAGMA user_version = " + std::to_string(kSchemaVersion + 1);
  ASSERT_EQ(sqlite3_exec(db, bump.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto newer = openSqliteStore(path_);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("schema version"), std::string::npos)
      << newer.error().message;

  const std::string foreign_path = (dir_ / "foreign.db").string();
  ASSERT_EQ(sqlite3_open(foreign_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 1", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto foreign = openSqliteStore(foreign_path);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("another application"), std::string::npos)
      << foreign.error().message;
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAnError) {
  auto store = openSqliteStore((dir_ / "no" / "such" / "dir" / "m.db").string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
}

TEST_F(SqliteStoreTest, EventSourceMappingsPersistReplaceAndDelete) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    EventSourceMappingRecord a{"uuid-a", "111111111111", R"({"v":1})"};
    EventSourceMappingRecord b{"uuid-b", "222222222222", R"({"v":2})"};
    ASSERT_TRUE(store->putEventSourceMapping(b).ok());
    ASSERT_TRUE(store->putEventSourceMapping(a).ok());
    a.document = R"({"v":3})";
    ASSERT_TRUE(store->putEventSourceMapping(a).ok());  // replaces
  }
  auto store = open();
  auto listed = store->listEventSourceMappings();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0], (EventSourceMappingRecord{"uuid-a", "111111111111", R"({"v":3})"}));
  ASSERT_TRUE(store->deleteEventSourceMapping("uuid-b").ok());
  Result<void> again = store->deleteEventSourceMapping("uuid-b");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->listEventSourceMappings()->size(), 1u);
}

}  // namespace
}  // namespace hearth::store
