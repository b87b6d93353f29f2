// HttpRequest and HttpResponse: the plain values handlers see. No Boost here,
// so components that register routes do not pay for Beast's headers.
//
// Thread-safety: values; a request belongs to one handler invocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::http {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // As sent: path plus optional "?query".
  std::string path;    // Percent-decoded path, no query.
  std::string query;   // Raw query string after '?', not decoded.
  // Header names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body, for routes with buffered bodies.
  std::string body;
  // For routes that spool their body to disk: the temporary file holding it.
  // The handler may rename it into place; otherwise it is removed afterwards.
  std::string body_file;
  uint64_t body_size = 0;
  // Values captured by "{name}" and trailing "*" segments of the route pattern,
  // in pattern order ("*" is captured under the name "*").
  std::vector<std::pair<std::string, std::string>> path_params;
  // Who sent it, once the server's Authenticator accepted it (empty when the
  // server runs without authentication), and that user's role name.
  std::string user;
  std::string role;
  // The peer's IP address in text form ("127.0.0.1", "::1"), set by the
  // server; the authenticator throttles failed logins per address with it.
  // A property of the connection, so Clear() keeps it.
  std::string remote_address;

  // Empties every field, keeping the strings' and lists' capacity for the
  // next request on the connection. A field added above must be reset here.
  void Clear();

  // The first header with that (lower-case) name, or "" if absent.
  std::string_view Header(std::string_view lower_name) const;
  // The captured path parameter, or "" if absent.
  std::string_view PathParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // If non-empty, the body is streamed from this file instead of `body`.
  std::string body_file;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
  }
};

// Percent-decodes `in` ('+' becomes a space when `plus_is_space`). Returns
// false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space);

// Splits an application/x-www-form-urlencoded query into decoded key/value
// pairs, in order, keeping repeated keys. Malformed escapes are kept verbatim.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace cairn::http
