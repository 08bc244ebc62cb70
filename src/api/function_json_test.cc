// FunctionConfiguration rendering and the request-body parsers: Lambda's field names and shapes,
// type checks, and the refusals for what Hearth does not support.
#include "api/function_json.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace hearth::api {
namespace {

using nlohmann::json;

control::Function sampleFunction() {
  control::Function f;
  f.account_id = "123456789012";
  f.name = "hello";
  f.runtime = "python3.11";
  f.handler = "app.handler";
  f.role = "arn:aws:iam::123456789012:role/r";
  f.memory_mb = 256;
  f.timeout_s = 10;
  f.ephemeral_mb = 1024;
  f.code_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  f.code_size = 321;
  f.revision_id = "rev-1";
  f.last_modified = SystemTime(std::chrono::milliseconds(1560000000123));
  return f;
}

TEST(FunctionJsonTest, ConfigurationHasLambdasFieldsAndShapes) {
  control::Function f = sampleFunction();
  json c = functionConfigurationJson(f, "eu-west-1");
  EXPECT_EQ(c["FunctionName"], "hello");
  EXPECT_EQ(c["FunctionArn"], "arn:aws:lambda:eu-west-1:123456789012:function:hello");
  EXPECT_EQ(c["Runtime"], "python3.11");
  EXPECT_EQ(c["Handler"], "app.handler");
  EXPECT_EQ(c["Role"], f.role);
  EXPECT_EQ(c["MemorySize"], 256);
  EXPECT_EQ(c["Timeout"], 10);
  EXPECT_EQ(c["CodeSize"], 321);
  EXPECT_EQ(c["CodeSha256"], f.code_sha256);
  EXPECT_EQ(c["Description"], "");
  EXPECT_EQ(c["LastModified"], "2019-06-08T13:20:00.123+0000");
  EXPECT_EQ(c["Version"], "$LATEST");
  EXPECT_EQ(c["RevisionId"], "rev-1");
  // Waiters poll these two.
  EXPECT_EQ(c["State"], "Active");
  EXPECT_EQ(c["LastUpdateStatus"], "Successful");
  EXPECT_EQ(c["PackageType"], "Zip");
  EXPECT_EQ(c["Architectures"], json::array({"x86_64"}));
  EXPECT_EQ(c["EphemeralStorage"], json({{"Size", 1024}}));
  EXPECT_EQ(c["TracingConfig"], json({{"Mode", "PassThrough"}}));
  EXPECT_EQ(c["LoggingConfig"]["LogGroup"], "/aws/lambda/hello");
  EXPECT_EQ(c["SnapStart"]["ApplyOn"], "None");
  EXPECT_FALSE(c.contains("Environment")) << "Lambda omits an empty Environment";

  f.environment = {{"A", "1"}};
  json qualified = functionConfigurationJson(f, "eu-west-1", "$LATEST");
  EXPECT_EQ(qualified["FunctionArn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:hello:$LATEST");
  EXPECT_EQ(qualified["Environment"], json({{"Variables", {{"A", "1"}}}}));
}

TEST(FunctionJsonTest, CreateFunctionReadsEveryField) {
  json body = {
      {"FunctionName", "hello"},
      {"Runtime", "python3.11"},
      {"Role", "arn:aws:iam::123456789012:role/r"},
      {"Handler", "app.handler"},
      {"Description", "d"},
      {"MemorySize", 512},
      {"Timeout", 30},
      {"EphemeralStorage", {{"Size", 2048}}},
      {"Environment", {{"Variables", {{"K", "V"}}}}},
      {"Architectures", {"x86_64"}},
      {"PackageType", "Zip"},
      {"Publish", false},
      {"Layers", json::array()},
      {"Tags", {{"team", "a"}}},  // ignored
      {"Code", {{"ZipFile", base64Encode(std::string("PK\x03\x04zip", 7))}}},
  };
  Result<CreateFunctionInput> in = parseCreateFunction(body.dump());
  ASSERT_TRUE(in.ok()) << in.error().toString();
  EXPECT_EQ(in->function_name, "hello");
  EXPECT_EQ(in->settings.runtime, "python3.11");
  EXPECT_EQ(in->settings.handler, "app.handler");
  EXPECT_EQ(in->settings.description, "d");
  EXPECT_EQ(in->settings.memory_mb, 512);
  EXPECT_EQ(in->settings.timeout_s, 30);
  EXPECT_EQ(in->settings.ephemeral_mb, 2048);
  ASSERT_TRUE(in->settings.environment.has_value());
  EXPECT_EQ(in->settings.environment->at("K"), "V");
  EXPECT_EQ(in->code.zip, std::string("PK\x03\x04zip", 7));
}

TEST(FunctionJsonTest, CreateFunctionRefusesBadInputWithTheRightCode) {
  const json base = {{"FunctionName", "f"},
                     {"Role", "r"},
                     {"Runtime", "python3.11"},
                     {"Code", {{"ZipFile", "UEsFBg=="}}}};
  struct Case {
    std::string what;
    json patch;  // merged into base (null removes)
    ErrorCode code;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"memory as string", {{"MemorySize", "big"}}, ErrorCode::kInvalidParameter, "'memorySize'"},
      {"memory as float", {{"MemorySize", 128.5}}, ErrorCode::kInvalidParameter, "integer"},
      {"runtime as number", {{"Runtime", 3}}, ErrorCode::kInvalidParameter, "'runtime'"},
      {"env value not string",
       {{"Environment", {{"Variables", {{"A", 1}}}}}},
       ErrorCode::kInvalidParameter,
       "'environment.variables'"},
      {"no name", {{"FunctionName", nullptr}}, ErrorCode::kInvalidParameter, "'functionName'"},
      {"no role", {{"Role", nullptr}}, ErrorCode::kInvalidParameter, "'role'"},
      {"no code", {{"Code", nullptr}}, ErrorCode::kInvalidParameter, "'code'"},
      {"bad base64",
       {{"Code", {{"ZipFile", "not base64!"}}}},
       ErrorCode::kInvalidParameter,
       "base64"},
      {"s3 code", {{"Code", {{"S3Bucket", "b"}, {"S3Key", "k"}}}}, ErrorCode::kUnsupported, "S3"},
      {"image type with a zip",
       {{"PackageType", "Image"}},
       ErrorCode::kInvalidParameter,
       "provide ImageUri"},
      {"image uri for a zip function",
       {{"Code", {{"ZipFile", nullptr}, {"ImageUri", "127.0.0.1:5000/fn:v1"}}}},
       ErrorCode::kInvalidParameter,
       "don't provide ImageUri"},
      {"zip and image",
       {{"PackageType", "Image"}, {"Code", {{"ZipFile", "UEsFBg=="}, {"ImageUri", "r/x:1"}}}},
       ErrorCode::kInvalidParameter,
       "not both"},
      {"bad entry point",
       {{"ImageConfig", {{"EntryPoint", "/bin/sh"}}}},
       ErrorCode::kInvalidParameter,
       "'imageConfig.entryPoint'"},
      {"relative working dir",
       {{"ImageConfig", {{"WorkingDirectory", "app"}}}},
       ErrorCode::kInvalidParameter,
       "absolute"},
      {"layers", {{"Layers", {"arn:layer"}}}, ErrorCode::kUnsupported, "Layers"},
      {"arm64", {{"Architectures", {"arm64"}}}, ErrorCode::kUnsupported, "arm64"},
      {"two architectures",
       {{"Architectures", {"x86_64", "arm64"}}},
       ErrorCode::kInvalidParameter,
       "'architectures'"},
      {"publish", {{"Publish", true}}, ErrorCode::kUnsupported, "Publish"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    json body = base;
    body.merge_patch(c.patch);
    Result<CreateFunctionInput> in = parseCreateFunction(body.dump());
    ASSERT_FALSE(in.ok());
    EXPECT_EQ(in.error().code, c.code) << in.error().toString();
    EXPECT_NE(in.error().message.find(c.message_part), std::string::npos) << in.error().message;
  }
}

TEST(FunctionJsonTest, BodiesThatAreNotJsonObjectsAreInvalidRequestContent) {
  for (std::string_view body : {"{\"FunctionName\": ", "[1,2]", "\"text\"", "{} trailing"}) {
    SCOPED_TRACE(body);
    Result<UpdateConfigurationInput> in = parseUpdateFunctionConfiguration(body);
    ASSERT_FALSE(in.ok());
    EXPECT_EQ(in.error().code, ErrorCode::kInvalidRequestContent);
    EXPECT_TRUE(in.error().message.starts_with("Could not parse request body into json: "))
        << in.error().message;
  }
  // The parser says where the body broke.
  Result<json> broken = parseJsonObject("{\"a\": tru}");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("column"), std::string::npos) << broken.error().message;
}

TEST(FunctionJsonTest, UpdateConfigurationKeepsAbsentFieldsAbsent) {
  Result<UpdateConfigurationInput> in = parseUpdateFunctionConfiguration(
      R"({"Timeout": 9, "Environment": {}, "RevisionId": "r1", "Handler": null})");
  ASSERT_TRUE(in.ok()) << in.error().toString();
  EXPECT_EQ(in->settings.timeout_s, 9);
  EXPECT_FALSE(in->settings.memory_mb.has_value());
  EXPECT_FALSE(in->settings.handler.has_value());
  // An Environment without Variables clears them, as on Lambda.
  ASSERT_TRUE(in->settings.environment.has_value());
  EXPECT_TRUE(in->settings.environment->empty());
  EXPECT_EQ(in->revision_id, "r1");

  // Integers beyond int64 stay out of range instead of wrapping to something valid.
  Result<UpdateConfigurationInput> huge =
      parseUpdateFunctionConfiguration(R"({"MemorySize": 18446744073709551615})");
  ASSERT_TRUE(huge.ok());
  EXPECT_GT(*huge->settings.memory_mb, 10240);
}

TEST(FunctionJsonTest, CreateFunctionReadsAnImageFunction) {
  json body = {
      {"FunctionName", "img"},
      {"Role", "arn:aws:iam::123456789012:role/r"},
      {"PackageType", "Image"},
      {"Code", {{"ImageUri", "127.0.0.1:5000/team/fn:v1"}}},
      {"ImageConfig", {{"EntryPoint", {"/bin/run", "--flag"}}, {"WorkingDirectory", "/srv"}}}};
  Result<CreateFunctionInput> in = parseCreateFunction(body.dump());
  ASSERT_TRUE(in.ok()) << in.error().toString();
  EXPECT_TRUE(in->code.isImage());
  EXPECT_EQ(in->code.image_uri, "127.0.0.1:5000/team/fn:v1");
  ASSERT_TRUE(in->settings.image_config);
  EXPECT_EQ(in->settings.image_config->entry_point,
            (std::vector<std::string>{"/bin/run", "--flag"}));
  EXPECT_FALSE(in->settings.image_config->command);
  EXPECT_EQ(in->settings.image_config->working_directory, "/srv");
}

TEST(FunctionJsonTest, UpdateCodeReadsZipDryRunAndRevision) {
  Result<UpdateCodeInput> in =
      parseUpdateFunctionCode(R"({"ZipFile": "UEsFBg==", "DryRun": true, "RevisionId": "r"})");
  ASSERT_TRUE(in.ok()) << in.error().toString();
  EXPECT_EQ(in->code.zip, std::string("PK\x05\x06", 4));
  EXPECT_TRUE(in->dry_run);
  EXPECT_EQ(in->revision_id, "r");

  Result<UpdateCodeInput> no_code = parseUpdateFunctionCode(R"({"Publish": false})");
  ASSERT_FALSE(no_code.ok());
  EXPECT_EQ(no_code.error().code, ErrorCode::kInvalidParameter);
  Result<UpdateCodeInput> dry_run_string =
      parseUpdateFunctionCode(R"({"ZipFile": "UEsFBg==", "DryRun": "yes"})");
  ASSERT_FALSE(dry_run_string.ok());
  EXPECT_NE(dry_run_string.error().message.find("'dryRun'"), std::string::npos);
}

}  // namespace
}  // namespace hearth::api
