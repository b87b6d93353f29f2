#include "http/router.h"

#include <algorithm>
#include <utility>

namespace cairn::http {

void Route::RecordResponse(int status, double seconds) const {
  if (latency != nullptr) latency->Observe(seconds);
  int status_class = status / 100;
  if (status_class >= 1 && status_class <= 5 && responses_by_class[status_class - 1] != nullptr) {
    responses_by_class[status_class - 1]->Inc();
  }
}

Router::Router(metrics::Registry* registry) : registry_(registry) {
  InitMetrics(&unmatched_, "unmatched");
}

void Router::InitMetrics(Route* route, const std::string& label) {
  if (registry_ == nullptr) return;
  metrics::Labels labels = {{"method", route->method}, {"route", label}};
  route->latency =
      registry_->GetHistogram("cairn_http_request_duration_seconds",
                              "HTTP request latency by route, from request read to response "
                              "handed to the socket.",
                              labels, metrics::DefaultLatencyBounds());
  static const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 5; ++i) {
    metrics::Labels with_code = labels;
    with_code.emplace_back("code", kClasses[i]);
    route->responses_by_class[i] = registry_->GetCounter(
        "cairn_http_requests_total", "HTTP requests by route and status class.", with_code);
  }
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  route->handler = std::move(handler);
  route->options = std::move(options);
  Insert(std::move(route));
}

void Router::AddAsync(std::string method, std::string pattern, AsyncHandler handler,
                      RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  route->async_handler = std::move(handler);
  route->options = std::move(options);
  Insert(std::move(route));
}

void Router::Insert(std::unique_ptr<Route> route) {
  InitMetrics(route.get(), route->pattern);
  const Route* raw = route.get();
  bool literal = raw->pattern.find('{') == std::string::npos && raw->pattern.back() != '*';
  if (literal) {
    exact_[raw->pattern].push_back(raw);
  } else {
    patterned_.push_back(raw);
  }
  routes_.push_back(std::move(route));
}

bool Router::MatchPattern(std::string_view pattern, std::string_view path,
                          std::vector<std::pair<std::string, std::string>>* params) {
  params->clear();
  size_t pi = 0;
  size_t si = 0;
  while (pi < pattern.size()) {
    if (pattern[pi] == '*') {
      params->emplace_back("*", std::string(path.substr(si)));
      return pi + 1 == pattern.size();
    }
    if (pattern[pi] == '{') {
      size_t close = pattern.find('}', pi);
      if (close == std::string_view::npos) return false;
      size_t end = path.find('/', si);
      if (end == std::string_view::npos) end = path.size();
      if (end == si) return false;  // Empty segments never match a capture.
      params->emplace_back(std::string(pattern.substr(pi + 1, close - pi - 1)),
                           std::string(path.substr(si, end - si)));
      pi = close + 1;
      si = end;
      continue;
    }
    if (si >= path.size() || pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

void Router::ClaimPrefix(std::string prefix, const ErrorFormat* errors) {
  claims_.emplace_back(std::move(prefix), errors);
  std::stable_sort(claims_.begin(), claims_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match = FindRoute(method, path);
  if (match.route != nullptr) {
    match.errors = match.route->options.errors;
  } else if (match.errors == nullptr) {
    for (const auto& [prefix, errors] : claims_) {
      if (path.starts_with(prefix)) {
        match.errors = errors;
        break;
      }
    }
  }
  return match;
}

Router::Match Router::FindRoute(std::string_view method, std::string_view path) const {
  Match match;
  auto it = exact_.find(std::string(path));
  if (it != exact_.end()) {
    for (const Route* route : it->second) {
      if (route->method == method) {
        match.route = route;
        return match;
      }
      match.allowed.push_back(route->method);
      if (match.errors == nullptr) match.errors = route->options.errors;
    }
    match.method_not_allowed = true;
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (const Route* route : patterned_) {
    if (!MatchPattern(route->pattern, path, &params)) continue;
    if (route->method == method) {
      match.route = route;
      match.method_not_allowed = false;
      match.allowed.clear();
      match.params = std::move(params);
      return match;
    }
    match.method_not_allowed = true;
    match.allowed.push_back(route->method);
    if (match.errors == nullptr) match.errors = route->options.errors;
  }
  return match;
}

std::vector<const Route*> Router::routes() const {
  std::vector<const Route*> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(r.get());
  return out;
}

}  // namespace cairn::http
