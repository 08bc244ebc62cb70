#include "codestore/oci/credentials.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/encoding.h"
#include "common/testing/temp_dir.h"

namespace hearth::codestore::oci {
namespace {

class CredentialsFor : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    const std::filesystem::path path = dir_.path() / "config.json";
    std::ofstream(path) << text;
    return path;
  }

  hearth::testing::TempDir dir_{"hearth-oci-creds"};
};

TEST_F(CredentialsFor, DecodesAuthSplittingAtTheFirstColon) {
  const std::string auth = base64Encode("alice:s3cret:with:colons");
  auto path = write(R"({"auths": {"127.0.0.1:5000": {"auth": ")" + auth + R"("}}})");
  Result<std::optional<Credentials>> creds = credentialsFor("127.0.0.1:5000", path);
  ASSERT_TRUE(creds) << creds.error().toString();
  ASSERT_TRUE(creds->has_value());
  EXPECT_EQ(**creds, (Credentials{"alice", "s3cret:with:colons"}));
}

TEST_F(CredentialsFor, UsernameAndPasswordFields) {
  auto path = write(R"({"auths": {"reg.example.com": {"username": "bob", "password": "pw"}}})");
  Result<std::optional<Credentials>> creds = credentialsFor("reg.example.com", path);
  ASSERT_TRUE(creds) << creds.error().toString();
  EXPECT_EQ(*creds, (Credentials{"bob", "pw"}));
}

TEST_F(CredentialsFor, MatchesKeysWithSchemeAndPath) {
  const std::string auth = base64Encode("carol:pw");
  auto path = write(R"({"auths": {"https://reg.example.com:5000/v1/": {"auth": ")" + auth +
                    R"("}, "other:1": {"auth": ")" + base64Encode("x:y") + R"("}}})");
  Result<std::optional<Credentials>> creds = credentialsFor("reg.example.com:5000", path);
  ASSERT_TRUE(creds) << creds.error().toString();
  EXPECT_EQ(*creds, (Credentials{"carol", "pw"}));
  // A different port is a different registry.
  creds = credentialsFor("reg.example.com", path);
  ASSERT_TRUE(creds);
  EXPECT_EQ(*creds, std::nullopt);
}

TEST_F(CredentialsFor, NoEntryOrNoFileIsNoCredentials) {
  auto path = write(R"({"auths": {"elsewhere:5000": {"auth": ")" + base64Encode("a:b") + "\"}}}");
  Result<std::optional<Credentials>> creds = credentialsFor("127.0.0.1:5000", path);
  ASSERT_TRUE(creds);
  EXPECT_EQ(*creds, std::nullopt);
  creds = credentialsFor("127.0.0.1:5000", write("{}"));
  ASSERT_TRUE(creds);
  EXPECT_EQ(*creds, std::nullopt);
  creds = credentialsFor("127.0.0.1:5000", dir_.path() / "missing.json");
  ASSERT_TRUE(creds);
  EXPECT_EQ(*creds, std::nullopt);
}

TEST_F(CredentialsFor, RefusesMalformedFiles) {
  for (const std::string& text : {
           std::string("not json"),
           std::string("[]"),
           std::string(R"({"auths": []})"),
           std::string(R"({"auths": {"r:1": "x"}})"),
           std::string(R"({"auths": {"r:1": {"auth": "%%%"}}})"),
           std::string(R"({"auths": {"r:1": {"auth": ")" + base64Encode("nocolon") + "\"}}}"),
       }) {
    Result<std::optional<Credentials>> creds = credentialsFor("r:1", write(text));
    ASSERT_FALSE(creds) << text;
    EXPECT_EQ(creds.error().code, ErrorCode::kInvalidParameter) << text;
    EXPECT_NE(creds.error().message.find("config.json"), std::string::npos);
  }
}

TEST_F(CredentialsFor, CredentialHelpersAndIdentityTokensAreUnsupported) {
  for (const std::string& text : {
           std::string(R"({"credsStore": "desktop"})"),
           std::string(R"({"credHelpers": {"r:1": "ecr-login"}})"),
           std::string(R"({"auths": {"r:1": {"identitytoken": "t"}}})"),
       }) {
    Result<std::optional<Credentials>> creds = credentialsFor("r:1", write(text));
    ASSERT_FALSE(creds) << text;
    EXPECT_EQ(creds.error().code, ErrorCode::kUnsupported) << text;
  }
  // A helper for another registry does not matter to this one.
  Result<std::optional<Credentials>> creds =
      credentialsFor("r:1", write(R"({"credHelpers": {"other:2": "ecr-login"}})"));
  ASSERT_TRUE(creds);
  EXPECT_EQ(*creds, std::nullopt);
}

}  // namespace
}  // namespace hearth::codestore::oci
