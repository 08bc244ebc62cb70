#include "codestore/oci/manifest.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "codestore/oci/digest.h"

namespace hearth::codestore::oci {
namespace {

using nlohmann::json;
namespace mt = media_type;

const std::string kImage = "127.0.0.1:5000/team/app:v1";
const std::string kD1 = sha256Digest("one");
const std::string kD2 = sha256Digest("two");
const std::string kD3 = sha256Digest("three");

json descriptor(std::string_view type, const std::string& digest, uint64_t size) {
  return {{"mediaType", type}, {"digest", digest}, {"size", size}};
}

json ociManifest() {
  return {{"schemaVersion", 2},
          {"mediaType", mt::kOciManifest},
          {"config", descriptor(mt::kOciConfig, kD1, 10)},
          {"layers", {descriptor(mt::kOciLayerGzip, kD2, 20), descriptor(mt::kOciLayer, kD3, 30)}}};
}

Result<ManifestDocument> parse(const json& j, std::string_view content_type = "") {
  return parseManifestDocument(j.dump(), content_type, kImage);
}

TEST(ParseManifestDocument, OciManifest) {
  Result<ManifestDocument> doc = parse(ociManifest());
  ASSERT_TRUE(doc) << doc.error().toString();
  const Manifest& m = std::get<Manifest>(*doc);
  EXPECT_EQ(m.media_type, mt::kOciManifest);
  EXPECT_EQ(m.config.digest, kD1);
  EXPECT_EQ(m.config.size, 10u);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].media_type, mt::kOciLayerGzip);
  EXPECT_EQ(m.layers[1].digest, kD3);
  EXPECT_EQ(m.layers[1].size, 30u);
}

TEST(ParseManifestDocument, TypeFromContentTypeOrShape) {
  json j = ociManifest();
  j.erase("mediaType");
  Result<ManifestDocument> doc = parse(j, std::string(mt::kDockerManifest) + "; charset=utf-8");
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(std::get<Manifest>(*doc).media_type, mt::kDockerManifest);
  doc = parse(j, "application/json");
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(std::get<Manifest>(*doc).media_type, mt::kOciManifest);

  json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
  doc = parse(index, "");
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(std::get<Index>(*doc).media_type, mt::kOciIndex);
}

TEST(ParseManifestDocument, RefusesSchema1AndUnknownTypes) {
  json schema1 = {{"schemaVersion", 1}, {"name", "app"}, {"fsLayers", json::array()}};
  for (const auto& [doc, type] :
       {std::pair{schema1, std::string()},
        {schema1, std::string(mt::kDockerSchema1Signed)},
        {json{{"schemaVersion", 2}, {"mediaType", "text/html"}}, std::string()},
        {json{{"schemaVersion", 3}}, std::string(mt::kOciManifest)}}) {
    Result<ManifestDocument> r = parse(doc, type);
    ASSERT_FALSE(r) << doc.dump();
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported) << doc.dump();
    EXPECT_NE(r.error().message.find("is not supported"), std::string::npos);
  }
  Result<ManifestDocument> r = parse(schema1);
  EXPECT_NE(r.error().message.find("schema 1"), std::string::npos) << r.error().message;
}

TEST(ParseManifestDocument, RefusesMalformedDescriptors) {
  for (auto edit : std::vector<std::function<void(json&)>>{
           [](json& j) { j["layers"][0]["digest"] = "sha256:abc"; },
           [](json& j) { j["layers"][0]["size"] = -1; },
           [](json& j) { j["layers"][0]["size"] = "20"; },
           [](json& j) { j["layers"][0].erase("mediaType"); },
           [](json& j) { j.erase("config"); },
           [](json& j) { j["layers"] = json::object(); },
           [](json& j) { j.erase("schemaVersion"); },
       }) {
    json j = ociManifest();
    edit(j);
    Result<ManifestDocument> r = parse(j);
    ASSERT_FALSE(r) << j.dump();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << j.dump();
  }
  EXPECT_EQ(parseManifestDocument("{not json", "", kImage).error().code,
            ErrorCode::kInvalidParameter);
  json j = ociManifest();
  j["layers"][0]["digest"] = "sha512:" + std::string(128, 'a');
  EXPECT_EQ(parse(j).error().code, ErrorCode::kUnsupported);
}

TEST(SelectPlatform, PicksTheMatchingManifestOrListsWhatThereIs) {
  json index = {
      {"schemaVersion", 2}, {"mediaType", mt::kDockerManifestList}, {"manifests", json::array()}};
  for (auto [type, digest, size, platform] :
       {std::tuple{std::string(mt::kDockerManifest), kD1, 1,
                   json{{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}},
        std::tuple{std::string(mt::kDockerManifest), kD2, 2,
                   json{{"os", "linux"}, {"architecture", "amd64"}}},
        std::tuple{std::string("application/vnd.oci.image.manifest.v1+json"), kD3, 3,
                   json{{"os", "unknown"}, {"architecture", "unknown"}}}}) {
    json entry = descriptor(type, digest, size);
    entry["platform"] = platform;
    index["manifests"].push_back(entry);
  }
  Result<ManifestDocument> doc = parse(index);
  ASSERT_TRUE(doc) << doc.error().toString();
  const Index& idx = std::get<Index>(*doc);
  ASSERT_EQ(idx.manifests.size(), 3u);
  EXPECT_EQ(idx.manifests[0].platform.variant, "v8");

  Result<Descriptor> amd64 = selectPlatform(idx, "linux", "amd64", kImage);
  ASSERT_TRUE(amd64) << amd64.error().toString();
  EXPECT_EQ(amd64->digest, kD2);
  Result<Descriptor> arm64 = selectPlatform(idx, "linux", "arm64", kImage);
  ASSERT_TRUE(arm64);
  EXPECT_EQ(arm64->digest, kD1);
  Result<Descriptor> none = selectPlatform(idx, "linux", "s390x", kImage);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(none.error().message.find("linux/arm64/v8, linux/amd64, unknown/unknown"),
            std::string::npos)
      << none.error().message;
}

TEST(LayerCompression, GzipAndTarOnly) {
  EXPECT_EQ(*layerCompression(mt::kOciLayer, kImage), LayerCompression::kNone);
  EXPECT_EQ(*layerCompression(mt::kOciLayerGzip, kImage), LayerCompression::kGzip);
  EXPECT_EQ(*layerCompression(mt::kDockerLayerGzip, kImage), LayerCompression::kGzip);
  for (std::string_view type : {mt::kOciLayerZstd,
                                std::string_view("application/vnd.docker.image.rootfs.foreign."
                                                 "diff.tar.gzip"),
                                std::string_view("application/vnd.oci.image.layer."
                                                 "nondistributable.v1.tar+gzip"),
                                std::string_view("application/x-tar")}) {
    Result<LayerCompression> r = layerCompression(type, kImage);
    ASSERT_FALSE(r) << type;
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  }
  EXPECT_NE(layerCompression(mt::kOciLayerZstd, kImage).error().message.find("zstd"),
            std::string::npos);
  EXPECT_TRUE(checkConfigMediaType(mt::kDockerConfig, kImage));
  EXPECT_EQ(checkConfigMediaType("application/vnd.cncf.helm.config.v1+json", kImage).error().code,
            ErrorCode::kUnsupported);
}

TEST(ParseImageConfig, TakesHowToStart) {
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"config",
                  {{"Entrypoint", {"/app/run", "--serve"}},
                   {"Cmd", {"x"}},
                   {"Env", {"PATH=/usr/bin", "A=b=c"}},
                   {"WorkingDir", "/app"},
                   {"Labels", {{"k", "v"}}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  Result<ConfigDocument> doc = parseImageConfig(config.dump(), kImage);
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_EQ(doc->config,
            (ImageConfig{{"/app/run", "--serve"}, {"x"}, {"PATH=/usr/bin", "A=b=c"}, "/app"}));
  EXPECT_EQ(doc->platform.str(), "linux/amd64");

  config["config"]["Entrypoint"] = nullptr;
  config["config"].erase("Cmd");
  doc = parseImageConfig(config.dump(), kImage);
  ASSERT_TRUE(doc) << doc.error().toString();
  EXPECT_TRUE(doc->config.entrypoint.empty());
  EXPECT_TRUE(doc->config.cmd.empty());

  doc = parseImageConfig(R"({"os": "linux"})", kImage);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->config, ImageConfig{});

  for (const std::string& bad :
       {std::string(R"({"config": {"Entrypoint": "/bin/sh"}})"),
        std::string(R"({"config": {"Env": [1]}})"), std::string(R"({"config": {"WorkingDir": 3}})"),
        std::string(R"({"config": []})"), std::string("nope")}) {
    Result<ConfigDocument> r = parseImageConfig(bad, kImage);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << bad;
  }
}

TEST(VerifyBlob, SizeAndDigest) {
  EXPECT_TRUE(verifyBlob("one", kD1, 3, "layer 1"));
  Result<void> wrong_size = verifyBlob("one", kD1, 4, "layer 1");
  ASSERT_FALSE(wrong_size);
  EXPECT_EQ(wrong_size.error().code, ErrorCode::kCorrupt);
  Result<void> wrong_digest = verifyBlob("two", kD1, 3, "layer 1");
  ASSERT_FALSE(wrong_digest);
  EXPECT_EQ(wrong_digest.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(wrong_digest.error().message.find(kD1), std::string::npos);
  EXPECT_NE(wrong_digest.error().message.find(kD2), std::string::npos);
  EXPECT_TRUE(isSha256Digest(kD1));
  EXPECT_FALSE(isSha256Digest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(isSha256Digest("sha256:" + std::string(64, 'A')));
}

}  // namespace
}  // namespace hearth::codestore::oci
