// historical_bench: point-in-time training-set retrieval, Cairn beside a
// hand-written DuckDB ASOF JOIN, on the same Parquet files in one run.
// bench/historical_bench.py runs it, adds pandas merge_asof, and prints ratios.
//
//   historical_bench --dir DIR [--entities 3000000] [--feature-rows 400000]
//                    [--keys 100000] [--ttl-days 7] [--repeat 3] [--csv]
//
// Data: a feature view keyed by a string entity ("driver_<n>"), with an event
// and a created timestamp and three float features; an entity table with
// random keys (10% unknown), random times and a label. Both spread over 30 days.
//
// Prints one JSON object per measurement: {"engine":..., "mode":..., "seconds":...,
// "matched":..., "checksum":...}; equal matched/checksum mean equal answers.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "features/historical.h"
#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "offline/engine.h"

namespace {

using cairn::Status;
using cairn::features::FeatureRepo;
using cairn::offline::Engine;

struct Options {
  std::string dir;
  int64_t entities = 3'000'000;
  int64_t feature_rows = 400'000;
  int64_t keys = 100'000;
  int ttl_days = 7;
  int repeat = 3;
  bool csv = false;
  int threads = 2;
};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "historical_bench: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

void Check(const std::string& what, const Status& s) {
  if (!s.ok()) Die(what, s);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Matched rows and the sum of f1 over the table `name`: equal for equal answers.
std::pair<int64_t, double> Fingerprint(Engine& engine, const std::string& name) {
  auto t =
      engine.Query("SELECT count(f1)::BIGINT AS n, coalesce(sum(f1), 0)::DOUBLE AS s FROM " + name);
  if (!t.ok()) Die("fingerprint", t.status());
  return {t->columns[0].Int(0), t->columns[1].Double(0)};
}

void Report(const char* engine_name, const char* mode, double seconds,
            std::pair<int64_t, double> fingerprint) {
  std::printf(
      "{\"engine\": \"%s\", \"mode\": \"%s\", \"seconds\": %.4f, \"matched\": %lld, "
      "\"checksum\": %.6f}\n",
      engine_name, mode, seconds, static_cast<long long>(fingerprint.first), fingerprint.second);
  std::fflush(stdout);
}

void Generate(Engine& engine, const Options& o) {
  std::string features = o.dir + "/features.parquet";
  std::string entities = o.dir + "/entities.parquet";
  std::fprintf(stderr, "generating %lld feature rows and %lld entity rows in %s\n",
               static_cast<long long>(o.feature_rows), static_cast<long long>(o.entities),
               o.dir.c_str());
  Check("seed", engine.Execute("SELECT setseed(0.42)"));
  Check("features",
        engine.Execute(
            "COPY (SELECT 'driver_' || (i % " + std::to_string(o.keys) +
            ") AS driver_id, ts AS event_timestamp, ts + to_seconds((random() * 3600)::BIGINT) "
            "AS created, random()::DOUBLE AS f1, random()::DOUBLE AS f2, (random() * 100)::BIGINT "
            "AS f3 FROM (SELECT i, TIMESTAMP '2026-01-01' + to_microseconds((random() * 30 * "
            "86400e6)::BIGINT) AS ts FROM range(" +
            std::to_string(o.feature_rows) + ") r(i))) TO '" + features + "' (FORMAT parquet)"));
  Check("entities",
        engine.Execute("COPY (SELECT 'driver_' || (random() * " + std::to_string(o.keys * 11 / 10) +
                       ")::BIGINT AS driver_id, TIMESTAMP '2026-01-01' + to_microseconds((random() "
                       "* 30 * 86400e6)::BIGINT) AS event_timestamp, (random() < 0.3)::INTEGER AS "
                       "label FROM range(" +
                       std::to_string(o.entities) + ")) TO '" + entities + "' (FORMAT parquet)"));
  if (o.csv) {
    Check("csv", engine.Execute("COPY (SELECT * FROM '" + features + "') TO '" + o.dir +
                                "/features.csv' (HEADER)"));
    Check("csv", engine.Execute("COPY (SELECT * FROM '" + entities + "') TO '" + o.dir +
                                "/entities.csv' (HEADER)"));
  }
}

// The query a DuckDB user would write: ASOF on (key, time), then the ttl.
std::string DuckDbAsof(const Options& o, const std::string& entities, const std::string& features) {
  std::string ttl = "INTERVAL " + std::to_string(o.ttl_days) + " DAY";
  return "SELECT e.*, CASE WHEN f.event_timestamp >= e.event_timestamp - " + ttl +
         " THEN f.f1 END AS f1, CASE WHEN f.event_timestamp >= e.event_timestamp - " + ttl +
         " THEN f.f2 END AS f2, CASE WHEN f.event_timestamp >= e.event_timestamp - " + ttl +
         " THEN f.f3 END AS f3 FROM " + entities + " e ASOF LEFT JOIN " + features +
         " f ON e.driver_id = f.driver_id AND e.event_timestamp >= f.event_timestamp";
}

FeatureRepo Repo(const Options& o) {
  FeatureRepo repo;
  repo.project = "bench";
  repo.root = o.dir;
  std::string yaml =
      "entities:\n  - {name: driver, join_keys: [driver_id], value_type: String}\n"
      "sources:\n  - {name: src, path: features.parquet, timestamp_field: event_timestamp, "
      "created_timestamp_field: created}\n"
      "feature_views:\n  - name: stats\n    entities: [driver]\n    source: src\n    ttl: " +
      std::to_string(o.ttl_days) +
      "d\n    schema: [{name: f1, type: Float64}, {name: f2, type: Float64}, {name: f3, type: "
      "Int64}]\n";
  Check("definitions", cairn::features::ParseDefinitions(yaml, "bench.yaml", &repo));
  Check("definitions", cairn::features::ValidateRepo(repo));
  return repo;
}

// Cairn: retrieval from the entity table already in `engine` into table `out`.
void CairnInMemory(Engine& engine, const FeatureRepo& repo, const Options& o) {
  auto features = cairn::features::ResolveFeatures(repo, {"stats"}, "", false);
  if (!features.ok()) Die("resolve", features.status());
  cairn::features::HistoricalRequest request{.features = *features, .threads = o.threads};
  auto start = std::chrono::steady_clock::now();
  if (std::getenv("HISTORICAL_BENCH_STEPS") != nullptr) {
    request.progress = [start](const std::string& step) {
      std::fprintf(stderr, "  %.3f s: %s\n", Seconds(start), step.c_str());
    };
  }
  auto result = cairn::features::GetHistoricalFeatures(engine, repo, request);
  if (!result.ok()) Die("retrieval", result.status());
  if (request.progress) request.progress("materialising");
  Check("materialise", engine.Execute("CREATE OR REPLACE TABLE cairn_out AS " + result->query));
  if (request.progress) request.progress("done");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc || (i < argc && std::string(argv[i]) == "--csv"); ++i) {
    std::string flag = argv[i];
    if (flag == "--csv") {
      o.csv = true;
      continue;
    }
    std::string value = argv[++i];
    if (flag == "--dir")
      o.dir = value;
    else if (flag == "--entities")
      o.entities = std::stoll(value);
    else if (flag == "--feature-rows")
      o.feature_rows = std::stoll(value);
    else if (flag == "--keys")
      o.keys = std::stoll(value);
    else if (flag == "--ttl-days")
      o.ttl_days = std::stoi(value);
    else if (flag == "--repeat")
      o.repeat = std::stoi(value);
    else if (flag == "--threads")
      o.threads = std::stoi(value);
    else {
      std::fprintf(stderr, "historical_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (o.dir.empty()) {
    std::fprintf(stderr,
                 "usage: historical_bench --dir DIR [--entities N] [--feature-rows N] "
                 "[--keys N] [--ttl-days N] [--repeat N] [--threads N] [--csv]\n");
    return 2;
  }
  std::filesystem::create_directories(o.dir);
  auto engine = Engine::Open(o.threads);
  if (!engine.ok()) Die("duckdb", engine.status());
  Engine& db = **engine;
  Generate(db, o);
  FeatureRepo repo = Repo(o);
  Check("sources", cairn::features::RegisterSources(db, repo));
  std::string features_file = "read_parquet('" + o.dir + "/features.parquet')";

  // In memory: the entity table loaded; features read from Parquet; the
  // answer materialised as a table. Alternating, so neither runs on a warmer
  // cache than the other.
  Check("entities", cairn::features::LoadEntityFile(db, o.dir + "/entities.parquet"));
  for (int r = 0; r < o.repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    Check("duckdb asof", db.Execute("CREATE OR REPLACE TABLE duck_out AS " +
                                    DuckDbAsof(o, "cairn_entities", features_file)));
    Report("duckdb-asof", "in-memory", Seconds(start), Fingerprint(db, "duck_out"));
    start = std::chrono::steady_clock::now();
    CairnInMemory(db, repo, o);
    Report("cairn", "in-memory", Seconds(start), Fingerprint(db, "cairn_out"));
  }

  // End to end: Parquet in, Parquet out.
  for (int r = 0; r < o.repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    Check("duckdb e2e", db.Execute("COPY (" +
                                   DuckDbAsof(o, "read_parquet('" + o.dir + "/entities.parquet')",
                                              features_file) +
                                   ") TO '" + o.dir + "/duck_out.parquet' (FORMAT parquet)"));
    double duck = Seconds(start);
    Report("duckdb-asof", "parquet-to-parquet", duck,
           Fingerprint(db, "read_parquet('" + o.dir + "/duck_out.parquet')"));
    start = std::chrono::steady_clock::now();
    Check("entities", cairn::features::LoadEntityFile(db, o.dir + "/entities.parquet"));
    auto features = cairn::features::ResolveFeatures(repo, {"stats"}, "", false);
    cairn::features::HistoricalRequest request{.features = *features, .threads = o.threads};
    auto result = cairn::features::GetHistoricalFeatures(db, repo, request);
    if (!result.ok()) Die("retrieval", result.status());
    Check("write", cairn::features::WriteResult(db, result->query, o.dir + "/cairn_out.parquet"));
    Report("cairn", "parquet-to-parquet", Seconds(start),
           Fingerprint(db, "read_parquet('" + o.dir + "/cairn_out.parquet')"));
  }
  return 0;
}
