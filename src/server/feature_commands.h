// `cairn features ...`: the feature store from the command line.
//   plan         compare a repo folder with what is applied (terraform-style)
//   apply        store the repo as the project's next registry version
//   list         print what the applied version defines
//   versions     print the project's applied versions
//   historical   build a point-in-time correct training set to a file
//   materialize START END, materialize-incremental END
//                copy the latest values into the online store
//   stats VIEW   compute and print a view's statistics
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/server_config.h"

namespace cairn::server {

struct FeaturesCommand {
  enum class Action {
    kPlan,
    kApply,
    kList,
    kVersions,
    kHistorical,
    kMaterialize,
    kMaterializeIncremental,
    kStats,
  };
  Action action = Action::kList;
  std::string repo;                 // repo folder (plan, apply; names the project elsewhere)
  bool skip_source_checks = false;  // plan, apply: do not check the repo against its data
  std::string project;              // default: the repo's project, else the only applied one
  int64_t version = 0;              // list/historical: 0 = newest
  // historical
  std::string entities;
  std::vector<std::string> features;
  std::string service;
  std::string out;
  bool full_feature_names = false;
  std::string timestamp_column;  // the entities' time column (default: event_timestamp)
  std::string as_of_created;     // a timestamp, e.g. 2026-01-31T00:00:00Z
  int threads = 0;
  // materialize: the window (start only for kMaterialize) and the views
  // (empty: every online view).
  std::string start;
  std::string end;
  std::vector<std::string> views;
  bool no_stats = false;  // materialize: skip computing the window's statistics
  std::string view;       // stats
};

// Prints results to stdout and progress/errors to stderr; returns the exit code.
int RunFeaturesCommand(const ServerConfig& config, const FeaturesCommand& command);

}  // namespace cairn::server
