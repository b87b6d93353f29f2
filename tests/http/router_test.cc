// Tests for Router pattern matching and the request helpers it relies on
// (PercentDecode, ParseQuery, HttpRequest accessors).
#include "http/router.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/http_types.h"
#include "metrics/metrics.h"

namespace cairn::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

using Params = std::vector<std::pair<std::string, std::string>>;

// A handler that answers with `name`, so a test can tell routes apart.
Handler Named(std::string name) {
  return [name](HttpRequest&) { return HttpResponse::Text(200, name); };
}

// The name of the route that `Find` picked, "" if none.
std::string Call(const Router::Match& match) {
  if (match.route == nullptr) return "";
  HttpRequest request;
  return match.route->handler(request).body;
}

class RouterTest : public ::testing::Test {
 protected:
  metrics::Registry registry_;
  Router router_{&registry_};
};

TEST_F(RouterTest, ExactMatch) {
  router_.Add("GET", "/api/2.0/mlflow/runs/get", Named("get"));
  router_.Add("POST", "/api/2.0/mlflow/runs/create", Named("create"));

  Router::Match m = router_.Find("GET", "/api/2.0/mlflow/runs/get");
  EXPECT_EQ(Call(m), "get");
  EXPECT_FALSE(m.method_not_allowed);
  EXPECT_THAT(m.params, IsEmpty());
  EXPECT_EQ(Call(router_.Find("POST", "/api/2.0/mlflow/runs/create")), "create");

  // Near misses are not matches.
  EXPECT_EQ(router_.Find("GET", "/api/2.0/mlflow/runs/get/").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/api/2.0/mlflow/runs/ge").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/API/2.0/mlflow/runs/get").route, nullptr);
}

TEST_F(RouterTest, SamePathDifferentMethods) {
  router_.Add("GET", "/thing", Named("read"));
  router_.Add("POST", "/thing", Named("write"));
  EXPECT_EQ(Call(router_.Find("GET", "/thing")), "read");
  EXPECT_EQ(Call(router_.Find("POST", "/thing")), "write");
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  router_.Add("GET", "/a", Named("a"));
  router_.Add("GET", "/items/{id}", Named("item"));
  Router::Match m = router_.Find("GET", "/b");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.method_not_allowed);
  m = router_.Find("DELETE", "/nowhere/at/all");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.method_not_allowed);
}

TEST_F(RouterTest, WrongMethodOnExactPathIsMethodNotAllowed) {
  router_.Add("GET", "/a", Named("a"));
  Router::Match m = router_.Find("POST", "/a");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
}

TEST_F(RouterTest, WrongMethodOnPatternIsMethodNotAllowed) {
  router_.Add("GET", "/items/{id}", Named("item"));
  router_.Add("PUT", "/files/*", Named("files"));
  Router::Match m = router_.Find("DELETE", "/items/42");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
  m = router_.Find("GET", "/files/a/b");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
}

TEST_F(RouterTest, NamedParamsCaptureOneSegment) {
  router_.Add("GET", "/exp/{experiment_id}/runs/{run_id}", Named("run"));
  Router::Match m = router_.Find("GET", "/exp/7/runs/abc123");
  EXPECT_EQ(Call(m), "run");
  EXPECT_THAT(m.params, ElementsAre(Pair("experiment_id", "7"), Pair("run_id", "abc123")));

  // A capture never spans '/' and never matches an empty segment.
  EXPECT_EQ(router_.Find("GET", "/exp/7/8/runs/abc").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/exp//runs/abc").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/exp/7/runs/").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/exp/7/runs/abc/extra").route, nullptr);
}

TEST_F(RouterTest, TrailingStarCapturesTheRest) {
  router_.Add("GET", "/artifacts/{run_id}/*", Named("artifact"));
  Router::Match m = router_.Find("GET", "/artifacts/r1/models/model.pkl");
  EXPECT_EQ(Call(m), "artifact");
  EXPECT_THAT(m.params, ElementsAre(Pair("run_id", "r1"), Pair("*", "models/model.pkl")));

  m = router_.Find("GET", "/artifacts/r1/");
  EXPECT_EQ(Call(m), "artifact");
  EXPECT_THAT(m.params, ElementsAre(Pair("run_id", "r1"), Pair("*", "")));

  EXPECT_EQ(router_.Find("GET", "/artifacts/r1").route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/artifact/r1/x").route, nullptr);
}

TEST_F(RouterTest, ExactRouteWinsOverPattern) {
  router_.Add("GET", "/items/{id}", Named("item"));
  router_.Add("GET", "/items/search", Named("search"));
  EXPECT_EQ(Call(router_.Find("GET", "/items/search")), "search");
  Router::Match m = router_.Find("GET", "/items/other");
  EXPECT_EQ(Call(m), "item");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "other")));
}

TEST_F(RouterTest, PatternMatchesWhenExactPathHasOnlyOtherMethods) {
  router_.Add("POST", "/items/search", Named("search"));
  router_.Add("GET", "/items/{id}", Named("item"));
  Router::Match m = router_.Find("GET", "/items/search");
  EXPECT_EQ(Call(m), "item");
  EXPECT_FALSE(m.method_not_allowed);
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "search")));
}

TEST_F(RouterTest, RoutesListedInRegistrationOrder) {
  router_.Add("GET", "/b", Named("b"));
  router_.Add("GET", "/a/{x}", Named("a"));
  router_.Add("POST", "/c/*", Named("c"));
  std::vector<std::string> patterns;
  for (const Route* r : router_.routes()) patterns.push_back(r->method + " " + r->pattern);
  EXPECT_THAT(patterns, ElementsAre("GET /b", "GET /a/{x}", "POST /c/*"));
}

TEST_F(RouterTest, RouteOptionsAreKept) {
  RouteOptions options;
  options.body_mode = BodyMode::kSpoolToFile;
  options.execution = Execution::kInline;
  router_.Add("PUT", "/upload/*", Named("up"), options);
  const Route* r = router_.Find("PUT", "/upload/x").route;
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->options.body_mode, BodyMode::kSpoolToFile);
  EXPECT_EQ(r->options.execution, Execution::kInline);
}

TEST_F(RouterTest, RecordResponseFeedsPerRouteMetrics) {
  router_.Add("GET", "/a", Named("a"));
  const Route* r = router_.Find("GET", "/a").route;
  ASSERT_NE(r, nullptr);
  r->RecordResponse(200, 0.001);
  r->RecordResponse(404, 0.002);
  router_.unmatched().RecordResponse(404, 0.001);
  std::string text = registry_.RenderPrometheus();
  EXPECT_THAT(text,
              HasSubstr("cairn_http_requests_total{method=\"GET\",route=\"/a\",code=\"2xx\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cairn_http_requests_total{method=\"GET\",route=\"/a\",code=\"4xx\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cairn_http_requests_total{method=\"GET\",route=\"/a\",code=\"5xx\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("cairn_http_request_duration_seconds_count{method=\"GET\",route="
                              "\"/a\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("route=\"unmatched\",code=\"4xx\"} 1\n"));
}

TEST(RouterNoMetricsTest, WorksWithoutRegistry) {
  Router router(nullptr);
  router.Add("GET", "/a", Named("a"));
  const Route* r = router.Find("GET", "/a").route;
  ASSERT_NE(r, nullptr);
  r->RecordResponse(200, 0.1);  // Must not crash without metrics.
  EXPECT_EQ(Call(router.Find("GET", "/a")), "a");
}

// ---------------------------------------------------------------- HttpRequest

TEST(HttpRequestTest, HeaderAndPathParamLookups) {
  HttpRequest request;
  request.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  request.path_params = {{"id", "7"}, {"*", "a/b"}};
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("x-a"), "1");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_EQ(request.PathParam("id"), "7");
  EXPECT_EQ(request.PathParam("*"), "a/b");
  EXPECT_EQ(request.PathParam("nope"), "");
}

// ---------------------------------------------------------------- PercentDecode

TEST(PercentDecodeTest, DecodesEscapes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%20b%2Fc%2fd", &out, false));
  EXPECT_EQ(out, "a b/c/d");
  EXPECT_TRUE(PercentDecode("%E2%9C%93", &out, false));
  EXPECT_EQ(out, "\xE2\x9C\x93");
  EXPECT_TRUE(PercentDecode("%00", &out, false));
  EXPECT_EQ(out, std::string("\0", 1));
  EXPECT_TRUE(PercentDecode("", &out, false));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, PlusIsSpaceOnlyWhenAsked) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a+b%2B", &out, true));
  EXPECT_EQ(out, "a b+");
  EXPECT_TRUE(PercentDecode("a+b%2B", &out, false));
  EXPECT_EQ(out, "a+b+");
}

TEST(PercentDecodeTest, MalformedEscapesFailAndStayVerbatim) {
  std::string out;
  EXPECT_FALSE(PercentDecode("100%", &out, false));
  EXPECT_EQ(out, "100%");
  EXPECT_FALSE(PercentDecode("%4", &out, false));
  EXPECT_EQ(out, "%4");
  EXPECT_FALSE(PercentDecode("%zz", &out, false));
  EXPECT_EQ(out, "%zz");
  EXPECT_FALSE(PercentDecode("a%g1b%41", &out, false));
  EXPECT_EQ(out, "a%g1bA");
}

TEST(PercentDecodeTest, ClearsPreviousOutput) {
  std::string out = "stale";
  EXPECT_TRUE(PercentDecode("x", &out, false));
  EXPECT_EQ(out, "x");
}

// ---------------------------------------------------------------- ParseQuery

TEST(ParseQueryTest, KeepsRepeatedKeysInOrder) {
  EXPECT_THAT(ParseQuery("run_id=a&run_id=b&max_results=10&run_id=c"),
              ElementsAre(Pair("run_id", "a"), Pair("run_id", "b"), Pair("max_results", "10"),
                          Pair("run_id", "c")));
}

TEST(ParseQueryTest, DecodesKeysAndValues) {
  EXPECT_THAT(
      ParseQuery("filter=metrics.acc+%3E+0.9&k%20ey=v%26w&plus=%2B"),
      ElementsAre(Pair("filter", "metrics.acc > 0.9"), Pair("k ey", "v&w"), Pair("plus", "+")));
}

TEST(ParseQueryTest, EmptyPartsAndMissingValues) {
  EXPECT_THAT(ParseQuery(""), IsEmpty());
  EXPECT_THAT(ParseQuery("&&"), IsEmpty());
  EXPECT_THAT(ParseQuery("a&b=&=c&&d=1"),
              ElementsAre(Pair("a", ""), Pair("b", ""), Pair("", "c"), Pair("d", "1")));
  EXPECT_THAT(ParseQuery("a=b=c"), ElementsAre(Pair("a", "b=c")));
}

TEST(ParseQueryTest, MalformedEscapesAreKeptVerbatim) {
  EXPECT_THAT(ParseQuery("a=%zz&b=50%&c=%4"),
              ElementsAre(Pair("a", "%zz"), Pair("b", "50%"), Pair("c", "%4")));
}

}  // namespace
}  // namespace cairn::http
