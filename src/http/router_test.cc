// Router matching, path templates and query parsing.
#include "http/router.h"

#include <gtest/gtest.h>

#include "http/query.h"

namespace hearth::http {
namespace {

using boost::beast::http::verb;

enum class Op { kList, kCreate, kGet, kDelete, kInvoke, kGetAlias, kRoot };

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_.add(verb::get, "/2015-03-31/functions", Op::kList).ok());
    ASSERT_TRUE(router_.add(verb::post, "/2015-03-31/functions", Op::kCreate).ok());
    ASSERT_TRUE(router_.add(verb::get, "/2015-03-31/functions/{FunctionName}", Op::kGet).ok());
    ASSERT_TRUE(
        router_.add(verb::delete_, "/2015-03-31/functions/{FunctionName}", Op::kDelete).ok());
    ASSERT_TRUE(router_
                    .add(verb::post, "/2015-03-31/functions/{FunctionName}/invocations",
                         Op::kInvoke)
                    .ok());
    ASSERT_TRUE(router_
                    .add(verb::get, "/2015-03-31/functions/{FunctionName}/aliases/{Name}",
                         Op::kGetAlias)
                    .ok());
    ASSERT_TRUE(router_.add(verb::get, "/", Op::kRoot).ok());
  }

  Router<Op> router_;
};

TEST_F(RouterTest, MatchesMethodAndPathWithEncodedParams) {
  std::string target =
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/"
      "invocations?Qualifier=%24LATEST";
  RouteMatch<Op> m = router_.match(verb::post, target);
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kInvoke);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params.get("FunctionName"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af");
  EXPECT_EQ(m.params.get("Qualifier"), std::nullopt);

  m = router_.match(verb::get, "/2015-03-31/functions/f/aliases/live");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kGetAlias);
  EXPECT_EQ(m.params.get("FunctionName"), "f");
  EXPECT_EQ(m.params.get("Name"), "live");
  EXPECT_EQ(m.params[1].first, "Name");

  // Same path, method picks the route.
  m = router_.match(verb::delete_, "/2015-03-31/functions/f");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kDelete);
  m = router_.match(verb::post, "/2015-03-31/functions");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kCreate);

  m = router_.match(verb::get, "/");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kRoot);
}

TEST_F(RouterTest, ToleratesOneTrailingSlash) {
  RouteMatch<Op> m = router_.match(verb::get, "/2015-03-31/functions/?MaxItems=10");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(*m.target, Op::kList);
  m = router_.match(verb::get, "/2015-03-31/functions/f/");
  ASSERT_EQ(m.status, RouteStatus::kMatched);
  EXPECT_EQ(m.params.get("FunctionName"), "f");

  EXPECT_EQ(router_.match(verb::get, "/2015-03-31/functions//").status, RouteStatus::kNoRoute);
  EXPECT_EQ(router_.match(verb::get, "/2015-03-31//functions").status, RouteStatus::kNoRoute);
  EXPECT_EQ(router_.match(verb::get, "//").status, RouteStatus::kNoRoute);
}

TEST_F(RouterTest, DistinguishesNoRouteFromWrongMethod) {
  EXPECT_EQ(router_.match(verb::put, "/2015-03-31/functions/f/invocations").status,
            RouteStatus::kMethodNotAllowed);
  EXPECT_EQ(router_.match(verb::put, "/2015-03-31/functions").status,
            RouteStatus::kMethodNotAllowed);
  EXPECT_EQ(router_.match(verb::post, "/2015-03-31/functions/f/invocations/x").status,
            RouteStatus::kNoRoute);
  EXPECT_EQ(router_.match(verb::post, "/2015-03-31/function/f/invocations").status,
            RouteStatus::kNoRoute);
  EXPECT_EQ(router_.match(verb::get, "2015-03-31/functions").status, RouteStatus::kNoRoute);
  EXPECT_EQ(router_.match(verb::get, "").status, RouteStatus::kNoRoute);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "/a";
  EXPECT_EQ(router_.match(verb::get, deep).status, RouteStatus::kNoRoute);
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (const char* bad : {"", "relative", "/trailing/", "/a//b", "/{}", "/{open", "/close}",
                          "/a{b}", "/{A}/{A}", "/{a}/{b}/{c}/{d}/{e}", "/{a{b}}"}) {
    EXPECT_FALSE(PathTemplate::parse(bad).ok()) << bad;
  }
  Result<PathTemplate> ok = PathTemplate::parse("/2019-09-30/functions/{FunctionName}/concurrency");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->text(), "/2019-09-30/functions/{FunctionName}/concurrency");
}

TEST(QueryTest, SplitsAndDecodesLikeAws) {
  TargetParts parts = splitTarget("/2015-03-31/functions?Marker=a%2Fb&MaxItems=5");
  EXPECT_EQ(parts.path, "/2015-03-31/functions");
  EXPECT_EQ(parts.query, "Marker=a%2Fb&MaxItems=5");
  EXPECT_EQ(splitTarget("/p").query, "");

  Result<QueryParams> q =
      parseQuery("Qualifier=%24LATEST&&plus=a+b&flag&empty=&eq=a=b&Qualifier=2&sp=a%20b");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->get("Qualifier"), "$LATEST");  // the first of repeated names
  EXPECT_EQ(q->get("plus"), "a+b");           // '+' is not a space
  EXPECT_EQ(q->get("flag"), "");
  EXPECT_EQ(q->get("empty"), "");
  EXPECT_EQ(q->get("eq"), "a=b");
  EXPECT_EQ(q->get("sp"), "a b");
  EXPECT_EQ(q->get("missing"), std::nullopt);
  ASSERT_EQ(q->entries().size(), 7u);
  EXPECT_EQ(q->entries()[5], (QueryParams::Entry{"Qualifier", "2"}));

  EXPECT_TRUE(parseQuery("").ok() && parseQuery("").value().entries().empty());
  EXPECT_FALSE(parseQuery("a=%zz").ok());
  EXPECT_FALSE(parseQuery("a%2=1").ok());
}

}  // namespace
}  // namespace hearth::http
