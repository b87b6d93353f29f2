// RequestGuard: refuses requests that a web page in the user's browser could
// send to a server it has no business talking to. With no users configured
// (the loopback default) Cairn has no credentials to check, so without these
// checks any page the user visits could drive the API:
//
// - DNS rebinding: a page on attacker.example re-resolves its own name to
//   127.0.0.1 and talks to the server "same-origin". Its requests still carry
//   `Host: attacker.example`, so only Host values naming this server pass
//   (loopback names and private addresses by default, as MLflow 3's
//   --allowed-hosts; plus the address the server is bound to).
// - Cross-site requests: a page posts a form or a `text/plain` fetch, which
//   browsers send without asking the server first (no CORS preflight).
//   State-changing requests with a foreign `Origin` are refused (localhost
//   origins and --cors-allowed-origins pass, as in MLflow 3), and so are
//   state-changing JSON routes whose body is not declared as JSON: the three
//   content types a page may send without a preflight are exactly the
//   non-JSON ones.
// - Framing: responses carry X-Frame-Options (SAMEORIGIN by default) so no
//   other site can frame the server's pages (clickjacking).
//
// Health and version endpoints answer whatever the Host (probes and load
// balancers use raw addresses).
//
// Thread-safety: immutable after construction; Check() may run on any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/error_format.h"
#include "http/http_types.h"

namespace cairn::http {

struct RequestGuardOptions {
  bool enabled = false;
  // Host header patterns ("*" matches any run of characters; a lone "*"
  // allows every Host). Empty: DefaultAllowedHosts(bound host).
  std::vector<std::string> allowed_hosts;
  // Origins (scheme://host[:port], "*" patterns) allowed to make
  // state-changing requests besides localhost ones and the server's own.
  std::vector<std::string> cors_allowed_origins;
  // The X-Frame-Options value sent on every response; "" or "NONE" sends none.
  std::string x_frame_options = "SAMEORIGIN";
};

// Why a request was refused: the HTTP status, the reason (each protocol's
// error format words it) and a message that names the setting to change.
struct Refusal {
  int status = 403;
  LocalReason reason = LocalReason::kForbidden;
  std::string message;
};

class RequestGuard {
 public:
  // `bound_host` is the --host the server listens on; a specific address or
  // name joins the default allowed hosts.
  RequestGuard(RequestGuardOptions options, std::string_view bound_host);

  // nullopt when `request` may proceed. `json_body` is true for routes
  // whose body, if any, the protocol defines as JSON.
  std::optional<Refusal> Check(const HttpRequest& request, bool json_body) const;

  // The header to add to every response, or "" for none.
  const std::string& x_frame_options() const { return x_frame_options_; }
  bool enabled() const { return options_.enabled; }

 private:
  bool HostAllowed(std::string_view host) const;
  bool OriginAllowed(std::string_view origin, std::string_view host) const;

  RequestGuardOptions options_;
  std::string bound_host_;
  std::string x_frame_options_;
};

// Whether `host` (a Host header: name or address, optional port) is allowed
// by default, as MLflow 3's defaults mean them: localhost, loopback and
// 0.0.0.0, private (RFC 1918, RFC 4193) addresses, on any port; plus
// `bound_host` when it is a specific address or name. Addresses are parsed,
// never matched as text: "10.attacker.example" is a name, not 10/8.
bool IsDefaultAllowedHost(std::string_view host, std::string_view bound_host);

// Shell-style match where '*' stands for any run of characters (no other
// wildcards: '[' and '?' are literal, as IPv6 hosts contain them).
bool WildcardMatch(std::string_view pattern, std::string_view text);

// Splits a comma-separated flag value into trimmed, non-empty items.
std::vector<std::string> SplitCommaList(std::string_view text);

}  // namespace cairn::http
