// log_batch_load: drives POST /api/2.0/mlflow/runs/log-batch over keep-alive
// connections and reports throughput and latency, for tracking_bench.py and
// logged_models_bench.py.
//
//   log_batch_load --port P --targets RUN[:MODEL],... [--connections 8]
//                  [--seconds 10] [--points 1000] [--warmup 3]
//
// Each request carries --points metric points (10 keys x points/10 steps,
// fresh steps every time, so no batch is a retry the server can skip); a
// target with a model makes every point name that logged model and a dataset
// (MLflow 3's model-linked metrics). Prints one JSON line:
//   {"requests":N,"requests_per_second":R,"points_per_second":P,"p50_ms":..,"p99_ms":..}
// and exits 1 on any non-200 answer.
//
// The first --warmup seconds are sent but not counted: a server's first
// tens of MB of SQLite WAL after a start are new file blocks (ext4 allocates
// and journals each), which it pays once; afterwards the WAL's blocks are
// rewritten in place. On this machine a fresh server ran at half its steady
// rate for its first seconds. Pass --warmup 0 to measure that cold start.
//
// Why not wrk: its Lua builds each body as a string the size of the body; at
// 150 kB (a model-linked batch) LuaJIT maps and unmaps it per request, and
// wrk used more CPU than the server it measured on a 2-core machine. Here a
// body costs a few microseconds of formatting into a reused buffer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "load_client.h"

namespace {

using cairn::bench::ConnectLoopback;
using cairn::bench::Fail;
using cairn::bench::ResponseLength;

struct Options {
  int port = 0;
  int connections = 8;
  int seconds = 10;
  int warmup = 3;
  int points = 1000;
  std::vector<std::pair<std::string, std::string>> targets;  // (run, model or "")
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) Fail("flag " + std::string(flag) + " needs a value");
    std::string value = argv[++i];
    if (flag == "--port") {
      options.port = std::atoi(value.c_str());
    } else if (flag == "--connections") {
      options.connections = std::atoi(value.c_str());
    } else if (flag == "--seconds") {
      options.seconds = std::atoi(value.c_str());
    } else if (flag == "--warmup") {
      options.warmup = std::atoi(value.c_str());
    } else if (flag == "--points") {
      options.points = std::atoi(value.c_str());
    } else if (flag == "--targets") {
      size_t start = 0;
      while (start < value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        std::string item = value.substr(start, end - start);
        size_t colon = item.find(':');
        options.targets.emplace_back(item.substr(0, colon),
                                     colon == std::string::npos ? "" : item.substr(colon + 1));
        start = end + 1;
      }
    } else {
      Fail("unknown flag " + std::string(flag));
    }
  }
  if (options.port <= 0) Fail("--port is required");
  if (options.targets.empty()) Fail("--targets is required (RUN[:MODEL],...)");
  if (options.points < 10 || options.points % 10 != 0) Fail("--points must be a multiple of 10");
  return options;
}

void AppendInt(std::string* out, int64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out->append(digits, end);
}

// The request for one batch: 10 keys x points/10 consecutive steps from
// `first_step`, all at one timestamp, as the wrk script sent them.
void BuildRequest(const Options& options, const std::pair<std::string, std::string>& target,
                  int64_t first_step, std::string* request, std::string* body) {
  body->clear();
  *body += "{\"run_id\":\"" + target.first + "\",\"metrics\":[";
  std::string link;
  if (!target.second.empty()) {
    link = ",\"model_id\":\"" + target.second +
           "\",\"dataset_name\":\"val\",\"dataset_digest\":\"d1\"";
  }
  int steps = options.points / 10;
  for (int k = 0; k < 10; ++k) {
    for (int s = 0; s < steps; ++s) {
      if (k + s > 0) *body += ',';
      *body += "{\"key\":\"m";
      AppendInt(body, k);
      *body += "\",\"value\":";
      AppendInt(body, s);
      *body += ".5,\"timestamp\":";
      AppendInt(body, 1700000000000 + first_step);
      *body += ",\"step\":";
      AppendInt(body, first_step + s);
      *body += link;
      *body += '}';
    }
  }
  *body += "]}";
  request->clear();
  *request +=
      "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: ";
  AppendInt(request, static_cast<int64_t>(body->size()));
  *request += "\r\n\r\n";
  *request += *body;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) Fail("send: " + std::string(std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }
}

// Reads one response; returns its status code. `buffer` keeps bytes past
// the response (none with one request in flight, but cheap to be right).
int ReadResponse(int fd, std::string* buffer, std::string* error_body) {
  int status = 0;
  size_t length;
  while ((length = ResponseLength(*buffer, &status)) == 0) {
    char chunk[16384];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) Fail("connection closed by the server");
    buffer->append(chunk, static_cast<size_t>(n));
  }
  if (status != 200) *error_body = buffer->substr(0, length);
  buffer->erase(0, length);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  cairn::bench::tool_name = "log_batch_load";
  Options options = ParseOptions(argc, argv);
  using Clock = std::chrono::steady_clock;
  // Requests finished before `counted_from` are the warm-up.
  auto counted_from = Clock::now() + std::chrono::seconds(options.warmup);
  auto deadline = counted_from + std::chrono::seconds(options.seconds);
  std::vector<std::vector<double>> latencies(options.connections);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < options.connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = ConnectLoopback(options.port);
      std::string request;
      std::string body;
      std::string buffer;
      std::string error_body;
      // Steps never collide between connections: each owns a range of 10^8.
      int64_t next_step = int64_t{c} * 100000000;
      for (int64_t n = 0; Clock::now() < deadline && !failed; ++n) {
        const auto& target = options.targets[static_cast<size_t>(n + c) % options.targets.size()];
        BuildRequest(options, target, next_step, &request, &body);
        next_step += options.points / 10;
        auto start = Clock::now();
        SendAll(fd, request);
        int status = ReadResponse(fd, &buffer, &error_body);
        if (status != 200) {
          std::fprintf(stderr, "log-batch failed: %d %s\n", status, error_body.c_str());
          failed = true;
          break;
        }
        auto end = Clock::now();
        if (start >= counted_from) {
          latencies[c].push_back(std::chrono::duration<double, std::milli>(end - start).count());
        }
      }
      ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - counted_from).count();
  if (failed) return 1;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (all.empty()) Fail("no request completed");
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  double rps = static_cast<double>(all.size()) / elapsed;
  std::printf(
      "{\"requests\":%zu,\"requests_per_second\":%.1f,\"points_per_second\":%.0f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
      all.size(), rps, rps * options.points, pct(0.50), pct(0.99));
  return 0;
}
