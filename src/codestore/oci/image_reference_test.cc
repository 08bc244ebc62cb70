#include "codestore/oci/image_reference.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::codestore::oci {
namespace {

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

ImageReference parsed(std::string_view uri) {
  Result<ImageReference> ref = parseImageUri(uri);
  EXPECT_TRUE(ref) << uri << ": " << ref.error().toString();
  return ref ? *ref : ImageReference{};
}

TEST(ParseImageUri, RegistryWithPortRepositoryAndTag) {
  ImageReference ref = parsed("127.0.0.1:5000/team/app:v1.2-rc_3");
  EXPECT_EQ(ref.registry, "127.0.0.1:5000");
  EXPECT_EQ(ref.repository, "team/app");
  EXPECT_EQ(ref.tag, "v1.2-rc_3");
  EXPECT_EQ(ref.digest, "");
  EXPECT_EQ(ref.str(), "127.0.0.1:5000/team/app:v1.2-rc_3");
}

TEST(ParseImageUri, NoTagMeansLatest) {
  ImageReference ref = parsed("localhost/app");
  EXPECT_EQ(ref.registry, "localhost");
  EXPECT_EQ(ref.repository, "app");
  EXPECT_EQ(ref.tag, "latest");
  EXPECT_EQ(ref.str(), "localhost/app:latest");
}

TEST(ParseImageUri, PinnedByDigestHasNoTag) {
  ImageReference ref = parsed("123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b/c@" + kDigest);
  EXPECT_EQ(ref.registry, "123456789012.dkr.ecr.us-east-1.amazonaws.com");
  EXPECT_EQ(ref.repository, "a/b/c");
  EXPECT_EQ(ref.tag, "");
  EXPECT_EQ(ref.digest, kDigest);
  EXPECT_EQ(ref.str(), "123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b/c@" + kDigest);
}

TEST(ParseImageUri, TagAndDigestAreBothKept) {
  ImageReference ref = parsed("registry.local:443/app:v1@" + kDigest);
  EXPECT_EQ(ref.tag, "v1");
  EXPECT_EQ(ref.digest, kDigest);
  EXPECT_EQ(parsed(ref.str()), ref);
}

TEST(ParseImageUri, Ipv6RegistryAndSeparators) {
  ImageReference ref = parsed("[::1]:5000/a__b/c-d/e---f/g.h_i:x");
  EXPECT_EQ(ref.registry, "[::1]:5000");
  EXPECT_EQ(ref.repository, "a__b/c-d/e---f/g.h_i");
  EXPECT_EQ(ref.tag, "x");
}

TEST(ParseImageUri, RefusesMalformedUris) {
  const std::string long_tag(129, 'a');
  for (const std::string& uri : {
           std::string(""),
           std::string("app"),
           std::string("team/app:v1"),                   // no registry: Hearth has no default
           std::string("http://127.0.0.1:5000/app:v1"),  // no scheme
           std::string("127.0.0.1:5000/Team/app"),       // uppercase repository
           std::string("127.0.0.1:5000/app:"),           // empty tag
           std::string("127.0.0.1:5000/app:-x"),         // tag starts with '-'
           std::string("127.0.0.1:5000/app:" + long_tag),
           std::string("127.0.0.1:5000/app@sha256:abc"),
           std::string("127.0.0.1:5000/app@sha512:" + std::string(128, 'a')),
           std::string("127.0.0.1:5000/app@" + kDigest.substr(0, 7) + std::string(64, 'A')),
           std::string("127.0.0.1:99999/app"),
           std::string("127.0.0.1:/app"),
           std::string("127.0.0.1:5000/"),
           std::string("127.0.0.1:5000//app"),
           std::string("127.0.0.1:5000/app/"),
           std::string("127.0.0.1:5000/a..b"),
           std::string("127.0.0.1:5000/-a"),
           std::string("127.0.0.1:5000/a b"),
           std::string("-bad.example.com/app"),
           std::string("[::1/app"),
           std::string("127.0.0.1:5000/" + std::string(256, 'a')),
       }) {
    Result<ImageReference> ref = parseImageUri(uri);
    ASSERT_FALSE(ref) << "accepted '" << uri << "'";
    EXPECT_EQ(ref.error().code, ErrorCode::kInvalidParameter) << uri;
    EXPECT_NE(ref.error().message.find("ImageUri"), std::string::npos) << ref.error().message;
  }
}

TEST(ParseImageUri, MessageSaysWhy) {
  Result<ImageReference> ref = parseImageUri("team/app:v1");
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().message,
            "ImageUri 'team/app:v1' is not valid: it must start with a registry host, as in "
            "registry.example.com:5000/team/app:latest.");
}

}  // namespace
}  // namespace hearth::codestore::oci
