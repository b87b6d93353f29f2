// http_load: POSTs JSON bodies over keep-alive connections, either as fast as
// the server answers (closed loop, as wrk does) or at a fixed request rate
// (open loop), and reports throughput and latency.
//
//   http_load --port P --path /get-online-features --bodies FILE
//             [--connections 32] [--seconds 10] [--rate R] [--threads 1]
//             [--header "Name: value"]...
//
// FILE holds one request body per line; requests take them in turn.
// Prints one JSON line:
//   {"requests":N,"requests_per_second":R,"p50_ms":..,"p90_ms":..,"p99_ms":..,
//    "p999_ms":..,"max_ms":..,"errors":E}
// and exits 1 if any answer is not a 2xx.
//
// Why both loops: in a closed loop of C connections, latency is C divided by
// throughput (Little's law), so its p99 mostly restates the request rate the
// two cores can reach. With --rate, each request has a due time; latency is
// measured from it, so a request that waited for a free connection (the
// server fell behind) counts its wait, as wrk2 measures ("coordinated
// omission" corrected). That answers "at R requests/s, what is p99?".
// Requests leave in 100 us ticks, so a latency may include up to 100 us the
// client itself added.
//
// Why not wrk: Debian's wrk has no fixed-rate mode, and its Lua request()
// hook costs the load generator CPU the server would otherwise use on a
// 2-core machine. One thread here runs every connection from one epoll loop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "load_client.h"

namespace {

using cairn::bench::ConnectLoopback;
using cairn::bench::Fail;
using cairn::bench::ResponseLength;
using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::microseconds(100);

struct Options {
  int port = 0;
  std::string path;
  std::string bodies_file;
  int connections = 32;
  int seconds = 10;
  double rate = 0;  // requests/s over all threads; 0 = closed loop
  int threads = 1;
  std::vector<std::string> headers;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) Fail("flag " + std::string(flag) + " needs a value");
    std::string value = argv[++i];
    if (flag == "--port") {
      options.port = std::atoi(value.c_str());
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--bodies") {
      options.bodies_file = value;
    } else if (flag == "--connections") {
      options.connections = std::atoi(value.c_str());
    } else if (flag == "--seconds") {
      options.seconds = std::atoi(value.c_str());
    } else if (flag == "--rate") {
      options.rate = std::atof(value.c_str());
    } else if (flag == "--threads") {
      options.threads = std::atoi(value.c_str());
    } else if (flag == "--header") {
      options.headers.push_back(value);
    } else {
      Fail("unknown flag " + std::string(flag));
    }
  }
  if (options.port <= 0) Fail("--port is required");
  if (options.path.empty()) Fail("--path is required");
  if (options.bodies_file.empty()) Fail("--bodies is required (one JSON body per line)");
  if (options.threads < 1 || options.connections < options.threads) {
    Fail("--threads must be at least 1 and at most --connections");
  }
  return options;
}

// Every request, formatted once: the loop only copies bytes to sockets.
std::vector<std::string> LoadRequests(const Options& options) {
  std::ifstream in(options.bodies_file);
  if (!in) Fail("cannot read " + options.bodies_file);
  std::vector<std::string> requests;
  std::string body;
  while (std::getline(in, body)) {
    if (body.empty()) continue;
    std::string request = "POST " + options.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const std::string& h : options.headers) request += h + "\r\n";
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    requests.push_back(std::move(request));
  }
  if (requests.empty()) Fail(options.bodies_file + " holds no bodies");
  return requests;
}

struct Connection {
  int fd = -1;
  bool busy = false;
  Clock::time_point started;  // due time (open loop) or send time (closed loop)
  std::string received;
};

struct ThreadResult {
  std::vector<float> latencies_ms;
  size_t errors = 0;
  std::string first_error;
};

// One epoll loop over `connections` sockets until `deadline`.
void RunLoop(const Options& options, const std::vector<std::string>& requests, int connections,
             double rate, size_t first_request, Clock::time_point deadline, ThreadResult* out) {
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> conns(static_cast<size_t>(connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = ConnectLoopback(options.port);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, conns[i].fd, &event);
  }
  std::vector<size_t> idle(conns.size());
  for (size_t i = 0; i < idle.size(); ++i) idle[i] = i;
  size_t next_request = first_request;
  const auto interval =
      rate > 0
          ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate))
          : Clock::duration::zero();
  Clock::time_point next_due = Clock::now();
  out->latencies_ms.reserve(static_cast<size_t>(options.seconds) * 100000);

  auto send = [&](size_t c, Clock::time_point started) {
    const std::string& request = requests[next_request++ % requests.size()];
    conns[c].busy = true;
    conns[c].started = started;
    // Requests are small: one send fits the socket buffer.
    ssize_t n = ::send(conns[c].fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(request.size())) Fail("send: short write or error");
  };

  epoll_event events[256];
  char chunk[65536];
  for (;;) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (rate > 0) {
      while (next_due <= now && !idle.empty()) {
        send(idle.back(), next_due);
        idle.pop_back();
        next_due += interval;
      }
    } else {
      while (!idle.empty()) {
        send(idle.back(), now);
        idle.pop_back();
      }
    }
    // Sleep until the next due time when a connection could take it;
    // otherwise until an answer frees one.
    // At most one timed wake-up per tick: waking for every due time costs
    // the load generator a core at 30,000 requests/s, which it would take
    // from the server. Requests due within a tick leave together, and their
    // latency still counts from their due times.
    Clock::time_point wake = deadline;
    if (rate > 0 && !idle.empty()) wake = std::min(wake, std::max(next_due, now + kTick));
    auto wait = std::max(Clock::duration::zero(), wake - now);
    timespec timeout{static_cast<time_t>(wait.count() / 1000000000),
                     static_cast<long>(wait.count() % 1000000000)};
    int ready = ::epoll_pwait2(epoll, events, 256, &timeout, nullptr);
    if (ready < 0 && errno != EINTR) Fail("epoll_pwait2: " + std::string(std::strerror(errno)));
    for (int e = 0; e < ready; ++e) {
      size_t c = events[e].data.u64;
      Connection& conn = conns[c];
      ssize_t n = ::recv(conn.fd, chunk, sizeof(chunk), 0);
      if (n <= 0) Fail("the server closed a connection");
      conn.received.append(chunk, static_cast<size_t>(n));
      int status = 0;
      size_t length = ResponseLength(conn.received, &status);
      if (length == 0) continue;
      if (!conn.busy) Fail("an answer came with no request outstanding");
      Clock::time_point done = Clock::now();
      out->latencies_ms.push_back(
          std::chrono::duration<float, std::milli>(done - conn.started).count());
      if (status < 200 || status >= 300) {
        if (out->errors++ == 0) out->first_error = conn.received.substr(0, length);
      }
      conn.received.erase(0, length);
      conn.busy = false;
      idle.push_back(c);
    }
  }
  for (Connection& conn : conns) ::close(conn.fd);
  ::close(epoll);
}

}  // namespace

int main(int argc, char** argv) {
  cairn::bench::tool_name = "http_load";
  Options options = ParseOptions(argc, argv);
  std::vector<std::string> requests = LoadRequests(options);
  auto started = Clock::now();
  auto deadline = started + std::chrono::seconds(options.seconds);
  std::vector<ThreadResult> results(static_cast<size_t>(options.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    int connections =
        options.connections / options.threads + (t < options.connections % options.threads ? 1 : 0);
    threads.emplace_back(RunLoop, std::cref(options), std::cref(requests), connections,
                         options.rate / options.threads,
                         requests.size() * static_cast<size_t>(t) / options.threads, deadline,
                         &results[static_cast<size_t>(t)]);
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<float> all;
  size_t errors = 0;
  for (const ThreadResult& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    errors += r.errors;
    if (r.errors > 0) std::fprintf(stderr, "http_load: error answer: %s\n", r.first_error.c_str());
  }
  if (all.empty()) Fail("no request completed");
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
  };
  std::printf(
      "{\"requests\":%zu,\"requests_per_second\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%zu}\n",
      all.size(), static_cast<double>(all.size()) / elapsed, pct(0.50), pct(0.90), pct(0.99),
      pct(0.999), all.back(), errors);
  return errors == 0 ? 0 : 1;
}
