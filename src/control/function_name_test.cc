#include "control/function_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace hearth::control {
namespace {

using ::testing::HasSubstr;

constexpr char kAccount[] = "123456789012";
constexpr char kRegion[] = "us-east-1";

Result<FunctionRef> parse(std::string_view input, std::string_view query_qualifier = {}) {
  return parseFunctionRef(input, query_qualifier, kAccount, kRegion);
}

// Parses `input` expecting success; returns the reference or an empty one after a failure.
FunctionRef parseOk(std::string_view input, std::string_view query_qualifier = {}) {
  Result<FunctionRef> r = parse(input, query_qualifier);
  EXPECT_TRUE(r.ok()) << input << ": " << r.error().toString();
  return r.ok() ? *r : FunctionRef{};
}

void expectError(std::string_view input, ErrorCode code, std::string_view query_qualifier = {}) {
  Result<FunctionRef> r = parse(input, query_qualifier);
  ASSERT_FALSE(r.ok()) << "'" << input << "' parsed as " << r->name << " / " << r->qualifier;
  EXPECT_EQ(r.error().code, code) << input << ": " << r.error().toString();
}

TEST(FunctionNameTest, BareName) {
  FunctionRef ref = parseOk("my-function");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "");
  EXPECT_EQ(parseOk("A_b-9").name, "A_b-9");
}

TEST(FunctionNameTest, NameWithQualifier) {
  FunctionRef ref = parseOk("my-function:1");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "1");

  ref = parseOk("my-function:prod_alias-2");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "prod_alias-2");
}

TEST(FunctionNameTest, NameWithLatest) {
  FunctionRef ref = parseOk("my-function:$LATEST");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "$LATEST");
}

TEST(FunctionNameTest, PartialArn) {
  FunctionRef ref = parseOk("123456789012:function:my-function");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "");

  ref = parseOk("123456789012:function:my-function:live");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "live");

  ref = parseOk("123456789012:function:my-function:$LATEST");
  EXPECT_EQ(ref.qualifier, "$LATEST");
}

TEST(FunctionNameTest, FullArn) {
  FunctionRef ref = parseOk("arn:aws:lambda:us-east-1:123456789012:function:my-function");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "");

  ref = parseOk("arn:aws:lambda:us-east-1:123456789012:function:my-function:7");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "7");

  ref = parseOk("arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST");
  EXPECT_EQ(ref.qualifier, "$LATEST");
}

TEST(FunctionNameTest, FunctionArnRoundTrips) {
  std::string arn = functionArn(kRegion, kAccount, "my-function");
  EXPECT_EQ(arn, "arn:aws:lambda:us-east-1:123456789012:function:my-function");
  EXPECT_EQ(parseOk(arn).name, "my-function");

  std::string qualified = functionArn(kRegion, kAccount, "my-function", "$LATEST");
  EXPECT_EQ(qualified, "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST");
  FunctionRef ref = parseOk(qualified);
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "$LATEST");
}

TEST(FunctionNameTest, QueryQualifierIsMerged) {
  FunctionRef ref = parseOk("my-function", "3");
  EXPECT_EQ(ref.name, "my-function");
  EXPECT_EQ(ref.qualifier, "3");

  // The same qualifier twice is fine.
  ref = parseOk("my-function:3", "3");
  EXPECT_EQ(ref.qualifier, "3");
  ref = parseOk("arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST", "$LATEST");
  EXPECT_EQ(ref.qualifier, "$LATEST");
  ref = parseOk("123456789012:function:my-function", "live");
  EXPECT_EQ(ref.qualifier, "live");
}

TEST(FunctionNameTest, QueryQualifierMismatchIsInvalid) {
  Result<FunctionRef> r = parse("my-function:3", "4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(r.error().message,
            "The derived qualifier from the function name does not match the specified "
            "qualifier.");

  expectError("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
              ErrorCode::kInvalidParameter, "1");
}

TEST(FunctionNameTest, MalformedQueryQualifierIsInvalid) {
  Result<FunctionRef> r = parse("my-function", "bad.qualifier");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_THAT(r.error().message, HasSubstr("'bad.qualifier' at 'qualifier'"));
  expectError("my-function", ErrorCode::kInvalidParameter, std::string(129, 'q'));
}

TEST(FunctionNameTest, OtherAccountOrRegionIsNotFound) {
  expectError("210987654321:function:my-function", ErrorCode::kNotFound);
  expectError("210987654321:function:my-function:1", ErrorCode::kNotFound);
  expectError("arn:aws:lambda:us-east-1:210987654321:function:my-function", ErrorCode::kNotFound);
  expectError("arn:aws:lambda:eu-west-1:123456789012:function:my-function", ErrorCode::kNotFound);
  expectError("arn:aws:lambda:eu-west-1:123456789012:function:my-function:$LATEST",
              ErrorCode::kNotFound);
}

TEST(FunctionNameTest, NameLengthLimit) {
  EXPECT_EQ(parseOk(std::string(64, 'a')).name, std::string(64, 'a'));
  expectError(std::string(65, 'a'), ErrorCode::kInvalidParameter);
  expectError("123456789012:function:" + std::string(65, 'a'), ErrorCode::kInvalidParameter);
}

TEST(FunctionNameTest, MalformedInputIsInvalid) {
  for (const std::string& input : {
           std::string(""),
           std::string("my function"),
           std::string("my.function"),
           std::string("my/function"),
           std::string("fünction"),
           std::string("my-function:"),         // empty qualifier
           std::string("my-function:v.1"),      // bad qualifier character
           std::string("my-function:$latest"),  // only $LATEST may carry a '$'
           std::string(":1"),                   // empty name
           std::string("a:b:c"),                // three parts, not account:function:name
           std::string("a:b:c:d:e"),            // too many colons for a partial ARN
           std::string("123456789012:layer:my-function"),
           std::string("12345:function:my-function"),  // account is not 12 digits
           std::string("123456789012:function:my-function:1:2"),
           std::string("arn:aws:lambda:us-east-1:123456789012:function:f:1:2"),
           std::string("arn:aws:s3:us-east-1:123456789012:function:f"),
           std::string("arn:aws:lambda:us-east-1:123456789012:layer:f"),
           std::string("arn:aws:lambda:us-east-1:123456789012:function:"),
           std::string("arn:aws:lambda:us-east-1:123456789012:function:f:"),
           "my-function:" + std::string(129, 'q'),
       }) {
    SCOPED_TRACE(input);
    expectError(input, ErrorCode::kInvalidParameter);
  }
  // The longest qualifier is accepted.
  EXPECT_EQ(parseOk("my-function:" + std::string(128, 'q')).qualifier, std::string(128, 'q'));
}

TEST(FunctionNameTest, InvalidNameMessageQuotesInput) {
  Result<FunctionRef> r = parse("my function");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr("Value 'my function' at 'functionName' failed to satisfy constraint"));
}

TEST(FunctionNameTest, IsValidFunctionName) {
  EXPECT_TRUE(isValidFunctionName("a"));
  EXPECT_TRUE(isValidFunctionName("Hello_World-1"));
  EXPECT_TRUE(isValidFunctionName(std::string(kMaxFunctionNameLength, 'x')));
  EXPECT_FALSE(isValidFunctionName(""));
  EXPECT_FALSE(isValidFunctionName(std::string(kMaxFunctionNameLength + 1, 'x')));
  EXPECT_FALSE(isValidFunctionName("a:b"));
  EXPECT_FALSE(isValidFunctionName("a.b"));
  EXPECT_FALSE(isValidFunctionName("a b"));
}

}  // namespace
}  // namespace hearth::control
