// What the request-decoder fuzz targets share: one input drives one
// registered route, in process, without the HTTP layer. The first byte picks
// the route, the rest is its body (its query string for GET);
// each "{name}" path parameter and a trailing "*" get a prefix of it.
// Beyond "no crash", every answer must be definite: a server error (5xx other
// than 501 Not Implemented and 503 Unavailable) for a client's input aborts,
// which the fuzzer reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "http/router.h"

namespace cairn::fuzz {

inline void DriveRoute(const std::vector<const http::Route*>& routes, const uint8_t* data,
                       size_t size) {
  if (size == 0 || routes.empty()) return;
  const http::Route* route = routes[data[0] % routes.size()];
  http::HttpRequest request;
  request.method = route->method;
  request.path = route->pattern;
  std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);
  if (route->method == "GET") {
    request.query = payload;
  } else {
    request.body = payload;
    request.body_size = payload.size();
  }
  const std::string& pattern = route->pattern;
  for (size_t open = pattern.find('{'); open != std::string::npos;
       open = pattern.find('{', open + 1)) {
    size_t close = pattern.find('}', open);
    if (close == std::string::npos) break;
    request.path_params.emplace_back(pattern.substr(open + 1, close - open - 1),
                                     payload.substr(0, 34));
  }
  if (pattern.back() == '*') request.path_params.emplace_back("*", payload.substr(0, 64));
  http::HttpResponse response;
  if (route->async_handler) {
    std::promise<http::HttpResponse> answered;
    route->async_handler(request,
                         [&answered](http::HttpResponse r) { answered.set_value(std::move(r)); });
    response = answered.get_future().get();
  } else {
    response = route->handler(request);
  }
  if (response.status >= 500 && response.status != 501 && response.status != 503) {
    std::fprintf(stderr, "%s %s answered %d: %s\n", route->method.c_str(), pattern.c_str(),
                 response.status, response.body.c_str());
    std::abort();
  }
}

}  // namespace cairn::fuzz
