// MLflow 3's model-linked metric points, on SQLite and on PostgreSQL. A point
// logged with a model_id is stored once, as the model's; these tests check
// that the run's history still shows it exactly once (also when the same point
// names two models, or when a database written by an earlier version holds it
// in both tables), that paging and sampled history cut through the merged
// points correctly, and that the models see their own points.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>
#include <tuple>
#include <vector>

#include "core/env.h"
#include "status_testing.h"
#include "store/scratch_database.h"
#include "tracking/logged_model_service.h"
#include "tracking/schema.h"
#include "tracking/tracking_service.h"

namespace cairn::tracking {
namespace {

constexpr int64_t kTs = 1'700'000'000'000;

using Point = std::tuple<int64_t, double>;  // (step, value)

Metric ModelPoint(const std::string& key, int64_t step, double value, const std::string& model_id,
                  const std::string& dataset = "") {
  Metric m;
  m.key = key;
  m.step = step;
  m.value = value;
  m.timestamp = kTs + step;
  m.model_id = model_id;
  m.dataset_name = dataset;
  m.dataset_digest = dataset.empty() ? "" : "d-" + dataset;
  return m;
}

class ModelMetricsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Status created = database_.Create(GetParam());
    ASSERT_TRUE(created.ok()) << created.ToString();
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    auto opened = registry_.Open(database_.uri());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    service_ = std::make_unique<TrackingService>(store_.get(), &env_);
    models_ = std::make_unique<LoggedModelService>(store_.get(), &env_);
  }

  Status LogBatch(const std::string& run_id, std::vector<Metric> metrics) {
    LogBatchRequest batch;
    batch.run_id = run_id;
    batch.metrics = std::move(metrics);
    std::promise<Status> done;
    service_->LogBatchAsync(batch, [&done](Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  // The run's history of `key`, page by page of `page_size` (0: one read).
  std::vector<Point> History(const std::string& run_id, const std::string& key,
                             int64_t page_size = 0) {
    std::vector<Point> points;
    std::string token;
    do {
      auto next = service_->ReadMetricHistory(run_id, key, page_size, token, [&](const Metric& m) {
        points.emplace_back(m.step, m.value);
      });
      EXPECT_TRUE(next.ok()) << next.status().ToString();
      if (!next.ok()) break;
      token = *next;
    } while (!token.empty());
    return points;
  }

  std::vector<std::tuple<std::string, int64_t, double, std::string>> ModelPoints(
      const std::string& model_id) {
    auto model = models_->Get(model_id);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    std::vector<std::tuple<std::string, int64_t, double, std::string>> out;
    if (!model.ok()) return out;
    for (const Metric& m : model->metrics) {
      EXPECT_EQ(m.model_id, model_id);
      out.emplace_back(m.key, m.step, m.value, m.dataset_name);
    }
    return out;
  }

  store::MetadataStoreRegistry registry_ = store::AllBackends();
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> store_;
  FakeEnv env_;
  std::unique_ptr<TrackingService> service_;
  std::unique_ptr<LoggedModelService> models_;
};

TEST_P(ModelMetricsTest, RunHistoryMergesModelPointsOnce) {
  ASSERT_TRUE(service_->Init().ok());
  auto experiment = service_->CreateExperiment("merge", "", {});
  ASSERT_TRUE(experiment.ok());
  auto run = service_->CreateRun({.experiment_id = *experiment});
  ASSERT_TRUE(run.ok());
  const std::string run_id = run->info.run_id;
  auto a = models_->Create({.experiment_id = *experiment, .name = "a", .source_run_id = run_id});
  auto b = models_->Create({.experiment_id = *experiment, .name = "b", .source_run_id = run_id});
  ASSERT_TRUE(a.ok() && b.ok());

  Metric plain0 = ModelPoint("acc", 0, 0.5, "");
  Metric plain2 = ModelPoint("acc", 2, 0.7, "");
  // The same point for two models (MLflow's metrics table keeps it once),
  // and the same step on two datasets with different values (both kept).
  std::vector<Metric> batch = {plain0,
                               ModelPoint("acc", 1, 0.6, a->model_id, "val"),
                               ModelPoint("acc", 1, 0.6, b->model_id, "val"),
                               plain2,
                               ModelPoint("acc", 3, 0.8, b->model_id, "val"),
                               ModelPoint("acc", 3, 0.9, b->model_id, "test"),
                               ModelPoint("loss", 0, 0.1, a->model_id)};
  ASSERT_TRUE(LogBatch(run_id, batch).ok());
  // A retried batch changes nothing.
  ASSERT_TRUE(LogBatch(run_id, batch).ok());

  std::vector<Point> expected = {{0, 0.5}, {1, 0.6}, {2, 0.7}, {3, 0.8}, {3, 0.9}};
  EXPECT_EQ(History(run_id, "acc"), expected);
  for (int64_t page = 1; page <= 3; ++page) {
    EXPECT_EQ(History(run_id, "acc", page), expected) << "pages of " << page;
  }
  EXPECT_EQ(History(run_id, "loss"), (std::vector<Point>{{0, 0.1}}));

  // Sampled history (the UI's charts): two samples plus the last step.
  auto sampled =
      service_->GetMetricHistoryBulkInterval({run_id}, "acc", std::nullopt, std::nullopt, 2);
  ASSERT_TRUE(sampled.ok()) << sampled.status().ToString();
  std::vector<Point> sampled_points;
  for (const Metric& m : *sampled) sampled_points.emplace_back(m.step, m.value);
  EXPECT_EQ(sampled_points, (std::vector<Point>{{0, 0.5}, {2, 0.7}, {3, 0.8}, {3, 0.9}}));
  auto ranged = service_->GetMetricHistoryBulkInterval({run_id}, "acc", 1, 1, 10);
  ASSERT_TRUE(ranged.ok());
  ASSERT_EQ(ranged->size(), 1u);
  EXPECT_EQ((*ranged)[0].step, 1);

  // The run's latest value counts model-linked points too.
  auto got = service_->GetRun(run_id);
  ASSERT_TRUE(got.ok());
  bool saw_acc = false;
  for (const Metric& m : got->metrics) {
    if (m.key != "acc") continue;
    saw_acc = true;
    EXPECT_EQ(m.step, 3);
    EXPECT_TRUE(m.model_id.empty());
  }
  EXPECT_TRUE(saw_acc);

  using ModelPointRow = std::tuple<std::string, int64_t, double, std::string>;
  EXPECT_EQ(ModelPoints(a->model_id),
            (std::vector<ModelPointRow>{{"acc", 1, 0.6, "val"}, {"loss", 0, 0.1, ""}}));
  auto b_points = ModelPoints(b->model_id);
  std::sort(b_points.begin(), b_points.end());
  EXPECT_EQ(b_points,
            (std::vector<ModelPointRow>{
                {"acc", 1, 0.6, "val"}, {"acc", 3, 0.8, "val"}, {"acc", 3, 0.9, "test"}}));

  // Filters match any value a model ever had, on the datasets asked for.
  SearchLoggedModelsRequest search;
  search.experiment_ids = {*experiment};
  search.filter = "metrics.acc > 0.85";
  auto found = models_->Search(search);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->models.size(), 1u);
  EXPECT_EQ(found->models[0].model_id, b->model_id);
  search.datasets = {{.name = "val"}};
  found = models_->Search(search);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->models.empty());
}

TEST_P(ModelMetricsTest, UnknownModelWritesNothing) {
  ASSERT_TRUE(service_->Init().ok());
  auto experiment = service_->CreateExperiment("unknown", "", {});
  ASSERT_TRUE(experiment.ok());
  auto run = service_->CreateRun({.experiment_id = *experiment});
  ASSERT_TRUE(run.ok());
  Status refused = LogBatch(
      run->info.run_id,
      {ModelPoint("acc", 0, 0.5, ""), ModelPoint("acc", 1, 0.6, "m-" + std::string(32, '1'))});
  EXPECT_THAT(refused, ::cairn::testing::StatusIs(StatusCode::kNotFound)) << refused.ToString();
  EXPECT_TRUE(History(run->info.run_id, "acc").empty());
}

// A database written before model-linked points were stored once holds each
// of them in both tables; after the migration history shows it once and the
// model keeps it, with its dataset.
TEST_P(ModelMetricsTest, MigratesPointsWrittenTwiceByEarlierVersions) {
  auto migrations = TrackingMigrations();
  ASSERT_GE(migrations.size(), 4u);
  std::vector<store::Migration> before(migrations.begin(), migrations.begin() + 3);
  ASSERT_TRUE(store_->Migrate("tracking", before).ok());
  const std::string model_id = "m-" + std::string(32, 'a');
  Status seeded = store_->Write([&](store::SqlSession& db) -> Status {
    for (const char* sql : {
             "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
             "creation_time, last_update_time) VALUES (7, 'old', '/a', 'active', 1, 1)",
             "INSERT INTO runs (run_key, run_uuid, experiment_id, name, user_id, status, "
             "start_time, lifecycle_stage, artifact_uri) VALUES (5, 'r5', 7, 'old-run', 'u', "
             "'RUNNING', 1, 'active', '/a/r5')",
             "INSERT INTO logged_models (model_key, model_id, experiment_id, name, artifact_uri, "
             "status, status_message, model_type, source_run_id, lifecycle_stage, "
             "creation_timestamp_ms, last_updated_timestamp_ms) VALUES (3, "
             "'m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 7, 'old-model', '/a/m', 1, '', '', 'r5', "
             "'active', 1, 1)",
             "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan) VALUES "
             "(5, 'acc', 0, 1700000000000, 0.5, 0), (5, 'acc', 1, 1700000000001, 0.6, 0), "
             "(5, 'acc', 2, 1700000000002, 0.7, 0)",
             "INSERT INTO logged_model_metrics (model_key, key, timestamp, step, run_key, "
             "dataset_name, dataset_digest, value, is_nan) VALUES "
             "(3, 'acc', 1700000000001, 1, 5, 'val', 'd1', 0.6, 0), "
             "(3, 'acc', 1700000000002, 2, 5, '', '', 0.7, 0)",
         }) {
      RETURN_IF_ERROR(db.Execute(sql).status());
    }
    return Status::Ok();
  });
  ASSERT_TRUE(seeded.ok()) << seeded.ToString();

  ASSERT_TRUE(service_->Init().ok());  // Applies the remaining migrations.
  EXPECT_EQ(History("r5", "acc"), (std::vector<Point>{{0, 0.5}, {1, 0.6}, {2, 0.7}}));
  using ModelPointRow = std::tuple<std::string, int64_t, double, std::string>;
  EXPECT_EQ(ModelPoints(model_id),
            (std::vector<ModelPointRow>{{"acc", 1, 0.6, "val"}, {"acc", 2, 0.7, ""}}));
  // New points merge in once, also one the old layout already holds.
  ASSERT_TRUE(
      LogBatch("r5", {ModelPoint("acc", 2, 0.7, model_id), ModelPoint("acc", 3, 0.8, model_id)})
          .ok());
  EXPECT_EQ(History("r5", "acc"), (std::vector<Point>{{0, 0.5}, {1, 0.6}, {2, 0.7}, {3, 0.8}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelMetricsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace cairn::tracking
