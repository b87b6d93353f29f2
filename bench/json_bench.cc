// The benchmark behind Cairn's JSON library choice (DESIGN.md: "one library for
// the whole codebase, chosen by benchmark"). Figures and the decision are in
// docs/json-library.md.
//
// Four workloads shaped like Cairn's request paths, each parsed into (or
// written from) the C++ structs a handler would use, so the cost of getting
// values out of the library is measured, not just tokenising:
//   log_batch_parse    MLflow runs/log-batch body: 1000 metrics, 50 params, 20 tags
//   search_runs_write  MLflow runs/search response: 1000 runs
//   infer_parse        Open Inference Protocol v2 request, one FP32 tensor of 8192
//   infer_write        Open Inference Protocol v2 response, one FP32 tensor of 256
//   small_parse        MLflow runs/create body (per-request overhead)
// through RapidJSON (DOM, Cairn's flags from core/json.h, plus variants with
// full-precision numbers and a pooled allocator), simdjson 3 (On-Demand; it
// has no public writer before 4.0) and nlohmann/json. A hand-written writer
// (std::to_chars) is timed too: what a parse-only library would need beside it.
//
// Bodies are generated deterministically (fixed-seed splitmix64, std::to_chars)
// so every run and every library sees the same bytes. Before timing, each
// parser's result is compared with the source structs and each writer's output
// is re-parsed and compared; the outcome is printed and recorded in the
// benchmark context, mismatches included.
//
// Run: build/release/bench/json_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "core/json.h"

#define CAIRN_BENCH_STR2(x) #x
#define CAIRN_BENCH_STR(x) CAIRN_BENCH_STR2(x)

namespace cairn {
namespace {

namespace od = simdjson::ondemand;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// The structs handlers fill and read.

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

struct Metric {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
  bool operator==(const Metric&) const = default;
};

struct LogBatch {
  std::string run_id;
  std::vector<Metric> metrics;
  std::vector<KeyValue> params;
  std::vector<KeyValue> tags;
  bool operator==(const LogBatch&) const = default;
};

struct RunInfo {
  std::string run_id;
  std::string run_name;
  std::string experiment_id;
  std::string status;
  int64_t start_time = 0;
  int64_t end_time = 0;
  std::string artifact_uri;
  std::string lifecycle_stage;
};

struct Run {
  RunInfo info;
  std::vector<KeyValue> params;
  std::vector<Metric> metrics;
  std::vector<KeyValue> tags;
};

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::string datatype;
  std::vector<float> data;
  bool operator==(const Tensor&) const = default;
};

struct InferRequest {
  std::vector<Tensor> inputs;
  bool operator==(const InferRequest&) const = default;
};

struct InferResponse {
  std::string model_name;
  std::vector<Tensor> outputs;
};

struct CreateRun {
  std::string experiment_id;
  std::string run_name;
  int64_t start_time = 0;
  std::vector<KeyValue> tags;
  bool operator==(const CreateRun&) const = default;
};

// A parser fills T from a body and returns false on malformed input or a wrong
// type; a writer returns the body.
template <typename T>
using ParseFn = bool (*)(const std::string&, T*);
template <typename T>
using WriteFn = std::string (*)(const T&);

// ---------------------------------------------------------------------------
// Deterministic data.

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t state_;
};

std::string Hex32(Rng& rng) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(32, '0');
  for (char& c : s) c = kDigits[rng.Next() & 15];
  return s;
}

constexpr int64_t kEpochMs = 1700000000000;

LogBatch MakeLogBatch() {
  Rng rng(1);
  LogBatch b;
  b.run_id = Hex32(rng);
  for (int i = 0; i < 1000; ++i) {
    b.metrics.push_back(Metric{"loss_" + std::to_string(i % 10), rng.NextDouble() * 4.0,
                               kEpochMs + i * 37, i / 10});
  }
  for (int i = 0; i < 50; ++i) {
    b.params.push_back({"param_" + std::to_string(i), std::to_string(rng.Next() % 100000)});
  }
  for (int i = 0; i < 20; ++i) {
    b.tags.push_back({"tag.key_" + std::to_string(i), "value of tag " + std::to_string(i)});
  }
  return b;
}

std::vector<Run> MakeRuns() {
  Rng rng(2);
  std::vector<Run> runs(1000);
  for (size_t i = 0; i < runs.size(); ++i) {
    Run& r = runs[i];
    r.info.run_id = Hex32(rng);
    r.info.run_name = "run-" + std::to_string(i);
    r.info.experiment_id = "1";
    r.info.status = "FINISHED";
    r.info.start_time = kEpochMs + static_cast<int64_t>(i) * 60000;
    r.info.end_time = r.info.start_time + static_cast<int64_t>(rng.Next() % 3600000);
    r.info.artifact_uri = "file:///srv/cairn-data/artifacts/1/" + r.info.run_id + "/artifacts";
    r.info.lifecycle_stage = "active";
    for (int j = 0; j < 20; ++j) {
      r.params.push_back({"param_" + std::to_string(j), std::to_string(rng.Next() % 1000)});
    }
    for (int j = 0; j < 10; ++j) {
      r.metrics.push_back(
          Metric{"metric_" + std::to_string(j), rng.NextDouble(), r.info.end_time, 100});
    }
    for (int j = 0; j < 5; ++j) {
      r.tags.push_back({"mlflow.tag_" + std::to_string(j), "tag value " + std::to_string(j)});
    }
  }
  return runs;
}

std::vector<float> MakeFloats(uint64_t seed, size_t n) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.NextDouble() * 2.0 - 1.0);
  return v;
}

InferRequest MakeInferRequest() {
  return InferRequest{{Tensor{"input-0", {256, 32}, "FP32", MakeFloats(3, 256 * 32)}}};
}

InferResponse MakeInferResponse() {
  return InferResponse{"model-a", {Tensor{"output-0", {256}, "FP32", MakeFloats(4, 256)}}};
}

CreateRun MakeCreateRun() {
  return CreateRun{
      "1", "x", kEpochMs, {{"mlflow.user", "alice"}, {"mlflow.source.name", "train.py"}}};
}

// ---------------------------------------------------------------------------
// Writers. One emitter per body shape, templated on a writer with the
// RapidJSON-like interface below, drives both RapidJSON and the hand-written
// writer, so both produce the same document. FP32 values are written as the
// double they convert to (as Python clients and RapidJSON do).

// Hand-written writer: escapes strings, std::to_chars for numbers. The floor a
// parse-only library (simdjson 3) would have to be paired with. Also used to
// generate the input bodies.
class TextWriter {
 public:
  void StartObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void StartArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view k) {
    Prefix();
    AppendString(k);
    out_ += ':';
    after_key_ = true;
  }
  void String(std::string_view s) {
    Prefix();
    AppendString(s);
  }
  void Int64(int64_t v) {
    Prefix();
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, res.ptr);
  }
  void Double(double v) {
    if (!std::isfinite(v)) {  // Same convention as cairn::json::WriteDouble.
      String(std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
      return;
    }
    Prefix();
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, res.ptr);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  void Open(char c) {
    Prefix();
    out_ += c;
    first_ = true;
  }
  void Close(char c) {
    out_ += c;
    first_ = false;
  }
  void AppendString(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    size_t run = 0;  // Start of the pending run of characters needing no escape.
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          out_ += "\\u00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 15];
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

// Adapts cairn::json::Writer (RapidJSON) to the emitters, through core/json.h's
// own helpers so the benchmark times what Cairn ships.
class RapidJsonOut {
 public:
  void StartObject() { w_.StartObject(); }
  void EndObject() { w_.EndObject(); }
  void StartArray() { w_.StartArray(); }
  void EndArray() { w_.EndArray(); }
  void Key(std::string_view k) { json::WriteKey(w_, k); }
  void String(std::string_view s) { json::WriteString(w_, s); }
  void Int64(int64_t v) { w_.Int64(v); }
  void Double(double v) { json::WriteDouble(w_, v); }
  std::string Take() { return std::string(buf_.GetString(), buf_.GetSize()); }

 private:
  json::Buffer buf_;
  json::Writer w_{buf_};
};

template <typename W>
void EmitKeyValues(W& w, std::string_view name, const std::vector<KeyValue>& kvs) {
  w.Key(name);
  w.StartArray();
  for (const KeyValue& kv : kvs) {
    w.StartObject();
    w.Key("key");
    w.String(kv.key);
    w.Key("value");
    w.String(kv.value);
    w.EndObject();
  }
  w.EndArray();
}

template <typename W>
void EmitMetrics(W& w, const std::vector<Metric>& metrics) {
  w.Key("metrics");
  w.StartArray();
  for (const Metric& m : metrics) {
    w.StartObject();
    w.Key("key");
    w.String(m.key);
    w.Key("value");
    w.Double(m.value);
    w.Key("timestamp");
    w.Int64(m.timestamp);
    w.Key("step");
    w.Int64(m.step);
    w.EndObject();
  }
  w.EndArray();
}

template <typename W>
void EmitLogBatch(W& w, const LogBatch& b) {
  w.StartObject();
  w.Key("run_id");
  w.String(b.run_id);
  EmitMetrics(w, b.metrics);
  EmitKeyValues(w, "params", b.params);
  EmitKeyValues(w, "tags", b.tags);
  w.EndObject();
}

template <typename W>
void EmitSearchRuns(W& w, const std::vector<Run>& runs) {
  w.StartObject();
  w.Key("runs");
  w.StartArray();
  for (const Run& r : runs) {
    w.StartObject();
    w.Key("info");
    w.StartObject();
    w.Key("run_id");
    w.String(r.info.run_id);
    w.Key("run_name");
    w.String(r.info.run_name);
    w.Key("experiment_id");
    w.String(r.info.experiment_id);
    w.Key("status");
    w.String(r.info.status);
    w.Key("start_time");
    w.Int64(r.info.start_time);
    w.Key("end_time");
    w.Int64(r.info.end_time);
    w.Key("artifact_uri");
    w.String(r.info.artifact_uri);
    w.Key("lifecycle_stage");
    w.String(r.info.lifecycle_stage);
    w.EndObject();
    w.Key("data");
    w.StartObject();
    EmitMetrics(w, r.metrics);
    EmitKeyValues(w, "params", r.params);
    EmitKeyValues(w, "tags", r.tags);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("next_page_token");
  w.String("eyJvZmZzZXQiOiAxMDAwfQ==");
  w.EndObject();
}

template <typename W>
void EmitTensors(W& w, std::string_view name, const std::vector<Tensor>& tensors) {
  w.Key(name);
  w.StartArray();
  for (const Tensor& t : tensors) {
    w.StartObject();
    w.Key("name");
    w.String(t.name);
    w.Key("shape");
    w.StartArray();
    for (int64_t d : t.shape) w.Int64(d);
    w.EndArray();
    w.Key("datatype");
    w.String(t.datatype);
    w.Key("data");
    w.StartArray();
    for (float x : t.data) w.Double(static_cast<double>(x));
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

template <typename W>
void EmitInferRequest(W& w, const InferRequest& r) {
  w.StartObject();
  EmitTensors(w, "inputs", r.inputs);
  w.EndObject();
}

template <typename W>
void EmitInferResponse(W& w, const InferResponse& r) {
  w.StartObject();
  w.Key("model_name");
  w.String(r.model_name);
  EmitTensors(w, "outputs", r.outputs);
  w.EndObject();
}

template <typename W>
void EmitCreateRun(W& w, const CreateRun& c) {
  w.StartObject();
  w.Key("experiment_id");
  w.String(c.experiment_id);
  w.Key("run_name");
  w.String(c.run_name);
  w.Key("start_time");
  w.Int64(c.start_time);
  EmitKeyValues(w, "tags", c.tags);
  w.EndObject();
}

template <typename W, typename T, void (*Emit)(W&, const T&)>
std::string WriteWith(const T& value) {
  W w;
  Emit(w, value);
  return w.Take();
}

// nlohmann/json has no streaming writer: the idiom is to build a json value
// and dump() it, so that is what is timed.
Json KeyValuesTree(const std::vector<KeyValue>& kvs) {
  Json a = Json::array();
  for (const KeyValue& kv : kvs) a.push_back({{"key", kv.key}, {"value", kv.value}});
  return a;
}

Json MetricsTree(const std::vector<Metric>& metrics) {
  Json a = Json::array();
  for (const Metric& m : metrics) {
    a.push_back({{"key", m.key}, {"value", m.value}, {"timestamp", m.timestamp}, {"step", m.step}});
  }
  return a;
}

Json SearchRunsTree(const std::vector<Run>& runs) {
  Json a = Json::array();
  for (const Run& r : runs) {
    a.push_back({{"info",
                  {{"run_id", r.info.run_id},
                   {"run_name", r.info.run_name},
                   {"experiment_id", r.info.experiment_id},
                   {"status", r.info.status},
                   {"start_time", r.info.start_time},
                   {"end_time", r.info.end_time},
                   {"artifact_uri", r.info.artifact_uri},
                   {"lifecycle_stage", r.info.lifecycle_stage}}},
                 {"data",
                  {{"metrics", MetricsTree(r.metrics)},
                   {"params", KeyValuesTree(r.params)},
                   {"tags", KeyValuesTree(r.tags)}}}});
  }
  return {{"runs", std::move(a)}, {"next_page_token", "eyJvZmZzZXQiOiAxMDAwfQ=="}};
}

Json InferResponseTree(const InferResponse& r) {
  Json outputs = Json::array();
  for (const Tensor& t : r.outputs) {
    Json data = Json::array();
    data.get_ref<Json::array_t&>().reserve(t.data.size());
    for (float x : t.data) data.push_back(static_cast<double>(x));
    outputs.push_back({{"name", t.name},
                       {"shape", t.shape},
                       {"datatype", t.datatype},
                       {"data", std::move(data)}});
  }
  return {{"model_name", r.model_name}, {"outputs", std::move(outputs)}};
}

std::string WriteSearchRunsNlohmann(const std::vector<Run>& runs) {
  return SearchRunsTree(runs).dump();
}

std::string WriteInferResponseNlohmann(const InferResponse& r) {
  return InferResponseTree(r).dump();
}

// ---------------------------------------------------------------------------
// RapidJSON readers: DOM parse with Cairn's flags, then walk the members.
// kFlags is a parameter only so the benchmark can also time full precision.

std::string_view Sv(const json::Value& v) { return {v.GetString(), v.GetStringLength()}; }

bool RjString(const json::Value& v, std::string* out) {
  if (!v.IsString()) return false;
  out->assign(v.GetString(), v.GetStringLength());
  return true;
}

bool RjInt64(const json::Value& v, int64_t* out) {
  if (!v.IsInt64()) return false;
  *out = v.GetInt64();
  return true;
}

bool RjDouble(const json::Value& v, double* out) {
  if (!v.IsNumber()) return false;
  *out = v.GetDouble();
  return true;
}

bool RjKeyValues(const json::Value& v, std::vector<KeyValue>* out) {
  if (!v.IsArray()) return false;
  out->reserve(v.Size());
  for (const json::Value& e : v.GetArray()) {
    if (!e.IsObject()) return false;
    KeyValue& kv = out->emplace_back();
    for (const auto& m : e.GetObject()) {
      std::string_view k = Sv(m.name);
      if (k == "key") {
        if (!RjString(m.value, &kv.key)) return false;
      } else if (k == "value") {
        if (!RjString(m.value, &kv.value)) return false;
      }
    }
  }
  return true;
}

bool RjMetrics(const json::Value& v, std::vector<Metric>* out) {
  if (!v.IsArray()) return false;
  out->reserve(v.Size());
  for (const json::Value& e : v.GetArray()) {
    if (!e.IsObject()) return false;
    Metric& metric = out->emplace_back();
    for (const auto& m : e.GetObject()) {
      std::string_view k = Sv(m.name);
      bool ok = true;
      if (k == "key") {
        ok = RjString(m.value, &metric.key);
      } else if (k == "value") {
        ok = RjDouble(m.value, &metric.value);
      } else if (k == "timestamp") {
        ok = RjInt64(m.value, &metric.timestamp);
      } else if (k == "step") {
        ok = RjInt64(m.value, &metric.step);
      }
      if (!ok) return false;
    }
  }
  return true;
}

bool ReadLogBatchRapidJson(const json::Value& doc, LogBatch* out) {
  for (const auto& m : doc.GetObject()) {
    std::string_view k = Sv(m.name);
    bool ok = true;
    if (k == "run_id") {
      ok = RjString(m.value, &out->run_id);
    } else if (k == "metrics") {
      ok = RjMetrics(m.value, &out->metrics);
    } else if (k == "params") {
      ok = RjKeyValues(m.value, &out->params);
    } else if (k == "tags") {
      ok = RjKeyValues(m.value, &out->tags);
    }
    if (!ok) return false;
  }
  return true;
}

bool ReadInferRequestRapidJson(const json::Value& doc, InferRequest* out) {
  auto inputs = doc.FindMember("inputs");
  if (inputs == doc.MemberEnd() || !inputs->value.IsArray()) return false;
  for (const json::Value& in : inputs->value.GetArray()) {
    if (!in.IsObject()) return false;
    Tensor& t = out->inputs.emplace_back();
    for (const auto& m : in.GetObject()) {
      std::string_view k = Sv(m.name);
      if (k == "name") {
        if (!RjString(m.value, &t.name)) return false;
      } else if (k == "datatype") {
        if (!RjString(m.value, &t.datatype)) return false;
      } else if (k == "shape") {
        if (!m.value.IsArray()) return false;
        for (const json::Value& d : m.value.GetArray()) {
          if (!RjInt64(d, &t.shape.emplace_back())) return false;
        }
      } else if (k == "data") {
        if (!m.value.IsArray()) return false;
        t.data.reserve(m.value.Size());
        for (const json::Value& x : m.value.GetArray()) {
          if (!x.IsNumber()) return false;
          t.data.push_back(static_cast<float>(x.GetDouble()));
        }
      }
    }
  }
  return true;
}

bool ReadCreateRunRapidJson(const json::Value& doc, CreateRun* out) {
  for (const auto& m : doc.GetObject()) {
    std::string_view k = Sv(m.name);
    bool ok = true;
    if (k == "experiment_id") {
      ok = RjString(m.value, &out->experiment_id);
    } else if (k == "run_name") {
      ok = RjString(m.value, &out->run_name);
    } else if (k == "start_time") {
      ok = RjInt64(m.value, &out->start_time);
    } else if (k == "tags") {
      ok = RjKeyValues(m.value, &out->tags);
    }
    if (!ok) return false;
  }
  return true;
}

// Parses `body` with kFlags and hands the root object to Read. The DOM's
// allocator is either fresh per request (core/json.h's, a small first chunk) or, with kPooled, a
// per-thread pool whose first 64 KiB are a reused buffer, reset after each request.
template <typename T, bool (*Read)(const json::Value&, T*), unsigned kFlags, bool kPooled>
bool ParseRapidJson(const std::string& body, T* out) {
  if constexpr (kPooled) {
    thread_local std::vector<char> buffer(64 << 10);
    thread_local json::Pool pool(buffer.data(), buffer.size());
    bool ok = false;
    {
      json::Document doc(&pool);
      doc.Parse<kFlags>(body.data(), body.size());
      ok = !doc.HasParseError() && doc.IsObject() && Read(doc, out);
    }
    pool.Clear();
    return ok;
  } else {
    json::Document doc;
    doc.Parse<kFlags>(body.data(), body.size());
    return !doc.HasParseError() && doc.IsObject() && Read(doc, out);
  }
}

constexpr unsigned kCairnFlags = json::kParseFlags;
constexpr unsigned kFullPrecisionFlags = json::kParseFlags | rapidjson::kParseFullPrecisionFlag;

// ---------------------------------------------------------------------------
// simdjson readers: On-Demand, error codes (no exceptions on request paths),
// one parser per thread reused across requests as simdjson's docs require.
// The body must carry SIMDJSON_PADDING spare bytes; a server can reserve them
// in its body buffer, otherwise it pays a copy (the fallback below).

bool SjString(od::value v, std::string* out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out->assign(s);
  return true;
}

bool SjKeyValues(od::value v, std::vector<KeyValue>* out) {
  od::array arr;
  if (v.get_array().get(arr)) return false;
  for (auto e : arr) {
    od::object obj;
    if (e.get_object().get(obj)) return false;
    KeyValue& kv = out->emplace_back();
    for (auto f : obj) {
      std::string_view k;
      od::value fv;
      if (f.unescaped_key().get(k) || f.value().get(fv)) return false;
      if (k == "key") {
        if (!SjString(fv, &kv.key)) return false;
      } else if (k == "value") {
        if (!SjString(fv, &kv.value)) return false;
      }
    }
  }
  return true;
}

bool SjMetrics(od::value v, std::vector<Metric>* out) {
  od::array arr;
  if (v.get_array().get(arr)) return false;
  for (auto e : arr) {
    od::object obj;
    if (e.get_object().get(obj)) return false;
    Metric& metric = out->emplace_back();
    for (auto f : obj) {
      std::string_view k;
      od::value fv;
      if (f.unescaped_key().get(k) || f.value().get(fv)) return false;
      bool ok = true;
      if (k == "key") {
        ok = SjString(fv, &metric.key);
      } else if (k == "value") {
        ok = !fv.get_double().get(metric.value);
      } else if (k == "timestamp") {
        ok = !fv.get_int64().get(metric.timestamp);
      } else if (k == "step") {
        ok = !fv.get_int64().get(metric.step);
      }
      if (!ok) return false;
    }
  }
  return true;
}

// Starts On-Demand iteration of `body` as an object.
bool SjRoot(const std::string& body, od::document* doc, od::object* root) {
  thread_local od::parser parser;
  thread_local simdjson::padded_string copy;
  simdjson::padded_string_view view;
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) {
    view = simdjson::padded_string_view(body.data(), body.size(), body.capacity());
  } else {
    copy = simdjson::padded_string(body);
    view = copy;
  }
  return !parser.iterate(view).get(*doc) && !doc->get_object().get(*root);
}

// Whether iteration consumed the whole body: On-Demand validates only what it
// visits, so trailing content after the root object must be checked for.
// (simdjson 3.0 has no document::at_end(); past the end, current_location()
// reports OUT_OF_BOUNDS.)
bool SjAtEnd(od::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

bool ParseLogBatchSimdjson(const std::string& body, LogBatch* out) {
  od::document doc;
  od::object root;
  if (!SjRoot(body, &doc, &root)) return false;
  for (auto f : root) {
    std::string_view k;
    od::value v;
    if (f.unescaped_key().get(k) || f.value().get(v)) return false;
    bool ok = true;
    if (k == "run_id") {
      ok = SjString(v, &out->run_id);
    } else if (k == "metrics") {
      ok = SjMetrics(v, &out->metrics);
    } else if (k == "params") {
      ok = SjKeyValues(v, &out->params);
    } else if (k == "tags") {
      ok = SjKeyValues(v, &out->tags);
    }
    if (!ok) return false;
  }
  return SjAtEnd(doc);
}

bool ParseInferRequestSimdjson(const std::string& body, InferRequest* out) {
  od::document doc;
  od::object root;
  if (!SjRoot(body, &doc, &root)) return false;
  for (auto f : root) {
    std::string_view k;
    od::value v;
    if (f.unescaped_key().get(k) || f.value().get(v)) return false;
    if (k != "inputs") continue;
    od::array inputs;
    if (v.get_array().get(inputs)) return false;
    for (auto in : inputs) {
      od::object obj;
      if (in.get_object().get(obj)) return false;
      Tensor& t = out->inputs.emplace_back();
      for (auto tf : obj) {
        std::string_view tk;
        od::value tv;
        if (tf.unescaped_key().get(tk) || tf.value().get(tv)) return false;
        if (tk == "name") {
          if (!SjString(tv, &t.name)) return false;
        } else if (tk == "datatype") {
          if (!SjString(tv, &t.datatype)) return false;
        } else if (tk == "shape") {
          od::array dims;
          if (tv.get_array().get(dims)) return false;
          for (auto d : dims) {
            if (d.get_int64().get(t.shape.emplace_back())) return false;
          }
        } else if (tk == "data") {
          // On-Demand cannot size an array without a second pass; the shape,
          // which precedes data in every client we know, gives the count.
          int64_t n = 1;
          for (int64_t d : t.shape) n *= d;
          if (n > 0 && n < (int64_t{1} << 28)) t.data.reserve(static_cast<size_t>(n));
          od::array xs;
          if (tv.get_array().get(xs)) return false;
          for (auto x : xs) {
            double d;
            if (x.get_double().get(d)) return false;
            t.data.push_back(static_cast<float>(d));
          }
        }
      }
    }
  }
  return SjAtEnd(doc);
}

bool ParseCreateRunSimdjson(const std::string& body, CreateRun* out) {
  od::document doc;
  od::object root;
  if (!SjRoot(body, &doc, &root)) return false;
  for (auto f : root) {
    std::string_view k;
    od::value v;
    if (f.unescaped_key().get(k) || f.value().get(v)) return false;
    bool ok = true;
    if (k == "experiment_id") {
      ok = SjString(v, &out->experiment_id);
    } else if (k == "run_name") {
      ok = SjString(v, &out->run_name);
    } else if (k == "start_time") {
      ok = !v.get_int64().get(out->start_time);
    } else if (k == "tags") {
      ok = SjKeyValues(v, &out->tags);
    }
    if (!ok) return false;
  }
  return SjAtEnd(doc);
}

// ---------------------------------------------------------------------------
// nlohmann readers: parse without exceptions, then walk the tree.

bool NlString(const Json& v, std::string* out) {
  if (!v.is_string()) return false;
  *out = v.get_ref<const std::string&>();
  return true;
}

bool NlInt64(const Json& v, int64_t* out) {
  if (!v.is_number_integer()) return false;
  *out = v.get<int64_t>();
  return true;
}

bool NlDouble(const Json& v, double* out) {
  if (!v.is_number()) return false;
  *out = v.get<double>();
  return true;
}

bool NlKeyValues(const Json& v, std::vector<KeyValue>* out) {
  if (!v.is_array()) return false;
  out->reserve(v.size());
  for (const Json& e : v) {
    if (!e.is_object()) return false;
    KeyValue& kv = out->emplace_back();
    for (const auto& [k, fv] : e.items()) {
      if (k == "key") {
        if (!NlString(fv, &kv.key)) return false;
      } else if (k == "value") {
        if (!NlString(fv, &kv.value)) return false;
      }
    }
  }
  return true;
}

bool NlMetrics(const Json& v, std::vector<Metric>* out) {
  if (!v.is_array()) return false;
  out->reserve(v.size());
  for (const Json& e : v) {
    if (!e.is_object()) return false;
    Metric& metric = out->emplace_back();
    for (const auto& [k, fv] : e.items()) {
      bool ok = true;
      if (k == "key") {
        ok = NlString(fv, &metric.key);
      } else if (k == "value") {
        ok = NlDouble(fv, &metric.value);
      } else if (k == "timestamp") {
        ok = NlInt64(fv, &metric.timestamp);
      } else if (k == "step") {
        ok = NlInt64(fv, &metric.step);
      }
      if (!ok) return false;
    }
  }
  return true;
}

Json NlParse(const std::string& body) {
  return Json::parse(body.data(), body.data() + body.size(), nullptr, /*allow_exceptions=*/false);
}

bool ParseLogBatchNlohmann(const std::string& body, LogBatch* out) {
  Json doc = NlParse(body);
  if (!doc.is_object()) return false;  // Also false when discarded (malformed).
  for (const auto& [k, v] : doc.items()) {
    bool ok = true;
    if (k == "run_id") {
      ok = NlString(v, &out->run_id);
    } else if (k == "metrics") {
      ok = NlMetrics(v, &out->metrics);
    } else if (k == "params") {
      ok = NlKeyValues(v, &out->params);
    } else if (k == "tags") {
      ok = NlKeyValues(v, &out->tags);
    }
    if (!ok) return false;
  }
  return true;
}

bool ParseInferRequestNlohmann(const std::string& body, InferRequest* out) {
  Json doc = NlParse(body);
  if (!doc.is_object()) return false;
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array()) return false;
  for (const Json& in : *inputs) {
    if (!in.is_object()) return false;
    Tensor& t = out->inputs.emplace_back();
    for (const auto& [k, v] : in.items()) {
      if (k == "name") {
        if (!NlString(v, &t.name)) return false;
      } else if (k == "datatype") {
        if (!NlString(v, &t.datatype)) return false;
      } else if (k == "shape") {
        if (!v.is_array()) return false;
        for (const Json& d : v) {
          if (!NlInt64(d, &t.shape.emplace_back())) return false;
        }
      } else if (k == "data") {
        if (!v.is_array()) return false;
        t.data.reserve(v.size());
        for (const Json& x : v) {
          if (!x.is_number()) return false;
          t.data.push_back(static_cast<float>(x.get<double>()));
        }
      }
    }
  }
  return true;
}

bool ParseCreateRunNlohmann(const std::string& body, CreateRun* out) {
  Json doc = NlParse(body);
  if (!doc.is_object()) return false;
  for (const auto& [k, v] : doc.items()) {
    bool ok = true;
    if (k == "experiment_id") {
      ok = NlString(v, &out->experiment_id);
    } else if (k == "run_name") {
      ok = NlString(v, &out->run_name);
    } else if (k == "start_time") {
      ok = NlInt64(v, &out->start_time);
    } else if (k == "tags") {
      ok = NlKeyValues(v, &out->tags);
    }
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Verification and registration.

// The RapidJSON variants timed: Cairn's flags as core/json.h has them, the
// same plus kParseFullPrecisionFlag, and Cairn's flags with a pooled allocator.
template <typename T, bool (*Read)(const json::Value&, T*)>
struct RapidJson {
  static constexpr ParseFn<T> kCairn = ParseRapidJson<T, Read, kCairnFlags, false>;
  static constexpr ParseFn<T> kFullPrecision = ParseRapidJson<T, Read, kFullPrecisionFlags, false>;
  static constexpr ParseFn<T> kPooled = ParseRapidJson<T, Read, kCairnFlags, true>;
};
using LogBatchRj = RapidJson<LogBatch, ReadLogBatchRapidJson>;
using InferRequestRj = RapidJson<InferRequest, ReadInferRequestRapidJson>;
using CreateRunRj = RapidJson<CreateRun, ReadCreateRunRapidJson>;

// Counts metric values not bit-identical to the source: number parsing that
// is not correctly rounded changes what the client logged.
int CountInexactMetrics(const LogBatch& got, const LogBatch& want) {
  if (got.metrics.size() != want.metrics.size()) return -1;
  int n = 0;
  for (size_t i = 0; i < got.metrics.size(); ++i) {
    n += got.metrics[i].value != want.metrics[i].value;
  }
  return n;
}

// Checks each candidate's answer once, then registers it for timing, in
// order. Outcomes go to stderr and into the benchmark context, so they are
// kept with the figures in --benchmark_out.
class Suite {
 public:
  template <typename T>
  void Parse(const std::string& name, ParseFn<T> parse, const std::string* body, const T* want) {
    T got;
    bool ok = parse(*body, &got);
    Check(name, ok && got == *want);
    if constexpr (std::is_same_v<T, LogBatch>) {
      int inexact = ok ? CountInexactMetrics(got, *want) : 0;
      if (inexact != 0) {
        Note(name + " inexact doubles",
             std::to_string(inexact) + " of " + std::to_string(want->metrics.size()));
      }
    }
    benchmark::RegisterBenchmark(name.c_str(), [parse, body](benchmark::State& state) {
      for (auto _ : state) {
        T out;
        bool parsed = parse(*body, &out);
        benchmark::DoNotOptimize(parsed);
        benchmark::DoNotOptimize(out);
      }
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                              static_cast<int64_t>(body->size()));
      state.counters["body_bytes"] = static_cast<double>(body->size());
    });
  }

  // `want` is the expected document; the output is re-parsed (nlohmann,
  // correctly rounded) and compared with it.
  template <typename T>
  void Write(const std::string& name, WriteFn<T> write, const T* value, const Json& want) {
    Json got = Json::parse(write(*value), nullptr, /*allow_exceptions=*/false);
    Check(name, !got.is_discarded() && got == want);
    benchmark::RegisterBenchmark(name.c_str(), [write, value](benchmark::State& state) {
      size_t size = 0;
      for (auto _ : state) {
        std::string out = write(*value);
        size = out.size();
        benchmark::DoNotOptimize(out);
      }
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                              static_cast<int64_t>(size));
      state.counters["body_bytes"] = static_cast<double>(size);
    });
  }

  void NotAvailable(const std::string& name, const char* why) {
    benchmark::RegisterBenchmark(name.c_str(), [why](benchmark::State& state) {
      state.SkipWithError(why);
      for (auto _ : state) {
      }
    });
  }

  void Note(const std::string& key, const std::string& value) {
    std::fprintf(stderr, "note   %-44s %s\n", key.c_str(), value.c_str());
    benchmark::AddCustomContext(key, value);
  }

  // REQUIRES: called once, after every check and before the run.
  void Finish() {
    benchmark::AddCustomContext("verification", failures_.empty() ? "all ok" : failures_);
  }

 private:
  void Check(const std::string& name, bool ok) {
    std::fprintf(stderr, "verify %-44s %s\n", name.c_str(), ok ? "ok" : "MISMATCH");
    if (!ok) failures_ += (failures_.empty() ? "mismatch: " : ", ") + name;
  }

  std::string failures_;
};

// Whether a parser accepts the bare NaN that Python's json module writes.
std::string AcceptsBareNaN(ParseFn<LogBatch> parse) {
  LogBatch got;
  bool ok =
      parse(R"({"run_id":"r","metrics":[{"key":"k","value":NaN,"timestamp":1,"step":0}]})", &got);
  return ok && got.metrics.size() == 1 && std::isnan(got.metrics[0].value) ? "yes" : "no";
}

// Whether a parser rejects content after the root object.
std::string RejectsTrailing(ParseFn<CreateRun> parse, const std::string& body) {
  CreateRun got;
  return parse(body + " {}", &got) ? "no" : "yes";
}

// Gives the body the spare capacity simdjson reads past the end.
std::string WithPadding(std::string s) {
  s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  return s;
}

std::string SimdjsonVersion() {
  return std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_MINOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_REVISION);
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  using namespace cairn;  // NOLINT(google-build-using-namespace): main only.
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const LogBatch log_batch = MakeLogBatch();
  const std::vector<Run> runs = MakeRuns();
  const InferRequest infer_request = MakeInferRequest();
  const InferResponse infer_response = MakeInferResponse();
  const CreateRun create_run = MakeCreateRun();
  const std::string log_batch_body =
      WithPadding(WriteWith<TextWriter, LogBatch, EmitLogBatch<TextWriter>>(log_batch));
  const std::string infer_body =
      WithPadding(WriteWith<TextWriter, InferRequest, EmitInferRequest<TextWriter>>(infer_request));
  const std::string small_body =
      WithPadding(WriteWith<TextWriter, CreateRun, EmitCreateRun<TextWriter>>(create_run));
  const Json runs_tree = SearchRunsTree(runs);
  const Json infer_tree = InferResponseTree(infer_response);
  constexpr const char* kNoWriter = "N/A: simdjson 3 has no public JSON writer (builder is 4.0+)";

  Suite suite;
  suite.Note("simdjson version", SimdjsonVersion());
  suite.Note("simdjson stage 1 (runtime dispatch)", simdjson::get_active_implementation()->name());
  // On-Demand's iteration and number/string parsing are header code built for
  // the kernel this translation unit's -march allows (fallback without one);
  // only stage 1 (structural indexing) dispatches at run time.
  suite.Note("simdjson On-Demand (compile time)", CAIRN_BENCH_STR(SIMDJSON_BUILTIN_IMPLEMENTATION));

  suite.Parse("log_batch_parse/rapidjson", LogBatchRj::kCairn, &log_batch_body, &log_batch);
  suite.Parse("log_batch_parse/rapidjson_fullprec", LogBatchRj::kFullPrecision, &log_batch_body,
              &log_batch);
  suite.Parse("log_batch_parse/rapidjson_pooled", LogBatchRj::kPooled, &log_batch_body, &log_batch);
  suite.Parse<LogBatch>("log_batch_parse/simdjson", ParseLogBatchSimdjson, &log_batch_body,
                        &log_batch);
  suite.Parse<LogBatch>("log_batch_parse/nlohmann", ParseLogBatchNlohmann, &log_batch_body,
                        &log_batch);

  suite.Write<std::vector<Run>>(
      "search_runs_write/rapidjson",
      WriteWith<RapidJsonOut, std::vector<Run>, EmitSearchRuns<RapidJsonOut>>, &runs, runs_tree);
  suite.NotAvailable("search_runs_write/simdjson", kNoWriter);
  suite.Write<std::vector<Run>>("search_runs_write/nlohmann", WriteSearchRunsNlohmann, &runs,
                                runs_tree);
  suite.Write<std::vector<Run>>("search_runs_write/hand",
                                WriteWith<TextWriter, std::vector<Run>, EmitSearchRuns<TextWriter>>,
                                &runs, runs_tree);

  suite.Parse("infer_parse/rapidjson", InferRequestRj::kCairn, &infer_body, &infer_request);
  suite.Parse("infer_parse/rapidjson_fullprec", InferRequestRj::kFullPrecision, &infer_body,
              &infer_request);
  suite.Parse("infer_parse/rapidjson_pooled", InferRequestRj::kPooled, &infer_body, &infer_request);
  suite.Parse<InferRequest>("infer_parse/simdjson", ParseInferRequestSimdjson, &infer_body,
                            &infer_request);
  suite.Parse<InferRequest>("infer_parse/nlohmann", ParseInferRequestNlohmann, &infer_body,
                            &infer_request);

  suite.Write<InferResponse>(
      "infer_write/rapidjson",
      WriteWith<RapidJsonOut, InferResponse, EmitInferResponse<RapidJsonOut>>, &infer_response,
      infer_tree);
  suite.NotAvailable("infer_write/simdjson", kNoWriter);
  suite.Write<InferResponse>("infer_write/nlohmann", WriteInferResponseNlohmann, &infer_response,
                             infer_tree);
  suite.Write<InferResponse>("infer_write/hand",
                             WriteWith<TextWriter, InferResponse, EmitInferResponse<TextWriter>>,
                             &infer_response, infer_tree);

  suite.Parse("small_parse/rapidjson", CreateRunRj::kCairn, &small_body, &create_run);
  suite.Parse("small_parse/rapidjson_pooled", CreateRunRj::kPooled, &small_body, &create_run);
  suite.Parse<CreateRun>("small_parse/simdjson", ParseCreateRunSimdjson, &small_body, &create_run);
  suite.Parse<CreateRun>("small_parse/nlohmann", ParseCreateRunNlohmann, &small_body, &create_run);

  suite.Note("bare NaN accepted: rapidjson", AcceptsBareNaN(LogBatchRj::kCairn));
  suite.Note("bare NaN accepted: simdjson", AcceptsBareNaN(ParseLogBatchSimdjson));
  suite.Note("bare NaN accepted: nlohmann", AcceptsBareNaN(ParseLogBatchNlohmann));
  suite.Note("trailing content rejected: rapidjson",
             RejectsTrailing(CreateRunRj::kCairn, small_body));
  suite.Note("trailing content rejected: simdjson",
             RejectsTrailing(ParseCreateRunSimdjson, small_body));
  suite.Note("trailing content rejected: nlohmann",
             RejectsTrailing(ParseCreateRunNlohmann, small_body));
  suite.Finish();

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
