// Pulling from a real registry: Debian's docker-registry on loopback, images built by
// tests/oci/oci_layout.py and pushed with skopeo (or byte for byte through the registry API
// where skopeo would rewrite them). Skipped, with the reason, where those tools are missing.
#include "codestore/oci/image_pull.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "codestore/oci/digest.h"
#include "codestore/oci/testing/recording_sink.h"
#include "codestore/oci/testing/test_registry.h"
#include "common/encoding.h"
#include "common/testing/temp_dir.h"

namespace hearth::codestore::oci {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RecordingSink;
using testing::TestRegistry;

json file(const std::string& path, const std::string& content, int mode = 0644) {
  return {{"type", "file"}, {"path", path}, {"content", content}, {"mode", mode}};
}
json entry(const std::string& type, const std::string& path) {
  return {{"type", type}, {"path", path}};
}
json link(const std::string& type, const std::string& path, const std::string& target) {
  return {{"type", type}, {"path", path}, {"target", target}};
}
json layer(json entries, const std::string& compression = "gzip", const std::string& prefix = "") {
  return {{"compression", compression}, {"prefix", prefix}, {"entries", std::move(entries)}};
}
// A one-layer image whose only file says which image it is.
json labelledImage(const std::string& label, const std::string& arch = "amd64",
                   const std::string& compression = "gzip") {
  return {{"architecture", arch},
          {"config", {{"Cmd", {label}}}},
          {"layers", {layer({file("label", label)}, compression)}}};
}

// Flips one byte in the middle of `path` in place: same size, different digest.
void corrupt(const std::filesystem::path& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << "cannot open " << path;
  f.seekg(0, std::ios::end);
  const std::streamoff middle = f.tellg() / 2;
  f.seekg(middle);
  char c = 0;
  f.get(c);
  f.seekp(middle);
  f.put(static_cast<char>(c ^ 0x5a));
  ASSERT_TRUE(f.good());
}

Result<ResolvedImage> resolveUri(const std::string& image_uri, const PullOptions& opts = {}) {
  Result<ImageReference> ref = parseImageUri(image_uri);
  if (!ref) return std::move(ref).error();
  return resolveImage(*ref, opts);
}

// A loopback port bound by `acceptor`, listening (backlog only, never accepting) if asked.
std::string boundAddress(boost::asio::ip::tcp::acceptor& acceptor, bool listen) {
  const boost::asio::ip::tcp::endpoint any(boost::asio::ip::make_address_v4("127.0.0.1"), 0);
  acceptor.open(any.protocol());
  acceptor.bind(any);
  if (listen) acceptor.listen();
  return "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
}

TEST(ImagePullWithoutRegistry, UnreachableRegistry) {
  // A port that is bound but not listening refuses connections.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor bound(io);
  const std::string address = boundAddress(bound, /*listen=*/false);
  Result<ResolvedImage> r = resolveUri(address + "/team/app:v1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("cannot reach the registry at " + address));
  EXPECT_THAT(r.error().message, HasSubstr("refused"));
}

TEST(ImagePullWithoutRegistry, SilentRegistryTimesOut) {
  // The kernel completes the handshake into the backlog; nothing ever reads or answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io);
  const std::string address = boundAddress(silent, /*listen=*/true);
  PullOptions opts;
  opts.request_timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  Result<ResolvedImage> r = resolveUri(address + "/team/app:v1", opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("no complete answer within 1 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

class ImagePullTest : public ::testing::Test {
 protected:
  // The registry of a derived suite may have auth on (see ImagePullBasicAuthTest).
  static void startSuite(const std::vector<std::string>& registry_flags) {
    start_error_.clear();
    unavailable_ = testing::registryUnavailable();
    if (unavailable_) return;
    layouts_ = std::make_unique<hearth::testing::TempDir>("hearth-oci-layouts");
    Result<std::unique_ptr<TestRegistry>> registry = TestRegistry::start(registry_flags);
    if (!registry) {
      start_error_ = registry.error().toString();
      return;
    }
    registry_ = std::move(*registry);
  }
  static void SetUpTestSuite() { startSuite({"--redirector"}); }
  static void TearDownTestSuite() {
    registry_.reset();
    layouts_.reset();
  }

  void SetUp() override {
    if (unavailable_) GTEST_SKIP() << *unavailable_;
    ASSERT_NE(registry_, nullptr) << "registry did not start: " << start_error_;
  }

  // Builds `spec` into a fresh layout directory; returns build_layout's description.
  json build(const json& spec, const std::string& name, const std::string& tag = "v1") {
    Result<json> info = testing::buildLayout(spec, layouts_->path() / name, tag);
    EXPECT_TRUE(info) << info.error().toString();
    return info ? *info : json();
  }
  std::filesystem::path layout(const std::string& name) { return layouts_->path() / name; }

  std::string uri(const std::string& repo_and_ref) {
    return registry_->address() + "/" + repo_and_ref;
  }

  // parseImageUri + resolveImage + pullImage.
  Result<ImageConfig> pull(const std::string& image_uri, RecordingSink& sink,
                           const PullOptions& opts = {}, ResolvedImage* resolved_out = nullptr) {
    Result<ImageReference> ref = parseImageUri(image_uri);
    if (!ref) return std::move(ref).error();
    Result<ResolvedImage> resolved = resolveImage(*ref, opts);
    if (!resolved) return std::move(resolved).error();
    if (resolved_out != nullptr) *resolved_out = *resolved;
    return pullImage(*resolved, opts, sink);
  }

  Result<ResolvedImage> resolve(const std::string& image_uri, const PullOptions& opts = {}) {
    return resolveUri(image_uri, opts);
  }

  static inline std::optional<std::string> unavailable_;
  static inline std::string start_error_;
  static inline std::unique_ptr<hearth::testing::TempDir> layouts_;
  static inline std::unique_ptr<TestRegistry> registry_;
};

TEST_F(ImagePullTest, FlattensThreeLayersWithWhiteoutsLinksAndConfig) {
  const json spec = {
      {"config",
       {{"Entrypoint", {"/app/run"}},
        {"Cmd", {"--flag", "value"}},
        {"Env", {"PATH=/usr/local/bin:/usr/bin", "GREETING=hello world"}},
        {"WorkingDir", "/app"}}},
      {"layers",
       {layer({entry("dir", "app"), file("app/run", "#!/bin/sh\necho hi\n", 0755),
               file("app/data.txt", "data"), file("etc/old", "old"), entry("dir", "var/cache"),
               file("var/cache/a", "a"), file("var/cache/b", "b"), entry("fifo", "dev/fifo"),
               entry("chardev", "dev/null")}),
        layer({entry("whiteout", "etc/old"), entry("opaque", "var/cache"), file("var/cache/c", "c"),
               link("hardlink", "app/hard", "app/run"), link("symlink", "app/link", "run")},
              "gzip", "./"),
        layer({entry("whiteout", "app/data.txt"), file("app/new", "new"), entry("dir", "empty")},
              "gzip", "/")}}};
  const json info = build(spec, "three");
  Result<std::string> pushed = registry_->push(layout("three"), "v1", "team/app:v1");
  ASSERT_TRUE(pushed) << pushed.error().toString();

  RecordingSink sink;
  ResolvedImage resolved;
  Result<ImageConfig> config = pull(uri("team/app:v1"), sink, {}, &resolved);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(sink.calls,
              ElementsAre(  // layer 1
                  "layer", "dir app", "file app/run 755 #!/bin/sh\necho hi\n",
                  "file app/data.txt 644 data", "file etc/old 644 old", "dir var/cache",
                  "file var/cache/a 644 a", "file var/cache/b 644 b",
                  // layer 2, names written "./..."
                  "layer", "remove etc/old", "clear var/cache", "file var/cache/c 644 c",
                  "hardlink app/hard -> app/run", "symlink app/link -> run",
                  // layer 3, names written "/..."
                  "layer", "remove app/data.txt", "file app/new 644 new", "dir empty"));
  EXPECT_EQ(*config, (ImageConfig{{"/app/run"},
                                  {"--flag", "value"},
                                  {"PATH=/usr/local/bin:/usr/bin", "GREETING=hello world"},
                                  "/app"}));

  // What was pulled is what was built: skopeo keeps gzip layers as they are.
  EXPECT_EQ(resolved.manifest_digest, *pushed);
  EXPECT_EQ(resolved.ref.tag, "v1");
  Result<ManifestDocument> doc = parseManifestDocument(resolved.manifest, "", "test");
  ASSERT_TRUE(doc);
  const Manifest& m = std::get<Manifest>(*doc);
  ASSERT_EQ(m.layers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.layers[i].digest, info["manifests"][0]["layers"][i]["digest"]);
  }
}

TEST_F(ImagePullTest, ResolvesAnImageIndexToThePlatform) {
  const json info =
      build({{"index", {labelledImage("amd64"), labelledImage("arm64", "arm64")}}}, "multi");
  Result<std::string> pushed = registry_->push(layout("multi"), "v1", "team/multi:v1", {"--all"});
  ASSERT_TRUE(pushed) << pushed.error().toString();
  EXPECT_EQ(*pushed, info["digest"]);  // the index itself

  RecordingSink sink;
  ResolvedImage resolved;
  Result<ImageConfig> config = pull(uri("team/multi:v1"), sink, {}, &resolved);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(resolved.manifest_digest, info["manifests"][0]["digest"]);
  EXPECT_EQ(sha256Digest(resolved.manifest), resolved.manifest_digest);
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 amd64"));
  EXPECT_THAT(config->cmd, ElementsAre("amd64"));

  PullOptions arm;
  arm.architecture = "arm64";
  RecordingSink arm_sink;
  config = pull(uri("team/multi:v1"), arm_sink, arm, &resolved);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(resolved.manifest_digest, info["manifests"][1]["digest"]);
  EXPECT_THAT(arm_sink.calls, ElementsAre("layer", "file label 644 arm64"));

  PullOptions s390x;
  s390x.architecture = "s390x";
  Result<ResolvedImage> none = resolve(uri("team/multi:v1"), s390x);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(none.error().message, HasSubstr("no image for linux/s390x"));
  EXPECT_THAT(none.error().message, HasSubstr("linux/amd64, linux/arm64"));
}

TEST_F(ImagePullTest, ResolvesADockerManifestList) {
  build({{"index", {labelledImage("amd64"), labelledImage("arm64", "arm64")}}}, "docker-list");
  Result<std::string> pushed = registry_->push(layout("docker-list"), "v1", "team/dockerlist:v1",
                                               {"--all", "--format", "v2s2"});
  ASSERT_TRUE(pushed) << pushed.error().toString();

  RecordingSink sink;
  ResolvedImage resolved;
  Result<ImageConfig> config = pull(uri("team/dockerlist:v1"), sink, {}, &resolved);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(resolved.manifest, HasSubstr(media_type::kDockerManifest));
  EXPECT_THAT(resolved.manifest, HasSubstr(media_type::kDockerLayerGzip));
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 amd64"));
  EXPECT_THAT(config->cmd, ElementsAre("amd64"));
}

TEST_F(ImagePullTest, PinnedByDigest) {
  const json info = build(labelledImage("pinned"), "pinned");
  Result<std::string> pushed = registry_->upload(layout("pinned"), "v1", "team/pinned:v1");
  ASSERT_TRUE(pushed) << pushed.error().toString();
  ASSERT_EQ(*pushed, info["digest"]);

  for (const std::string& ref : {"team/pinned@" + *pushed, "team/pinned:ignored@" + *pushed}) {
    RecordingSink sink;
    ResolvedImage resolved;
    Result<ImageConfig> config = pull(uri(ref), sink, {}, &resolved);
    ASSERT_TRUE(config) << ref << ": " << config.error().toString();
    EXPECT_EQ(resolved.manifest_digest, *pushed);
    EXPECT_EQ(resolved.ref.digest, *pushed);
    EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 pinned"));
  }

  const std::string unknown = uri("team/pinned@" + sha256Digest("no such manifest"));
  Result<ResolvedImage> missing = resolve(unknown);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(missing.error().message,
            "Source image " + unknown + " does not exist. Provide a valid source image.");
}

TEST_F(ImagePullTest, MissingTagOrRepositoryDoesNotExist) {
  build(labelledImage("present"), "present");
  ASSERT_TRUE(registry_->push(layout("present"), "v1", "team/present:v1"));
  for (const std::string ref : {"team/present:absent", "nobody/here:v1"}) {
    Result<ResolvedImage> r = resolve(uri(ref));
    ASSERT_FALSE(r) << ref;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_EQ(r.error().message,
              "Source image " + uri(ref) + " does not exist. Provide a valid source image.");
  }
}

TEST_F(ImagePullTest, UncompressedLayers) {
  // skopeo would gzip an uncompressed layer; upload pushes it as built.
  const json info = build(labelledImage("plain tar", "amd64", "none"), "plain");
  ASSERT_EQ(info["manifests"][0]["layers"][0]["media_type"], media_type::kOciLayer);
  ASSERT_TRUE(registry_->upload(layout("plain"), "v1", "team/plain:v1"));
  RecordingSink sink;
  Result<ImageConfig> config = pull(uri("team/plain:v1"), sink);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 plain tar"));
}

TEST_F(ImagePullTest, RefusesZstdLayers) {
  build(labelledImage("zstd", "amd64", "zstd"), "zstd");
  ASSERT_TRUE(registry_->upload(layout("zstd"), "v1", "team/zstd:v1"));
  Result<ResolvedImage> r = resolve(uri("team/zstd:v1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(r.error().message, HasSubstr("zstd"));
  EXPECT_THAT(r.error().message, HasSubstr(uri("team/zstd:v1")));
}

TEST_F(ImagePullTest, TamperedBlobsAreCorrupt) {
  // Content of their own, so that no other test shares these blobs.
  const json info = build(labelledImage("tampered layer"), "tampered-layer");
  ASSERT_TRUE(registry_->upload(layout("tampered-layer"), "v1", "team/tampered:layer"));
  const std::string layer_digest = info["manifests"][0]["layers"][0]["digest"];
  corrupt(registry_->blobPath(layer_digest));
  RecordingSink sink;
  Result<ImageConfig> r = pull(uri("team/tampered:layer"), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_THAT(r.error().message, HasSubstr(layer_digest));
  EXPECT_THAT(r.error().message, HasSubstr("layer 1 of 1"));
  // Verified before parsing: the sink saw nothing of the layer.
  EXPECT_THAT(sink.calls, ::testing::IsEmpty());

  const json config_info = build(labelledImage("tampered config"), "tampered-config");
  ASSERT_TRUE(registry_->upload(layout("tampered-config"), "v1", "team/tampered:config"));
  const std::string config_digest = config_info["manifests"][0]["config"]["digest"];
  corrupt(registry_->blobPath(config_digest));
  r = pull(uri("team/tampered:config"), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_THAT(r.error().message, HasSubstr(config_digest));

  // A manifest is checked against the registry's Docker-Content-Digest by tag, and against the
  // digest itself when pinned.
  const json manifest_info = build(labelledImage("tampered manifest"), "tampered-manifest");
  ASSERT_TRUE(registry_->upload(layout("tampered-manifest"), "v1", "team/tampered:manifest"));
  const std::string manifest_digest = manifest_info["digest"];
  corrupt(registry_->blobPath(manifest_digest));
  for (const std::string& ref :
       {std::string("team/tampered:manifest"), "team/tampered@" + manifest_digest}) {
    Result<ResolvedImage> resolved = resolve(uri(ref));
    ASSERT_FALSE(resolved) << ref;
    EXPECT_EQ(resolved.error().code, ErrorCode::kCorrupt) << resolved.error().toString();
    EXPECT_THAT(resolved.error().message, HasSubstr(manifest_digest));
  }
}

TEST_F(ImagePullTest, SizeLimits) {
  build(labelledImage("limits"), "limits");
  ASSERT_TRUE(registry_->push(layout("limits"), "v1", "team/limits:v1"));
  PullOptions small_manifest;
  small_manifest.max_manifest_bytes = 100;
  Result<ResolvedImage> r = resolve(uri("team/limits:v1"), small_manifest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("larger than 100 bytes"));

  PullOptions small_layer;
  small_layer.max_layer_bytes = 10;
  r = resolve(uri("team/limits:v1"), small_layer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("over the limit of 10 bytes"));
}

TEST_F(ImagePullTest, RefusesAnImageForAnotherArchitecture) {
  build(labelledImage("arm only", "arm64"), "arm-only");
  ASSERT_TRUE(registry_->push(layout("arm-only"), "v1", "team/armonly:v1"));
  RecordingSink sink;
  Result<ImageConfig> r = pull(uri("team/armonly:v1"), sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("built for linux/arm64, not for linux/amd64"));
}

TEST_F(ImagePullTest, FollowsRedirects) {
  build(labelledImage("redirected"), "redirected");
  ASSERT_TRUE(registry_->push(layout("redirected"), "v1", "team/redirected:v1"));
  ASSERT_TRUE(registry_->push(layout("redirected"), "v1", "relative/redirected:v1"));
  const std::string front = registry_->redirector();
  ASSERT_FALSE(front.empty());

  // Every request (manifest and blobs) is sent on to the registry on another port.
  RecordingSink sink;
  Result<ImageConfig> config = pull(front + "/team/redirected:v1", sink);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 redirected"));
  // A relative Location first, then an absolute one.
  RecordingSink relative_sink;
  config = pull(front + "/relative/redirected:v1", relative_sink);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(relative_sink.calls, ElementsAre("layer", "file label 644 redirected"));

  Result<ResolvedImage> loop = resolve(front + "/loop/app:v1");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(loop.error().message, HasSubstr("more than 5 times"));

  Result<ResolvedImage> https = resolve(front + "/https/app:v1");
  ASSERT_FALSE(https);
  EXPECT_EQ(https.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(https.error().message, HasSubstr("TLS"));
}

class ImagePullBasicAuthTest : public ImagePullTest {
 protected:
  static void SetUpTestSuite() { startSuite({"--htpasswd", "alice:s3cret"}); }
};

TEST_F(ImagePullBasicAuthTest, BasicAuth) {
  build(labelledImage("private"), "private");
  ASSERT_TRUE(
      registry_->push(layout("private"), "v1", "team/private:v1", {"--creds", "alice:s3cret"}));

  PullOptions good;
  good.credentials = Credentials{"alice", "s3cret"};
  RecordingSink sink;
  Result<ImageConfig> config = pull(uri("team/private:v1"), sink, good);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 private"));

  PullOptions wrong;
  wrong.credentials = Credentials{"alice", "wrong"};
  Result<ResolvedImage> r = resolve(uri("team/private:v1"), wrong);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("refused access"));
  EXPECT_THAT(r.error().message, HasSubstr("HTTP 401"));

  r = resolve(uri("team/private:v1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("requires credentials"));
}

TEST_F(ImagePullBasicAuthTest, CredentialsFromADockerConfig) {
  build(labelledImage("configured"), "configured");
  ASSERT_TRUE(registry_->push(layout("configured"), "v1", "team/configured:v1",
                              {"--creds", "alice:s3cret"}));
  hearth::testing::TempDir dir("hearth-oci-docker-config");
  const std::filesystem::path config = dir.path() / "config.json";
  std::ofstream(config)
      << json{{"auths", {{registry_->address(), {{"auth", base64Encode("alice:s3cret")}}}}}}.dump();
  Result<std::optional<Credentials>> creds = credentialsFor(registry_->address(), config);
  ASSERT_TRUE(creds) << creds.error().toString();
  ASSERT_TRUE(creds->has_value());
  PullOptions opts;
  opts.credentials = **creds;
  RecordingSink sink;
  Result<ImageConfig> pulled = pull(uri("team/configured:v1"), sink, opts);
  ASSERT_TRUE(pulled) << pulled.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 configured"));
}

// The registry answers 401 with a Bearer challenge; the token service wants Basic credentials.
// A registry configured for tokens refuses Basic credentials, so a pull that works used a token.
class ImagePullBearerAuthTest : public ImagePullTest {
 protected:
  static void SetUpTestSuite() { startSuite({"--token-auth", "bob:t0ken"}); }
};

TEST_F(ImagePullBearerAuthTest, TokenFromTheRealm) {
  build({{"index", {labelledImage("amd64 token"), labelledImage("arm64 token", "arm64")}}},
        "token");
  ASSERT_TRUE(
      registry_->push(layout("token"), "v1", "team/token:v1", {"--all", "--creds", "bob:t0ken"}));

  PullOptions good;
  good.credentials = Credentials{"bob", "t0ken"};
  RecordingSink sink;
  Result<ImageConfig> config = pull(uri("team/token:v1"), sink, good);
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file label 644 amd64 token"));

  for (const std::optional<Credentials>& creds :
       {std::optional<Credentials>(Credentials{"bob", "wrong"}), std::optional<Credentials>()}) {
    PullOptions opts;
    opts.credentials = creds;
    Result<ResolvedImage> r = resolve(uri("team/token:v1"), opts);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_THAT(r.error().message, HasSubstr("token service"));
    EXPECT_THAT(r.error().message, HasSubstr("refused access"));
  }
}

}  // namespace
}  // namespace hearth::codestore::oci
