#include "queue/invocation_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "queue/policy.h"

namespace hearth::queue {
namespace {

using nlohmann::json;

TEST(InvocationRecordTest, HasLambdasShape) {
  InvocationOutcome o;
  o.timestamp = fromEpochMillis(1573754765568);
  o.request_id = "e4b46cbf-b738-xmpl-8880-a18cdf61200e";
  o.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST";
  o.condition = kConditionRetriesExhausted;
  o.invoke_count = 3;
  o.request_payload = R"({"ORDER_IDS":["9e07af03"]})";
  o.response = InvocationOutcome::Response{"$LATEST", true,
                                           R"({"errorMessage":"boom","errorType":"Error"})"};
  json r = json::parse(invocationRecord(o));
  EXPECT_EQ(r["version"], "1.0");
  EXPECT_EQ(r["timestamp"], "2019-11-14T18:06:05.568Z");
  EXPECT_EQ(r["requestContext"], (json{{"requestId", o.request_id},
                                       {"functionArn", o.function_arn},
                                       {"condition", "RetriesExhausted"},
                                       {"approximateInvokeCount", 3}}));
  EXPECT_EQ(r["requestPayload"]["ORDER_IDS"][0], "9e07af03");
  EXPECT_EQ(
      r["responseContext"],
      (json{{"statusCode", 200}, {"executedVersion", "$LATEST"}, {"functionError", "Unhandled"}}));
  EXPECT_EQ(r["responsePayload"]["errorMessage"], "boom");
  EXPECT_FALSE(r.contains("payloadsOmitted"));
}

TEST(InvocationRecordTest, NonJsonPayloadsBecomeStringsAndNotRunMeansNoResponse) {
  InvocationOutcome o;
  o.condition = kConditionEventAgeExceeded;
  o.request_payload = "not json \xff";
  json r = json::parse(invocationRecord(o));
  EXPECT_TRUE(r["requestPayload"].is_string());
  EXPECT_FALSE(r.contains("responseContext"));
  EXPECT_FALSE(r.contains("responsePayload"));
  EXPECT_EQ(r["requestContext"]["approximateInvokeCount"], 0);
}

TEST(InvocationRecordTest, OversizedRecordsDropTheirPayloads) {
  const std::string big(kMaxAsyncPayloadBytes, 'a');
  InvocationOutcome o;
  o.condition = kConditionSuccess;
  o.request_payload = "{}";
  o.response = InvocationOutcome::Response{"$LATEST", false, big};
  std::string text = invocationRecord(o);
  EXPECT_LE(text.size(), kMaxAsyncPayloadBytes);
  json r = json::parse(text);
  EXPECT_TRUE(r["payloadsOmitted"]);
  EXPECT_TRUE(r["responsePayload"].is_null());
  EXPECT_EQ(r["responseContext"]["executedVersion"], "$LATEST");
}

}  // namespace
}  // namespace hearth::queue
