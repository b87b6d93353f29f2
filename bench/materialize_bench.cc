// materialize_bench: materialization throughput into the online stores.
//
//   materialize_bench --dir DIR [--entities 1000000] [--redis redis://...] [--skip-generate]
//
// Generates DIR/features.parquet: --entities entities x 1.2 rows (a fifth of
// them with an older second row, so "latest per entity" has work to do),
// an event and a created timestamp and 50 Float64 features f0..f49. Then
// materializes the view `narrow` (f0..f9) into the embedded LMDB store in
// DIR/online and, with --redis, into Redis, each twice (a first load, then
// over the stored keys); prints one JSON line per store and pass with rows/s. bench/online_bench.py
// reuses DIR for its HTTP measurements.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/env.h"
#include "features/feature_registry.h"
#include "features/materialize.h"
#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "offline/engine.h"
#include "online/lmdb/lmdb_online_store.h"
#include "online/redis/redis_online_store.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using cairn::Status;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "materialize_bench: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

void Check(const std::string& what, const Status& s) {
  if (!s.ok()) Die(what, s);
}

// The definitions the benches use: two views over one Parquet file.
std::string Definitions(const std::string& dir) {
  std::string wide;
  std::string narrow;
  for (int i = 0; i < 50; ++i) {
    std::string field = "{name: f" + std::to_string(i) + ", type: Float64}";
    wide += (i ? ", " : "") + field;
    if (i < 10) narrow += (i ? ", " : "") + field;
  }
  return "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
         "sources:\n  - {name: src, path: " +
         dir + "/features.parquet, timestamp_field: ts, created_timestamp_field: created}\n" +
         "feature_views:\n  - {name: narrow, entities: [user], source: src, schema: [" + narrow +
         "]}\n  - {name: wide, entities: [user], source: src, schema: [" + wide + "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, redis;
  int64_t entities = 1'000'000;
  bool generate = true;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--skip-generate") {
      generate = false;
    } else if (i + 1 < argc && flag == "--dir") {
      dir = argv[++i];
    } else if (i + 1 < argc && flag == "--entities") {
      entities = std::stoll(argv[++i]);
    } else if (i + 1 < argc && flag == "--redis") {
      redis = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: materialize_bench --dir DIR [--entities N] [--redis URI] "
                   "[--skip-generate]\n");
      return 2;
    }
  }
  if (dir.empty()) Die("usage", cairn::InvalidArgument("--dir is required"));
  std::filesystem::create_directories(dir);
  auto engine = cairn::offline::Engine::Open(2);
  if (!engine.ok()) Die("duckdb", engine.status());
  if (generate) {
    std::string features;
    for (int i = 0; i < 50; ++i) features += ", random() AS f" + std::to_string(i);
    std::fprintf(stderr, "generating %lld entities (x1.2 rows, 50 features)\n",
                 static_cast<long long>(entities));
    Check("generate",
          (*engine)->Execute("SELECT setseed(0.5); COPY (SELECT (i % " + std::to_string(entities) +
                             ") AS user_id, TIMESTAMP '2026-01-01' + to_seconds(i) AS ts, "
                             "TIMESTAMP '2026-01-01' + to_seconds(i) AS created" +
                             features + " FROM range(" + std::to_string(entities * 6 / 5) +
                             ") r(i)) TO '" + dir + "/features.parquet' (FORMAT parquet)"));
  }
  std::ofstream(dir + "/defs.yaml") << Definitions(dir);

  auto metadata = cairn::store::OpenSqliteStore(dir + "/bench-meta.db");
  if (!metadata.ok()) Die("metadata", metadata.status());
  cairn::features::FeatureRegistry registry(metadata->get(), cairn::Env::Default());
  Check("registry", registry.Init());
  cairn::features::FeatureRepo repo;
  repo.project = "bench";
  repo.root = dir;
  Check("definitions", cairn::features::ParseDefinitions(Definitions(dir), "bench", &repo));
  Check("sources", cairn::features::RegisterSources(**engine, repo));

  // Each store is measured twice: a first load into an empty table, then the
  // same rows again over it, where every key exists and the write rule
  // compares times (the steady state of incremental materialization).
  auto run = [&](const std::string& name, cairn::online::OnlineStore& store) {
    Check("drop",
          store.DropTable(cairn::features::OnlineTable("bench", *repo.FindFeatureView("narrow"))));
    for (const char* pass : {"first load", "over existing keys"}) {
      cairn::features::MaterializeRequest request{
          .views = {"narrow"}, .start_micros = 0, .end_micros = INT64_MAX / 2};
      auto start = std::chrono::steady_clock::now();
      if (std::getenv("MATERIALIZE_BENCH_STEPS") != nullptr) {
        request.progress = [start](const std::string& view, size_t done, size_t total) {
          std::fprintf(
              stderr, "  %.3f s: %s %zu/%zu\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              view.c_str(), done, total);
        };
      }
      auto done = cairn::features::Materialize(**engine, repo, registry, store, request);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!done.ok()) Die(name, done.status());
      size_t rows = (*done)[0].written + (*done)[0].kept_newer;
      std::printf(
          "{\"store\": \"%s\", \"pass\": \"%s\", \"rows\": %zu, \"seconds\": %.3f, "
          "\"rows_per_s\": %.0f}\n",
          name.c_str(), pass, rows, seconds, rows / seconds);
      std::fflush(stdout);
    }
  };
  auto lmdb = cairn::online::OpenLmdbOnlineStore(dir + "/online");
  if (!lmdb.ok()) Die("lmdb", lmdb.status());
  run("lmdb", **lmdb);
  if (!redis.empty()) {
    auto r = cairn::online::OpenRedisOnlineStore(redis);
    if (!r.ok()) Die("redis", r.status());
    run("redis", **r);
  }
  return 0;
}
