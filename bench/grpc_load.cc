// grpc_load: closed-loop load on the gRPC inference protocol's ModelInfer,
// as tritonclient.grpc's async calls make it, and its throughput and
// latency.
//
//   grpc_load --address 127.0.0.1:8001 --request FILE [--calls 16]
//             [--channels 1] [--seconds 10]
//
// FILE holds one serialized ModelInferRequest (bench/grpc_bench.py writes
// it). `calls` requests are in flight at once, spread over `channels`
// HTTP/2 connections; each answer sends the next. Prints one JSON line:
//   {"requests":N,"requests_per_second":R,"p50_ms":..,"p90_ms":..,"p99_ms":..,
//    "p999_ms":..,"max_ms":..,"errors":E}
// and exits 1 if any call failed.
//
// Why a C++ client: a Python grpcio client tops out below what the server
// answers on the same two cores, and there is no ghz in Debian.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "grpc_inference/inference.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "grpc_load: %s\n", message.c_str());
  std::exit(1);
}

struct Options {
  std::string address;
  std::string request_file;
  int calls = 16;
  int channels = 1;
  int seconds = 10;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Fail(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--address") {
      o.address = value;
    } else if (flag == "--request") {
      o.request_file = value;
    } else if (flag == "--calls") {
      o.calls = std::stoi(value);
    } else if (flag == "--channels") {
      o.channels = std::stoi(value);
    } else if (flag == "--seconds") {
      o.seconds = std::stoi(value);
    } else {
      Fail("unknown flag " + flag);
    }
  }
  if (o.address.empty() || o.request_file.empty()) Fail("--address and --request are required");
  if (o.calls < 1 || o.channels < 1 || o.seconds < 1) Fail("calls, channels, seconds must be >= 1");
  return o;
}

// One call in flight at a time, sent again from its own answer until the
// deadline.
class Slot {
 public:
  Slot(inference::GRPCInferenceService::Stub* stub, const inference::ModelInferRequest* request,
       Clock::time_point deadline, std::atomic<int>* running, std::mutex* mu,
       std::condition_variable* done)
      : stub_(stub),
        request_(request),
        deadline_(deadline),
        running_(running),
        mu_(mu),
        done_(done) {}

  void Send() {
    context_ = std::make_unique<grpc::ClientContext>();
    response_.Clear();
    sent_ = Clock::now();
    stub_->async()->ModelInfer(context_.get(), request_, &response_,
                               [this](grpc::Status status) { OnAnswer(status); });
  }

  std::vector<double> latencies_ms;
  int errors = 0;
  std::string first_error;

 private:
  void OnAnswer(const grpc::Status& status) {
    const auto now = Clock::now();
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent_).count());
    if (!status.ok() && errors++ == 0) first_error = status.error_message();
    if (now < deadline_) return Send();
    if (running_->fetch_sub(1) == 1) {
      std::lock_guard lock(*mu_);  // the waiter is either before its check or asleep
      done_->notify_all();
    }
  }

  inference::GRPCInferenceService::Stub* stub_;
  const inference::ModelInferRequest* request_;
  Clock::time_point deadline_;
  std::atomic<int>* running_;
  std::mutex* mu_;
  std::condition_variable* done_;
  std::unique_ptr<grpc::ClientContext> context_;
  inference::ModelInferResponse response_;
  Clock::time_point sent_;
};

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  std::ifstream in(options.request_file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  inference::ModelInferRequest request;
  if (!in || !request.ParseFromString(bytes.str())) Fail("cannot read " + options.request_file);

  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs;
  for (int c = 0; c < options.channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // distinct channels, not one shared subchannel
    args.SetMaxReceiveMessageSize(-1);
    stubs.push_back(inference::GRPCInferenceService::NewStub(
        grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args)));
  }
  std::mutex mu;
  std::condition_variable done;
  std::atomic<int> running{options.calls};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(options.seconds);
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.calls; ++i) {
    slots.push_back(std::make_unique<Slot>(stubs[static_cast<size_t>(i % options.channels)].get(),
                                           &request, deadline, &running, &mu, &done));
  }
  for (auto& slot : slots) slot->Send();
  {
    std::unique_lock lock(mu);
    done.wait(lock, [&] { return running.load() == 0; });
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  int errors = 0;
  std::string first_error;
  for (auto& slot : slots) {
    all.insert(all.end(), slot->latencies_ms.begin(), slot->latencies_ms.end());
    if (slot->errors > 0 && errors == 0) first_error = slot->first_error;
    errors += slot->errors;
  }
  std::sort(all.begin(), all.end());
  if (errors > 0) std::fprintf(stderr, "grpc_load: error answer: %s\n", first_error.c_str());
  std::printf(
      "{\"requests\":%zu,\"requests_per_second\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d}\n",
      all.size(), static_cast<double>(all.size()) / elapsed, Percentile(all, 0.5),
      Percentile(all, 0.9), Percentile(all, 0.99), Percentile(all, 0.999),
      all.empty() ? 0.0 : all.back(), errors);
  return errors > 0 ? 1 : 0;
}
