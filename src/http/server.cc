// Boost 1.74's Asio misses this include under C++20 with g++ 12.
#include <utility>

#include "http/server.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/env.h"
#include "core/log.h"
#include "core/mutex.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "http/request_guard.h"

namespace cairn::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
// A connection's socket runs its handlers on its own strand, named by type:
// beast::tcp_stream's type-erased executor copied a shared strand pointer
// (atomic counts) at every operation, and its per-operation timers added a
// cancelled timer completion to every read and write. Timeouts are kept by
// deadlines that the server sweeps instead (HttpServer::Impl::Sweep).
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;

namespace {

// Limits on single header fields and their number. Beast stores a field's
// name and value lengths in 16 bits and throws std::length_error past them,
// from inside the parser on an IO thread, where nothing may throw: one
// oversized header ended the process. Refusing them first keeps that
// throw unreachable; the count bounds the per-field work a request can cause
// within max_header_bytes.
constexpr size_t kMaxHeaderFieldBytes = 65'000;
constexpr size_t kMaxHeaderFields = 256;

// Why a request's framing was refused, for the answer's message. Set by
// GuardedParser, which can only report an error code through Beast.
struct FramingProblem {
  int status = 0;  // 0: none.
  std::string message;
};

// Beast's request parser with the checks its fields container lacks: field
// sizes and count (431), and Transfer-Encoding, of which only "chunked" is
// accepted (RFC 9112 6.1: a request whose final coding is not chunked has
// no reliable length and must be refused; other codings are not implemented).
// Trailer fields of a chunked body pass through the same checks.
template <typename Body>
class GuardedParser : public bhttp::request_parser<Body> {
 public:
  GuardedParser() = default;
  // Continues from a parser that has read the header (the body type changes).
  template <typename OtherBody>
  explicit GuardedParser(GuardedParser<OtherBody>&& other)
      : bhttp::request_parser<Body>(static_cast<bhttp::request_parser<OtherBody>&&>(other)),
        fields_(other.fields()),
        problem_(std::move(other.problem())) {}

  size_t fields() const { return fields_; }
  FramingProblem& problem() { return problem_; }

 private:
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code& ec) override {
    if (++fields_ > kMaxHeaderFields) {
      return Refuse(ec, bhttp::error::header_limit, 431,
                    "More than " + std::to_string(kMaxHeaderFields) + " header fields.");
    }
    if (name_string.size() > kMaxHeaderFieldBytes || value.size() > kMaxHeaderFieldBytes) {
      std::string shown(name_string.substr(0, 40));
      return Refuse(ec, bhttp::error::header_limit, 431,
                    "Header field '" + shown + "' exceeds " + std::to_string(kMaxHeaderFieldBytes) +
                        " bytes.");
    }
    if (name == bhttp::field::transfer_encoding) {
      std::string coding = AsciiLower(Trim(value));
      std::string shown(value.substr(0, 100));
      if (saw_transfer_encoding_) {
        return Refuse(ec, bhttp::error::bad_transfer_encoding, 400,
                      "Transfer-Encoding given more than once.");
      }
      bool final_chunked =
          coding.size() >= 7 && coding.compare(coding.size() - 7, 7, "chunked") == 0;
      if (!final_chunked) {
        return Refuse(ec, bhttp::error::bad_transfer_encoding, 400,
                      "Transfer-Encoding must end in chunked (RFC 9112), got '" + shown + "'.");
      }
      if (coding != "chunked") {
        return Refuse(ec, bhttp::error::bad_transfer_encoding, 501,
                      "Transfer-Encoding '" + shown +
                          "' is not supported; send the body plain or only chunked.");
      }
      saw_transfer_encoding_ = true;
    }
    // Beast's own handler is private; this is what it does.
    this->get().insert(name, name_string, value);
  }

  void Refuse(beast::error_code& ec, bhttp::error code, int status, std::string message) {
    ec = code;
    problem_.status = status;
    problem_.message = std::move(message);
  }

  size_t fields_ = 0;
  bool saw_transfer_encoding_ = false;
  FramingProblem problem_;
};

// An error from Beast's HTTP parser (as opposed to the socket): the client
// sent something that is not HTTP/1.1, and gets a 400 before the close.
bool IsParseError(const beast::error_code& ec) {
  static const auto& category = beast::error_code(bhttp::error::bad_method).category();
  return ec.category() == category && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message;
}

}  // namespace

class Session;

// One bound address: its acceptor and what requests arriving there get.
struct Listener {
  Listener(const ListenerOptions& settings, net::io_context& ioc)
      : options(settings),
        errors(settings.errors != nullptr ? settings.errors : &PlainErrorFormat::Get()),
        guard(settings.guard, settings.host),
        acceptor(ioc),
        accept_timer(ioc) {}

  const ListenerOptions options;
  const ErrorFormat* const errors;  // Never null.
  const RequestGuard guard;
  tcp::acceptor acceptor;
  net::steady_timer accept_timer;
  uint16_t bound_port = 0;
};

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, metrics::Registry* registry)
      : options_(std::move(options)),
        env_(options_.env != nullptr ? options_.env : Env::Default()) {
    in_flight_ = registry->GetGauge("cairn_http_in_flight_requests",
                                    "Requests being read, handled or written.");
    connections_ = registry->GetGauge("cairn_http_open_connections", "Open client connections.");
    for (const ListenerOptions& listener : options_.listeners) {
      listeners_.push_back(std::make_unique<Listener>(listener, ioc_));
    }
  }

  Status Start();
  void Shutdown();
  uint16_t port(size_t listener) const { return listeners_.at(listener)->bound_port; }

  const ServerOptions& options() const { return options_; }
  Env* env() const { return env_; }
  ThreadPool& workers() { return *workers_; }
  bool draining() const { return draining_.load(); }
  metrics::Gauge* in_flight() { return in_flight_; }
  std::string NewSpoolPath() { return options_.spool_dir + "/.upload-" + env_->RandomHex(12); }

  // Counts a new connection from `address` against the limits; false (and
  // nothing counted) when it would exceed them.
  bool Admit(const std::string& address);
  void AddSession(const std::shared_ptr<Session>& s);
  // Forgets the session and its connection's place in the limits.
  void RemoveSession(Session* s, const std::string& address);

 private:
  // Binds `listener`. Errors: InvalidArgument for a bad host, Unavailable
  // when the address is taken.
  Status Bind(Listener& listener);
  void DoAccept(Listener& listener);
  // Accepts again after `delay` (out of descriptors: retrying at once only
  // spins and floods the log).
  void AcceptLater(Listener& listener, std::chrono::milliseconds delay);
  void CloseAcceptors();
  void RunIoLoop();
  // Closes connections past their deadline (idle, read or write timeout),
  // once a second.
  void Sweep();

 public:
  // One sweep, now (Sweep's work; HttpServer::SweepForTest).
  void SweepOnce();

 private:
  std::vector<std::shared_ptr<Session>> LiveSessions();

  ServerOptions options_;
  Env* const env_;
  // Declared before ioc_ so they outlive it: destroying ioc_ destroys pending
  // handlers, whose sessions unregister themselves here.
  Mutex sessions_mu_;
  CondVar sessions_cv_{&sessions_mu_};
  std::unordered_set<Session*> sessions_ GUARDED_BY(sessions_mu_);
  std::vector<std::weak_ptr<Session>> session_refs_ GUARDED_BY(sessions_mu_);
  // Admitted connections, in all and per peer address.
  size_t admitted_ GUARDED_BY(sessions_mu_) = 0;
  std::unordered_map<std::string, size_t> per_address_ GUARDED_BY(sessions_mu_);
  size_t max_connections_ = 0;  // Resolved at Start from the option and the descriptor limit.
  LogLimiter accept_log_limiter_{1'000'000'000};
  LogLimiter refuse_log_limiter_{1'000'000'000};
  net::io_context ioc_;
  // Keeps the IO threads running while every live session waits on a worker
  // (during a drain the acceptor is closed and nothing else holds them).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<Listener>> listeners_;  // Destroyed before ioc_.
  net::steady_timer sweep_timer_{ioc_};
  std::vector<std::unique_ptr<Thread>> io_threads_;
  std::unique_ptr<ThreadPool> workers_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_sweeping_{false};
  bool started_ = false;
  bool stopped_ = false;
  metrics::Gauge* in_flight_;
  metrics::Gauge* connections_;
};

// One client connection. All its handlers run on its strand; the handler
// itself runs on the worker pool and posts its response back to the strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, HttpServer::Impl* server, const Listener* listener,
          std::string remote_address)
      : socket_(std::move(socket)),
        server_(server),
        listener_(listener),
        errors_(listener->errors),
        buffer_(static_cast<size_t>(server->options().max_header_bytes) + kFramingSlack),
        remote_address_(std::move(remote_address)) {}

  ~Session() {
    RemoveSpoolFile();
    server_->RemoveSession(this, remote_address_);
  }

  void Start() {
    request_.remote_address = remote_address_;  // Kept by HttpRequest::Clear.
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Called on shutdown: closes the connection if it is waiting for a request.
  void CloseIfIdle() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->socket_.shutdown(tcp::socket::shutdown_both, ec);
        self->socket_.close(ec);
      }
    });
  }

  // Called by the server's sweep: closes the connection if its deadline
  // passed; its pending read or write then fails and the session ends.
  void CloseIfExpired(int64_t now_ns) {
    int64_t deadline = deadline_ns_.load(std::memory_order_relaxed);
    if (deadline == 0 || now_ns < deadline) return;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      int64_t still = self->deadline_ns_.load(std::memory_order_relaxed);
      if (still == 0 || self->server_->env()->MonotonicNanos() < still) return;
      beast::error_code ec;
      self->socket_.shutdown(tcp::socket::shutdown_both, ec);
      self->socket_.close(ec);
    });
  }

 private:
  // The next read or write must finish within `seconds`.
  void SetDeadline(int seconds) {
    deadline_ns_.store(server_->env()->MonotonicNanos() + int64_t{seconds} * 1'000'000'000,
                       std::memory_order_relaxed);
  }

  void ReadHeader() {
    idle_ = true;
    authorized_ = false;
    request_.Clear();
    route_ = nullptr;  // A request rejected before routing must not count under the last route.
    errors_ = listener_->errors;
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<uint32_t>(server_->options().max_header_bytes));
    header_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    SetDeadline(server_->options().idle_timeout_seconds);
    bhttp::async_read_header(
        socket_, buffer_, *header_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec == bhttp::error::header_limit) {
      BeginRequest();
      FramingProblem& problem = header_parser_->problem();
      return Respond(
          Reply(431, LocalReason::kMalformed,
                problem.status != 0 ? problem.message
                                    : "Request line and headers exceed the server limit of " +
                                          std::to_string(server_->options().max_header_bytes) +
                                          " bytes; send large arguments in a POST body."),
          /*force_close=*/true);
    }
    if (IsParseError(ec)) return RefuseFraming(ec, header_parser_->problem());
    if (ec) return Close();
    BeginRequest();
    auto& header = header_parser_->get();
    keep_alive_ = header.keep_alive();
    request_.method = std::string(header.method_string());
    request_.target = std::string(header.target());
    std::string_view target = request_.target;
    size_t qmark = target.find('?');
    std::string_view raw_path = target.substr(0, qmark);
    if (qmark != std::string_view::npos) request_.query = std::string(target.substr(qmark + 1));
    PercentDecode(raw_path, &request_.path, /*plus_is_space=*/false);
    for (const auto& field : header) {
      request_.headers.emplace_back(AsciiLower(field.name_string()), std::string(field.value()));
    }

    Router::Match match = listener_->options.router->Find(request_.method, request_.path);
    route_ = match.route;
    if (match.errors != nullptr) errors_ = match.errors;
    if (route_ != nullptr) {
      request_.path_params = std::move(match.params);
    } else {
      not_found_status_ = match.method_not_allowed ? 405 : 404;
      allowed_methods_.clear();
      for (const std::string& m : match.allowed) {
        if (allowed_methods_.find(m) != std::string::npos) continue;
        allowed_methods_ += (allowed_methods_.empty() ? "" : ", ") + m;
      }
    }

    bool spool = route_ != nullptr && route_->options.body_mode == BodyMode::kSpoolToFile;
    uint64_t limit =
        spool ? server_->options().max_upload_bytes : server_->options().max_body_bytes;
    auto content_length = header_parser_->content_length();
    if (content_length && *content_length > limit) {
      unread_body_ = true;
      return Respond(Reply(413, LocalReason::kTooLarge,
                           "Request body of " + std::to_string(*content_length) +
                               " bytes exceeds the limit of " + std::to_string(limit) + " bytes."),
                     /*force_close=*/true);
    }
    if (!spool) return ContinueToBody(spool, limit);
    // An upload may be gigabytes: who sends it is checked before a byte of
    // it is stored, so a refused client cannot fill the spool folder.
    deadline_ns_.store(0, std::memory_order_relaxed);
    Authorize(/*before_body=*/true, [self = shared_from_this(), spool, limit] {
      self->authorized_ = true;
      self->SetDeadline(self->server_->options().io_timeout_seconds);
      self->ContinueToBody(spool, limit);
    });
  }

  void ContinueToBody(bool spool, uint64_t limit) {
    if (ExpectsContinue()) {
      continue_response_.emplace(bhttp::status::continue_, header_parser_->get().version());
      bhttp::async_write(socket_, *continue_response_,
                         [self = shared_from_this(), spool, limit](beast::error_code ec2, size_t) {
                           if (ec2) return self->Close();
                           self->ReadBody(spool, limit);
                         });
      return;
    }
    ReadBody(spool, limit);
  }

  void ReadBody(bool spool, uint64_t limit) {
    SetDeadline(server_->options().io_timeout_seconds);
    // Beast reads at most the buffer's free capacity per call, and the
    // buffer only grows when the header needs it: a 150 kB log-batch body was
    // read 500 bytes at a time, 300 recvmsg calls per request. Room for a
    // whole socket read (beast's 64 kB cap) makes it a few calls.
    constexpr size_t kBodyReadSize = 64 * 1024;
    // A chunked body (no length) may be anything: assume large.
    uint64_t expected = header_parser_->content_length().value_or(kBodyReadSize);
    if (expected > buffer_.capacity() - buffer_.size()) {
      // Within the buffer's limit: reserve() past max_size() throws.
      buffer_.reserve(std::min<uint64_t>(
          buffer_.size() + std::min<uint64_t>(expected, kBodyReadSize), buffer_.max_size()));
    }
    if (spool) {
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(limit);
      spool_path_ = server_->NewSpoolPath();
      beast::error_code ec;
      file_parser_->get().body().open(spool_path_.c_str(), beast::file_mode::write, ec);
      if (ec) {
        LogError("cannot open upload spool file", {{"path", spool_path_}, {"error", ec.message()}});
        spool_path_.clear();
        return Respond(
            Reply(500, LocalReason::kInternal, "Cannot store the upload: " + ec.message()), true);
      }
      bhttp::async_read(
          socket_, buffer_, *file_parser_,
          [self = shared_from_this()](beast::error_code ec2, size_t) { self->OnBody(ec2); });
    } else {
      string_parser_.emplace(std::move(*header_parser_));
      string_parser_->body_limit(limit);
      bhttp::async_read(
          socket_, buffer_, *string_parser_,
          [self = shared_from_this()](beast::error_code ec2, size_t) { self->OnBody(ec2); });
    }
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      unread_body_ = true;
      return Respond(Reply(413, LocalReason::kTooLarge, "Request body exceeds the server limit."),
                     true);
    }
    if (IsParseError(ec)) {
      return RefuseFraming(ec, file_parser_ ? file_parser_->problem() : string_parser_->problem());
    }
    if (ec) return Close();
    if (file_parser_) {
      file_parser_->get().body().close();
      request_.body_file = spool_path_;
      std::error_code size_ec;  // Never the throwing overload on an IO thread.
      request_.body_size = std::filesystem::file_size(spool_path_, size_ec);
      if (size_ec) request_.body_size = 0;
      file_parser_.reset();
    } else {
      request_.body = std::move(string_parser_->get().body());
      request_.body_size = request_.body.size();
      string_parser_.reset();
    }
    Dispatch();
  }

  // Answers a request whose HTTP framing is broken with a 400 (or the status
  // the parser chose) and closes: what follows on the connection cannot be
  // told apart from the rest of the broken request, so serving it would let
  // one request smuggle another past the checks.
  void RefuseFraming(const beast::error_code& ec, const FramingProblem& problem) {
    if (!in_request_) BeginRequest();
    unread_body_ = true;  // The rest of it may still be arriving: linger, then close.
    int status = problem.status != 0 ? problem.status : 400;
    std::string message =
        problem.status != 0 ? problem.message
        : ec == bhttp::error::buffer_overflow
            ? "Request framing (a chunk-size line with its extensions, or the trailers) "
              "exceeds " +
                  std::to_string(buffer_.max_size()) + " bytes."
            : "Malformed HTTP request: " + ec.message() + ".";
    LocalReason reason = status == 413 ? LocalReason::kTooLarge : LocalReason::kMalformed;
    Respond(Reply(status, reason, message), /*force_close=*/true);
  }

  // Authenticates, then runs the route. A credential check that must block
  // (password hashing, a token read) moves to the worker pool first.
  void Dispatch() {
    // No deadline while the handler works: a timeout bounds the client's
    // reads and writes, not how long an answer may take (a materialization
    // may run for many minutes). Respond sets the next one.
    deadline_ns_.store(0, std::memory_order_relaxed);
    if (route_ == nullptr || authorized_) return Run();  // An upload was checked before its body.
    Authorize(/*before_body=*/false, [self = shared_from_this()] { self->Run(); });
  }

  // The client may be sending a body we will not read: linger before the
  // close (see LingerAndClose). Not when it waits for a 100 Continue it
  // never got: then no body comes.
  void MarkBodyUnread() {
    if (!ExpectsContinue()) unread_body_ = true;
  }

  bool ExpectsContinue() const {
    return EqualsIgnoreCase(request_.Header("expect"), "100-continue");
  }

  // Runs the request guard, then authentication, then `then` on the strand.
  // A refusal is answered here; `before_body` when the body is still unread
  // (the connection then closes after a linger, as for a 413).
  // REQUIRES: route_ != nullptr.
  template <typename Then>
  void Authorize(bool before_body, Then then) {
    bool json_body = route_->options.body_mode == BodyMode::kBuffered && route_->options.json_body;
    auto refuse = [this, before_body](HttpResponse response) {
      if (before_body) MarkBodyUnread();
      Respond(std::move(response), before_body);
    };
    if (std::optional<Refusal> refused = listener_->guard.Check(request_, json_body)) {
      return refuse(Reply(*refused));
    }
    Authenticator* auth = listener_->options.authenticator;
    if (auth == nullptr || route_->options.is_public) return then();
    Status error;
    switch (auth->AuthenticateFast(request_, &error)) {
      case Authenticator::Result::kAuthenticated:
        return then();
      case Authenticator::Result::kRejected:
        return refuse(Unauthenticated(error));
      case Authenticator::Result::kNeedsBlocking:
        break;
    }
    server_->workers().Post([self = shared_from_this(), auth, before_body, then] {
      Status checked = auth->AuthenticateBlocking(self->request_);
      net::post(self->socket_.get_executor(), [self, checked, before_body, then]() {
        if (checked.ok()) return then();
        if (before_body) self->MarkBodyUnread();
        self->Respond(self->Unauthenticated(checked), before_body);
      });
    });
  }

  // 401 with the challenge; 429 when the authenticator is too busy to check
  // (password hashing is bounded): a retry soon succeeds, the client's
  // credentials may be fine.
  HttpResponse Unauthenticated(const Status& error) const {
    if (error.code() == StatusCode::kResourceExhausted) {
      HttpResponse busy = Reply(429, LocalReason::kOverloaded, error.message());
      busy.headers.emplace_back("Retry-After", "1");
      return busy;
    }
    HttpResponse response = Reply(401, LocalReason::kUnauthenticated, error.message());
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"cairn\"");
    return response;
  }

  void Run() {
    if (route_ == nullptr) {
      if (std::optional<Refusal> refused = listener_->guard.Check(request_, false)) {
        return Respond(Reply(*refused), false);
      }
      bool wrong_method = not_found_status_ == 405;
      HttpResponse response = Reply(
          not_found_status_, wrong_method ? LocalReason::kMethodNotAllowed : LocalReason::kNoRoute,
          wrong_method ? "Method " + request_.method + " is not allowed for " + request_.path +
                             "; use " + allowed_methods_
                       : "No endpoint at " + request_.path);
      if (not_found_status_ == 405) response.headers.emplace_back("Allow", allowed_methods_);
      return Respond(std::move(response), false);
    }
    if (route_->async_handler) {
      // On a worker for a request with a user when the route asks so (its
      // access checks read the store), else here.
      if (route_->options.execution == Execution::kInlineWhenOpen && !request_.user.empty()) {
        server_->workers().Post([self = shared_from_this()] { self->RunAsyncHandler(); });
        return;
      }
      return RunAsyncHandler();
    }
    if (route_->options.execution == Execution::kInline ||
        (route_->options.execution == Execution::kInlineWhenOpen && request_.user.empty())) {
      return Respond(RunHandler(), false);
    }
    server_->workers().Post([self = shared_from_this()] {
      HttpResponse response = self->RunHandler();
      net::post(self->socket_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Respond(std::move(response), false);
      });
    });
  }

  void RunAsyncHandler() {
    auto self = shared_from_this();
    // dispatch, not post: a handler that answers at once (a bad request, or
    // a write the idle store committed inline) answers on this strand
    // without queueing, which would wake the other IO thread for it.
    // Set by the first answer: a handler that answers and then throws
    // must not get a second response written over the first.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, answered](HttpResponse response) {
      if (answered->exchange(true)) return;
      net::dispatch(self->socket_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Respond(std::move(response), false);
      });
    };
    try {
      route_->async_handler(request_, std::move(respond));
    } catch (...) {
      // Handlers must not throw; if one does before answering, answer for it.
      LogError("async handler threw", {{"route", route_->pattern}});
      if (!answered->exchange(true)) {
        // Through the strand: this may run on a worker.
        net::dispatch(self->socket_.get_executor(), [self] {
          self->Respond(self->Reply(500, LocalReason::kInternal,
                                    "Internal error in " + self->route_->pattern),
                        true);
        });
      }
    }
  }

  HttpResponse RunHandler() {
    try {
      return route_->handler(request_);
    } catch (const std::exception& e) {
      // Handlers must not throw; this is the last line of defence.
      LogError("handler threw", {{"route", route_->pattern}, {"error", e.what()}});
      return Reply(500, LocalReason::kInternal, std::string("Internal error: ") + e.what());
    } catch (...) {
      LogError("handler threw a non-std exception", {{"route", route_->pattern}});
      return Reply(500, LocalReason::kInternal, "Internal error");
    }
  }

  // An answer the server gives itself, in the shape of the protocol the
  // request was meant for.
  HttpResponse Reply(int status, LocalReason reason, std::string_view message) const {
    return errors_->Local(status, reason, message);
  }
  HttpResponse Reply(const Refusal& refused) const {
    return Reply(refused.status, refused.reason, refused.message);
  }

  void BeginRequest() {
    started_ns_ = server_->env()->MonotonicNanos();
    server_->in_flight()->Add(1);
    in_request_ = true;
  }

  void Respond(HttpResponse response, bool force_close) {
    RemoveSpoolFile();
    bool keep_alive = keep_alive_ && !force_close && !server_->draining();
    response_status_ = response.status;
    SetDeadline(server_->options().io_timeout_seconds);
    if (!response.body_file.empty()) {
      file_response_.emplace();
      auto& res = *file_response_;
      beast::error_code ec;
      // Never through a symlink: a handler checked the path it names, and a
      // link swapped in since must not send another file.
      int fd = ::open(response.body_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        ec = beast::error_code(errno, beast::system_category());
      } else {
        beast::file file;
        file.native_handle(fd);
        res.body().reset(std::move(file), ec);
      }
      if (ec) {
        file_response_.reset();
        return Respond(Reply(404, LocalReason::kMissingFile, "Cannot open the file to send"),
                       force_close);
      }
      FillHeaders(res, response, keep_alive);
      res.prepare_payload();
      bhttp::async_write(socket_, res,
                         [self = shared_from_this(), keep_alive](beast::error_code ec2, size_t) {
                           self->OnWrite(ec2, keep_alive);
                         });
    } else {
      // The head is formatted here into a buffer kept across requests, and
      // goes out with the body in one gathered write: Beast's fields and
      // serializer cost an allocation per header and a buffer walk per write.
      response_body_ = std::move(response.body);
      if (response.status >= 400) Redact(&response_body_);
      FormatHead(response, response_body_.size(), keep_alive, listener_->guard.x_frame_options(),
                 &response_head_);
      std::array<net::const_buffer, 2> buffers = {net::buffer(response_head_),
                                                  net::buffer(response_body_)};
      net::async_write(socket_, buffers,
                       [self = shared_from_this(), keep_alive](beast::error_code ec2, size_t) {
                         self->OnWrite(ec2, keep_alive);
                       });
    }
  }

  static void FormatHead(const HttpResponse& response, size_t body_size, bool keep_alive,
                         std::string_view x_frame_options, std::string* out) {
    out->assign("HTTP/1.1 ");
    out->append(std::to_string(response.status));
    out->push_back(' ');
    std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
    out->append(reason.data(), reason.size());
    out->append("\r\nServer: cairn\r\nContent-Type: ");
    out->append(response.content_type);
    if (!x_frame_options.empty()) {
      out->append("\r\nX-Frame-Options: ");
      out->append(x_frame_options);
    }
    for (const auto& [name, value] : response.headers) {
      out->append("\r\n");
      out->append(name);
      out->append(": ");
      out->append(value);
    }
    out->append("\r\nContent-Length: ");
    out->append(std::to_string(body_size));
    out->append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  }

  template <typename Response>
  void FillHeaders(Response& res, const HttpResponse& response, bool keep_alive) {
    res.result(static_cast<unsigned>(response.status));
    res.version(11);
    res.set(bhttp::field::server, "cairn");
    res.set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.set(name, value);
    const std::string& frame_options = listener_->guard.x_frame_options();
    if (!frame_options.empty()) res.set(bhttp::field::x_frame_options, frame_options);
    res.keep_alive(keep_alive);
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    FinishRequest();
    response_body_.clear();
    file_response_.reset();
    if (ec || !keep_alive) return unread_body_ && !ec ? LingerAndClose() : Close();
    ReadHeader();
  }

  // After refusing a body the client is still sending (413): closing a socket
  // with unread data makes the kernel answer with a reset, which can destroy
  // our response before the client reads it, and the client then sees a
  // broken connection (and retries) instead of the 413. So stop sending, read
  // and drop what still comes, a bounded amount for a bounded time, then close.
  void LingerAndClose() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    SetDeadline(kLingerSeconds);
    linger_buffer_.resize(64 * 1024);
    Linger();
  }

  void Linger() {
    socket_.async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_bytes_ += n;
                              if (ec || self->lingered_bytes_ > kMaxLingerBytes)
                                return self->Close();
                              self->Linger();
                            });
  }

  void FinishRequest() {
    if (!in_request_) return;
    in_request_ = false;
    server_->in_flight()->Add(-1);
    double seconds = static_cast<double>(server_->env()->MonotonicNanos() - started_ns_) / 1e9;
    const Route& metric_route =
        route_ != nullptr ? *route_ : listener_->options.router->unmatched();
    metric_route.RecordResponse(response_status_, seconds);
  }

  void Close() {
    if (in_request_) {
      in_request_ = false;
      server_->in_flight()->Add(-1);
    }
    deadline_ns_.store(0, std::memory_order_relaxed);
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  void Redact(std::string* body) const {
    for (const auto& [secret, shown] : server_->options().redactions) {
      if (secret.empty()) continue;
      for (size_t at = body->find(secret); at != std::string::npos;
           at = body->find(secret, at + shown.size())) {
        body->replace(at, secret.size(), shown);
      }
    }
  }

  void RemoveSpoolFile() {
    if (spool_path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove(spool_path_, ec);  // Gone already if the handler renamed it.
    spool_path_.clear();
  }

  Socket socket_;
  HttpServer::Impl* server_;
  const Listener* const listener_;
  // The error shape for this request: the listener's until routing names one.
  const ErrorFormat* errors_;
  // When the pending read or write times out (monotonic ns; 0 = none). Set
  // on the strand, read by the sweep on any thread.
  std::atomic<int64_t> deadline_ns_{0};
  // What the socket delivered and the parser has not consumed yet: a header
  // (up to max_header_bytes), or framing the parser must see whole before it
  // moves on (a chunk-size line with its extensions, a trailer section).
  // Bounded, or one connection streaming a chunk extension without an end
  // grows it until memory runs out; past the bound the parser fails with
  // buffer_overflow, a 400. Body bytes are moved out as they are parsed.
  static constexpr size_t kFramingSlack = 128 * 1024;
  beast::flat_buffer buffer_;
  std::optional<GuardedParser<bhttp::empty_body>> header_parser_;
  std::optional<GuardedParser<bhttp::string_body>> string_parser_;
  std::optional<GuardedParser<bhttp::file_body>> file_parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_response_;
  std::string response_head_;  // capacity reused by every response
  std::string response_body_;
  std::optional<bhttp::response<bhttp::file_body>> file_response_;
  HttpRequest request_;
  const Route* route_ = nullptr;
  static constexpr int kLingerSeconds = 5;
  static constexpr uint64_t kMaxLingerBytes = 256ull << 20;
  bool unread_body_ = false;  // We answered before reading the whole body.
  bool authorized_ = false;   // This request passed the guard and authentication already.
  std::vector<char> linger_buffer_;
  uint64_t lingered_bytes_ = 0;
  int not_found_status_ = 404;
  std::string allowed_methods_;  // For a 405: "GET, POST".
  int response_status_ = 0;
  bool keep_alive_ = false;
  bool idle_ = true;
  bool in_request_ = false;
  int64_t started_ns_ = 0;
  std::string spool_path_;
  const std::string remote_address_;  // The peer's IP address, text form.
};

Status HttpServer::Impl::Bind(Listener& listener) {
  const ListenerOptions& options = listener.options;
  beast::error_code ec;
  auto address = net::ip::make_address(options.host, ec);
  if (ec) {
    // A name ("localhost", a host name of this machine): bind its first address.
    tcp::resolver resolver(ioc_);
    auto found =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || found.empty()) {
      return InvalidArgument("Invalid host '" + options.host + "' for the " + options.name +
                             " listener: not an IP address or a name of this machine (" +
                             ec.message() + ")");
    }
    address = found.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options.port);
  tcp::acceptor& acceptor = listener.acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("Cannot listen on " + options.host + ":" + std::to_string(options.port) +
                       " for the " + options.name + " listener: " + ec.message() +
                       " (is another server running? pick another port)");
  }
  listener.bound_port = acceptor.local_endpoint().port();
  return Status::Ok();
}

void HttpServer::Impl::CloseAcceptors() {
  for (auto& listener : listeners_) {
    beast::error_code ec;
    listener->acceptor.close(ec);
  }
}

Status HttpServer::Impl::Start() {
  if (listeners_.empty()) return InvalidArgument("The HTTP server needs at least one listener");
  for (auto& listener : listeners_) {
    Status bound =
        listener->options.router == nullptr
            ? InvalidArgument("The " + listener->options.name + " listener has no routes")
            : Bind(*listener);
    if (!bound.ok()) {
      CloseAcceptors();
      return bound;
    }
  }
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int io_threads = options_.io_threads > 0 ? options_.io_threads : cores;
  int worker_threads = options_.worker_threads > 0 ? options_.worker_threads : 16 * cores;
  StatusOr<std::unique_ptr<ThreadPool>> workers =
      ThreadPool::Start(env_, worker_threads, "http-worker");
  if (!workers.ok()) {
    CloseAcceptors();
    return workers.status();
  }
  workers_ = std::move(*workers);
  // Every connection holds a descriptor: stay below the process's limit,
  // keeping room for the stores' files, so that running out shows as refused
  // connections rather than failed commits.
  constexpr size_t kReservedDescriptors = 256;
  rlimit files{};
  size_t by_descriptors = std::numeric_limits<size_t>::max();
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    by_descriptors = files.rlim_cur > 2 * kReservedDescriptors
                         ? static_cast<size_t>(files.rlim_cur) - kReservedDescriptors
                         : static_cast<size_t>(files.rlim_cur) / 2;
  }
  max_connections_ = options_.max_connections > 0
                         ? std::min<size_t>(options_.max_connections, by_descriptors)
                         : by_descriptors;
  for (auto& listener : listeners_) DoAccept(*listener);
  Sweep();
  work_.emplace(ioc_.get_executor());
  for (int i = 0; i < io_threads; ++i) {
    StatusOr<std::unique_ptr<Thread>> thread =
        env_->StartThread("http-io-" + std::to_string(i), [this] { RunIoLoop(); });
    if (!thread.ok()) {
      work_.reset();
      ioc_.stop();
      for (auto& t : io_threads_) t->Join();
      io_threads_.clear();
      CloseAcceptors();
      workers_.reset();
      return thread.status();
    }
    io_threads_.push_back(std::move(*thread));
  }
  started_ = true;
  return Status::Ok();
}

// Nothing thrown on an IO thread may end the process: Asio lets a handler's
// exception out of run(), and run() may simply be called again. Handlers are
// written not to throw; this is the last line of defence, and the session
// whose handler threw is dropped (its connection closes).
void HttpServer::Impl::RunIoLoop() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      LogError("an IO handler threw; its connection is closed", {{"error", e.what()}});
    } catch (...) {
      LogError("an IO handler threw a non-std exception; its connection is closed");
    }
  }
}

void HttpServer::Impl::DoAccept(Listener& listener) {
  listener.acceptor.async_accept(net::make_strand(ioc_), [this, &listener](beast::error_code ec,
                                                                           Socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !listener.acceptor.is_open()) return;
      uint64_t suppressed = 0;
      if (accept_log_limiter_.Allow(env_->MonotonicNanos(), &suppressed)) {
        LogWarn("accept failed; pausing before the next accept",
                {{"listener", listener.options.name},
                 {"error", ec.message()},
                 {"suppressed_repeats", suppressed}});
      }
      bool out_of_descriptors = ec == net::error::no_descriptors || ec.value() == ENFILE ||
                                ec == net::error::no_buffer_space || ec == net::error::no_memory;
      return AcceptLater(listener, std::chrono::milliseconds(out_of_descriptors ? 250 : 10));
    }
    beast::error_code peer_ec;
    tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    std::string address = peer_ec ? std::string("unknown") : peer.address().to_string();
    if (!Admit(address)) {
      uint64_t suppressed = 0;
      if (refuse_log_limiter_.Allow(env_->MonotonicNanos(), &suppressed)) {
        LogWarn(
            "connection refused: too many open connections (max_connections, "
            "max_connections_per_address)",
            {{"peer", address}, {"suppressed_repeats", suppressed}});
      }
      beast::error_code close_ec;
      socket.close(close_ec);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      auto session =
          std::make_shared<Session>(std::move(socket), this, &listener, std::move(address));
      AddSession(session);
      session->Start();
    }
    if (!draining_) DoAccept(listener);
  });
}

void HttpServer::Impl::AcceptLater(Listener& listener, std::chrono::milliseconds delay) {
  listener.accept_timer.expires_after(delay);
  listener.accept_timer.async_wait([this, &listener](beast::error_code ec) {
    if (!ec && !draining_ && listener.acceptor.is_open()) DoAccept(listener);
  });
}

bool HttpServer::Impl::Admit(const std::string& address) {
  MutexLock lock(&sessions_mu_);
  if (admitted_ >= max_connections_) return false;
  size_t& from_address = per_address_[address];
  if (options_.max_connections_per_address > 0 &&
      from_address >= options_.max_connections_per_address) {
    if (from_address == 0) per_address_.erase(address);
    return false;
  }
  ++from_address;
  ++admitted_;
  return true;
}

void HttpServer::Impl::Sweep() {
  SweepOnce();
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](beast::error_code ec) {
    if (!ec && !stopped_sweeping_) Sweep();
  });
}

void HttpServer::Impl::SweepOnce() {
  int64_t now = env_->MonotonicNanos();
  for (const std::shared_ptr<Session>& s : LiveSessions()) s->CloseIfExpired(now);
}

std::vector<std::shared_ptr<Session>> HttpServer::Impl::LiveSessions() {
  std::vector<std::shared_ptr<Session>> live;
  MutexLock lock(&sessions_mu_);
  live.reserve(sessions_.size());
  for (auto& weak : session_refs_) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  return live;
}

void HttpServer::Impl::AddSession(const std::shared_ptr<Session>& s) {
  MutexLock lock(&sessions_mu_);
  sessions_.insert(s.get());
  session_refs_.push_back(s);
  if (session_refs_.size() > 2 * sessions_.size() + 64) {
    std::erase_if(session_refs_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  }
  connections_->Set(static_cast<double>(sessions_.size()));
}

void HttpServer::Impl::RemoveSession(Session* s, const std::string& address) {
  MutexLock lock(&sessions_mu_);
  sessions_.erase(s);
  --admitted_;
  if (auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0) {
    per_address_.erase(it);
  }
  connections_->Set(static_cast<double>(sessions_.size()));
  sessions_cv_.SignalAll();
}

void HttpServer::Impl::Shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  draining_ = true;
  net::post(ioc_, [this] { CloseAcceptors(); });
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options_.drain_timeout_seconds);
  size_t left = 0;
  for (;;) {
    // Collect live sessions under the lock but close them outside it: dropping
    // the last reference runs ~Session, which takes the lock itself.
    {
      MutexLock lock(&sessions_mu_);
      left = sessions_.size();
      if (left == 0 || std::chrono::steady_clock::now() >= deadline) break;
    }
    std::vector<std::shared_ptr<Session>> live = LiveSessions();
    for (auto& s : live) s->CloseIfIdle();
    live.clear();
    MutexLock lock(&sessions_mu_);
    sessions_cv_.WaitFor(std::chrono::milliseconds(50));
  }
  if (left > 0) LogWarn("drain timeout; closing busy connections", {{"connections", left}});
  stopped_sweeping_ = true;
  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t->Join();
  // The close posted above may not have run before stop().
  CloseAcceptors();
  workers_.reset();  // Runs what is queued; responses posted to a stopped loop are dropped.
}

HttpServer::HttpServer(ServerOptions options, metrics::Registry* registry)
    : impl_(std::make_unique<Impl>(std::move(options), registry)) {}
HttpServer::~HttpServer() { Shutdown(); }
Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port(size_t listener) const { return impl_->port(listener); }
void HttpServer::Shutdown() { impl_->Shutdown(); }
void HttpServer::SweepForTest() { impl_->SweepOnce(); }

}  // namespace cairn::http
