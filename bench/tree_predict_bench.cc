// tree_predict_bench: one XGBoost model, predicted by Cairn's native
// evaluator and by libxgboost's C API, in one run.
// bench/tree_predict_bench.py trains the model, runs this, adds
// python3-xgboost, and prints ratios.
//
//   tree_predict_bench MODEL_FILE [--features 10] [--seconds 1]
//
// Batches of 1 and 1,000 rows of random values, dense and with 5% missing.
// Prints one JSON object per measurement:
// {"engine":..., "rows":..., "missing":..., "us_per_call":...}.
// Before timing, the native margins are checked bit for bit against the C API's.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/thread_pool.h"
#include "kserve/v2_json.h"
#include "serving/tree_model.h"
#include "trees/xgboost_reader.h"
#include "xgboost/booster.h"

namespace {

[[noreturn]] void Die(const std::string& what, const cairn::Status& s) {
  std::fprintf(stderr, "tree_predict_bench: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

// Calls `fn` repeatedly for about `seconds` (after a warm-up); microseconds per call.
double MicrosPerCall(double seconds, const std::function<void()>& fn) {
  for (int i = 0; i < 100; ++i) fn();
  using Clock = std::chrono::steady_clock;
  size_t calls = 0;
  size_t batch = 1;
  const auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (size_t i = 0; i < batch; ++i) fn();
    calls += batch;
    batch = std::min<size_t>(batch * 2, 4096);
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return elapsed * 1e6 / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tree_predict_bench MODEL_FILE [--features N] [--seconds S]\n");
    return 2;
  }
  size_t features = 10;
  double seconds = 1.0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--features") == 0) features = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::strtod(argv[i + 1], nullptr);
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();

  auto native = cairn::trees::ReadXGBoostModel(bytes);
  if (!native.ok()) Die("native load", native.status());
  auto booster = cairn::xgboost::Booster::Load(bytes);
  if (!booster.ok()) Die("C API load", booster.status());
  const cairn::trees::TreeEnsemble& model = *native;
  std::fprintf(stderr, "model: %zu trees, %zu nodes, %zu bytes compiled\n", model.num_trees(),
               model.num_nodes(), model.MemoryBytes());

  auto pool_or = cairn::ThreadPool::Start(cairn::Env::Default(), 1, "predict");
  if (!pool_or.ok()) Die("thread pool", pool_or.status());
  std::unique_ptr<cairn::ThreadPool> pool = std::move(*pool_or);

  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unit;
  const size_t kMaxRows = 1000;
  std::vector<float> dense(kMaxRows * features);
  std::vector<float> sparse(kMaxRows * features);
  for (size_t i = 0; i < dense.size(); ++i) {
    dense[i] = normal(rng);
    sparse[i] = unit(rng) < 0.05f ? std::nanf("") : dense[i];
  }

  for (auto [n, missing] : {std::pair{size_t{1}, 0.0}, {kMaxRows, 0.0}, {kMaxRows, 0.05}}) {
    std::span<const float> batch((missing > 0 ? sparse : dense).data(), n * features);
    std::vector<float> margins(n * static_cast<size_t>(model.num_groups()));
    model.PredictMargins(batch, n, margins);
    auto want = (*booster)->Predict(batch, n, features, true);
    if (!want.ok()) Die("C API predict", want.status());
    if (std::memcmp(want->data(), margins.data(), margins.size() * sizeof(float)) != 0) {
      std::fprintf(stderr, "tree_predict_bench: native margins differ from XGBoost's\n");
      return 1;
    }
    double native_us = MicrosPerCall(seconds, [&] {
      model.PredictMargins(batch, n, margins);
      model.Transform(margins);
    });
    // Both cores, as XGBoost uses them for a batch (a pool thread and the caller).
    double native2_us = MicrosPerCall(seconds, [&] {
      model.PredictMargins(batch, n, margins, pool.get());
      model.Transform(margins);
    });
    using Path = cairn::xgboost::Booster::Path;
    double inplace_us = MicrosPerCall(
        seconds, [&] { (void)(*booster)->Predict(batch, n, features, false, Path::kInplace); });
    double dmatrix_us = MicrosPerCall(
        seconds, [&] { (void)(*booster)->Predict(batch, n, features, false, Path::kDMatrix); });
    for (auto [engine, us] : {std::pair{"cairn native", native_us},
                              {"cairn native, 2 threads", native2_us},
                              {"xgboost C API inplace", inplace_us},
                              {"xgboost C API DMatrix", dmatrix_us}}) {
      std::printf("{\"engine\": \"%s\", \"rows\": %zu, \"missing\": %.2f, \"us_per_call\": %.4f}\n",
                  engine, n, missing, us);
    }
    std::fflush(stdout);
  }
  // What the server does for a 1-row v2 REST request once the HTTP layer
  // handed over the body: decode, assemble the row, predict, encode.
  {
    auto again = cairn::trees::ReadXGBoostModel(bytes);
    std::vector<std::string> names;
    for (size_t f = 0; f < features; ++f) names.push_back("f" + std::to_string(f));
    cairn::serving::TreeModel served(std::move(*again), names);
    std::string body = R"({"inputs":[{"name":"x","shape":[1,)" + std::to_string(features) +
                       R"(],"datatype":"FP32","data":[)";
    for (size_t f = 0; f < features; ++f) body += (f ? "," : "") + std::to_string(dense[f]);
    body += "]}]}";
    double handler_us = MicrosPerCall(seconds, [&] {
      auto request = cairn::kserve::ParseInferRequest(body);
      auto outputs = served.Predict(request->inputs);
      std::string response = cairn::kserve::WriteInferResponse("m", "1", request->id, *outputs);
      if (response.empty()) std::abort();
    });
    std::printf(
        "{\"engine\": \"cairn v2 request (decode, predict, encode)\", \"rows\": 1, \"missing\": "
        "0.00, "
        "\"us_per_call\": %.4f}\n",
        handler_us);
  }
  return 0;
}
