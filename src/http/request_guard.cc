#include "http/request_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/strings.h"

namespace cairn::http {

namespace {

bool IsStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// The host part of "host[:port]" or "[v6]:port", lower-cased.
std::string HostName(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return AsciiLower(
        authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return AsciiLower(authority.substr(0, authority.find(':')));
}

bool IsLoopbackName(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

bool IsWildcardBind(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

// The host part of a Host header, lower-cased, without brackets or port.
std::string BareHost(std::string_view host) {
  std::string name = HostName(host);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  return name;
}

bool IsLocalOrPrivateAddress(const std::string& text) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) ||
           (a >> 16) == (192u << 8 | 168) || a == 0;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    static const in6_addr kLoopback = IN6ADDR_LOOPBACK_INIT;
    return std::memcmp(&v6, &kLoopback, sizeof(v6)) == 0 || (v6.s6_addr[0] & 0xfe) == 0xfc;
  }
  return false;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Greedy match with backtracking to the last '*': linear in practice for
  // the short patterns used here.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> SplitCommaList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = Trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool IsDefaultAllowedHost(std::string_view host, std::string_view bound_host) {
  std::string name = BareHost(host);
  if (name.empty()) return false;
  if (name == "localhost" || IsLocalOrPrivateAddress(name)) return true;
  if (IsWildcardBind(bound_host)) return false;
  // --host is an address or a name, an IPv6 address without brackets.
  bool bare_v6 = bound_host.find(':') != bound_host.rfind(':') && bound_host.front() != '[';
  return name == (bare_v6 ? AsciiLower(bound_host) : BareHost(bound_host));
}

RequestGuard::RequestGuard(RequestGuardOptions options, std::string_view bound_host)
    : options_(std::move(options)), bound_host_(bound_host) {
  for (std::string& host : options_.allowed_hosts) host = AsciiLower(host);
  if (options_.x_frame_options != "NONE") x_frame_options_ = options_.x_frame_options;
  if (!options_.enabled) x_frame_options_.clear();
}

bool RequestGuard::HostAllowed(std::string_view host) const {
  if (host.empty()) return false;
  if (options_.allowed_hosts.empty()) return IsDefaultAllowedHost(host, bound_host_);
  std::string lower = AsciiLower(host);
  return std::any_of(options_.allowed_hosts.begin(), options_.allowed_hosts.end(),
                     [&](const std::string& pattern) { return WildcardMatch(pattern, lower); });
}

bool RequestGuard::OriginAllowed(std::string_view origin, std::string_view host) const {
  size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // "null" and other opaque origins.
  std::string_view authority = origin.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  if (IsLoopbackName(HostName(authority))) return true;
  // The server's own pages (a UI served from here) post to it same-origin;
  // the Host they name has passed HostAllowed already.
  if (EqualsIgnoreCase(authority, host)) return true;
  std::string lower_origin = AsciiLower(origin);
  return std::any_of(options_.cors_allowed_origins.begin(), options_.cors_allowed_origins.end(),
                     [&](const std::string& pattern) {
                       return pattern == "*" || WildcardMatch(AsciiLower(pattern), lower_origin);
                     });
}

std::optional<Refusal> RequestGuard::Check(const HttpRequest& request, bool json_body) const {
  if (!options_.enabled) return std::nullopt;
  std::string_view host = Trim(request.Header("host"));
  bool health = request.path == "/health" || request.path == "/version";
  if (!health && !HostAllowed(host)) {
    return Refusal{403, LocalReason::kForbidden,
                   "Invalid Host header '" + std::string(host.substr(0, 200)) +
                       "' - possible DNS rebinding attack detected. If this server is reached "
                       "under that name, add it to --allowed-hosts (CAIRN_ALLOWED_HOSTS)."};
  }
  if (!IsStateChanging(request.method)) return std::nullopt;
  std::string_view origin = Trim(request.Header("origin"));
  if (!origin.empty() && !OriginAllowed(origin, host)) {
    return Refusal{403, LocalReason::kForbidden,
                   "Cross-origin request blocked: Origin '" + std::string(origin.substr(0, 200)) +
                       "' may not change this server. To allow a web application there, add "
                       "its origin to --cors-allowed-origins (CAIRN_CORS_ALLOWED_ORIGINS)."};
  }
  if (!json_body) return std::nullopt;
  std::string_view content_type = request.Header("content-type");
  if (content_type.empty() && request.body_size == 0) return std::nullopt;
  std::string media = AsciiLower(Trim(content_type.substr(0, content_type.find(';'))));
  bool is_json = media == "application/json" ||
                 (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0);
  if (!is_json) {
    return Refusal{400, LocalReason::kInvalidRequest,
                   content_type.empty()
                       ? "Bad Request. Content-Type header is missing: send the JSON body with "
                         "Content-Type: application/json."
                       : "Bad Request. Content-Type must be application/json, got '" +
                             std::string(content_type.substr(0, 100)) + "'."};
  }
  return std::nullopt;
}

}  // namespace cairn::http
