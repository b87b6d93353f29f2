// The point-in-time join kernel against a brute-force reference written
// straight from the rule, on hand-built adversarial cases and on random
// tables dense with ties, ttl edges, nulls and duplicate keys.
#include "features/pit_join.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "status_testing.h"

namespace cairn::features {
namespace {

using offline::Column;
using offline::ColumnType;

struct FeatureRow {
  std::optional<std::string> key_a;  // string key
  std::optional<int64_t> key_b;      // integer key
  std::optional<int64_t> ts;
  std::optional<int64_t> created;
};

struct EntityRow {
  std::optional<std::string> key_a;
  std::optional<int64_t> key_b;
  std::optional<int64_t> ts;
};

// The rule, checked row by row: the greatest (ts, created, row index) among
// rows with equal keys and t - ttl <= ts <= t, created within the cutoff.
int64_t Reference(const std::vector<FeatureRow>& features, const EntityRow& e,
                  const PitJoinOptions& options, bool has_created) {
  if (!e.ts || !e.key_a || !e.key_b) return -1;
  int64_t best = -1;
  auto created = [&](const FeatureRow& f) {
    return has_created && f.created ? *f.created : std::numeric_limits<int64_t>::min();
  };
  for (size_t i = 0; i < features.size(); ++i) {
    const FeatureRow& f = features[i];
    if (!f.ts || !f.key_a || !f.key_b || *f.key_a != *e.key_a || *f.key_b != *e.key_b) continue;
    if (*f.ts > *e.ts) continue;
    if (options.ttl_micros > 0 && *f.ts < *e.ts - options.ttl_micros) continue;
    if (options.created_cutoff_micros && has_created &&
        (!f.created || *f.created > *options.created_cutoff_micros)) {
      continue;
    }
    if (best < 0) {
      best = static_cast<int64_t>(i);
      continue;
    }
    const FeatureRow& b = features[best];
    if (*f.ts > *b.ts || (*f.ts == *b.ts && created(f) >= created(b)))
      best = static_cast<int64_t>(i);
  }
  return best;
}

struct Columns {
  Column a{"a", ColumnType::kString};
  Column b{"b", ColumnType::kInt64};
  Column ts{"ts", ColumnType::kTimestamp};
  Column created{"created", ColumnType::kTimestamp};
};

template <typename T>
void Put(Column& c, const std::optional<T>& v) {
  if (!v) return c.AppendNull();
  if constexpr (std::is_same_v<T, std::string>) {
    c.AppendString(*v);
  } else {
    c.AppendInt(*v);
  }
}

std::vector<int64_t> RunKernel(const std::vector<FeatureRow>& features,
                               const std::vector<EntityRow>& entities,
                               const PitJoinOptions& options, bool has_created) {
  Columns f, e;
  for (const FeatureRow& r : features) {
    Put(f.a, r.key_a);
    Put(f.b, r.key_b);
    Put(f.ts, r.ts);
    Put(f.created, r.created);
  }
  for (const EntityRow& r : entities) {
    Put(e.a, r.key_a);
    Put(e.b, r.key_b);
    Put(e.ts, r.ts);
  }
  PitJoinInput input{.entity_keys = {&e.a, &e.b},
                     .entity_ts = &e.ts,
                     .feature_keys = {&f.a, &f.b},
                     .feature_ts = &f.ts,
                     .feature_created = has_created ? &f.created : nullptr};
  auto result = PointInTimeJoin(input, options);
  EXPECT_OK(result.status());
  return result.ok() ? *result : std::vector<int64_t>{};
}

void ExpectMatchesReference(const std::vector<FeatureRow>& features,
                            const std::vector<EntityRow>& entities, const PitJoinOptions& options,
                            bool has_created) {
  std::vector<int64_t> got = RunKernel(features, entities, options, has_created);
  ASSERT_EQ(got.size(), entities.size());
  for (size_t i = 0; i < entities.size(); ++i) {
    ASSERT_EQ(got[i], Reference(features, entities[i], options, has_created))
        << "entity row " << i << " (ttl " << options.ttl_micros << ")";
  }
}

TEST(PitJoinTest, HandBuiltEdges) {
  // Two keys whose concatenations collide ("a|b" + "c" vs "a" + "b|c" style).
  std::vector<FeatureRow> features = {
      {"x", 1, 100, 1},           // 0
      {"x", 1, 200, 5},           // 1: tie on ts with 2, older created
      {"x", 1, 200, 9},           // 2: wins the tie
      {"x", 1, 200, 9},           // 3: full tie: the later row wins
      {"x1", 1, 150, 1},          // 4: another key whose text starts the same
      {"x", 11, 150, 1},          // 5
      {std::nullopt, 1, 150, 1},  // 6: null key never matches
      {"x", 1, std::nullopt, 1},  // 7: null ts never matches
      {"y", 2, 1000, 1},          // 8
  };
  std::vector<EntityRow> entities = {
      {"x", 1, 200},                           // exactly at the tie: row 3
      {"x", 1, 199},                           // before it: row 0
      {"x", 1, 99},                            // before everything: none
      {"x1", 1, 150},                          // exact ts match: row 4
      {"x", 11, 1000},        {"y", 2, 1000},  // ttl edge (with ttl 100: 1000 - 100 <= 1000)
      {"y", 2, 1100},                          // ttl edge inclusive: 1100 - 100 == 1000
      {"y", 2, 1101},                          // just outside ttl 100
      {"z", 9, 5000},                          // unknown entity
      {std::nullopt, 1, 200}, {"x", 1, std::nullopt},
      {"x", 1, 200},  // duplicate entity rows each get their answer
  };
  for (int64_t ttl : {0, 100, 1}) {
    PitJoinOptions options{.ttl_micros = ttl};
    ExpectMatchesReference(features, entities, options, /*has_created=*/true);
  }
  std::vector<int64_t> got = RunKernel(features, entities, {.ttl_micros = 100}, true);
  EXPECT_EQ(got[0], 3);
  EXPECT_EQ(got[1], 0);
  EXPECT_EQ(got[2], -1);
  EXPECT_EQ(got[3], 4);
  EXPECT_EQ(got[6], 8);
  EXPECT_EQ(got[7], -1);
  EXPECT_EQ(got[11], 3);
}

TEST(PitJoinTest, CreatedCutoffHidesLaterBackfills) {
  std::vector<FeatureRow> features = {
      {"x", 1, 100, 100},  // known at 100
      {"x", 1, 150, 900},  // a backfill written at 900 for time 150
  };
  std::vector<EntityRow> entities = {{"x", 1, 200}};
  EXPECT_EQ(RunKernel(features, entities, {}, true)[0], 1);
  EXPECT_EQ(RunKernel(features, entities, {.created_cutoff_micros = 500}, true)[0], 0);
  ExpectMatchesReference(features, entities, {.created_cutoff_micros = 500}, true);
}

TEST(PitJoinTest, KeysOfDifferentStorageAreRefused) {
  Column s{"k", ColumnType::kString}, i{"k", ColumnType::kInt64};
  Column ts{"ts", ColumnType::kTimestamp};
  PitJoinInput input{
      .entity_keys = {&s}, .entity_ts = &ts, .feature_keys = {&i}, .feature_ts = &ts};
  EXPECT_THAT(PointInTimeJoin(input, {}), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

// Random tables small in key and time range, so ties, duplicates and ttl
// edges are everywhere; big enough to take the multi-threaded paths.
TEST(PitJoinTest, RandomTablesMatchTheReference) {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int64_t>(rng() % n); };
  for (int round = 0; round < 30; ++round) {
    std::vector<FeatureRow> features;
    int feature_count = round < 25 ? 60 + pick(200) : 300;
    for (int i = 0; i < feature_count; ++i) {
      FeatureRow r{"k" + std::to_string(pick(5)), pick(3), pick(50), pick(4)};
      if (pick(40) == 0) r.key_a.reset();
      if (pick(40) == 0) r.ts.reset();
      if (pick(20) == 0) r.created.reset();
      features.push_back(r);
    }
    std::vector<EntityRow> entities;
    int entity_count = round < 25 ? 100 : (round == 29 ? 70000 : 2000);
    for (int i = 0; i < entity_count; ++i) {
      EntityRow r{"k" + std::to_string(pick(6)), pick(3), pick(60)};
      if (pick(50) == 0) r.key_b.reset();
      entities.push_back(r);
    }
    PitJoinOptions options{.ttl_micros = pick(4) == 0 ? 0 : 1 + pick(20), .threads = 2};
    if (pick(3) == 0) options.created_cutoff_micros = pick(4);
    bool has_created = pick(4) != 0;
    ExpectMatchesReference(features, entities, options, has_created);
  }
}

}  // namespace
}  // namespace cairn::features
