// `cairn`: the one binary. Subcommands: server, users, tokens, audit, promotions,
// policies, keys, models, lineage, version.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <tuple>

#include "cli/settings_flags.h"
#include "core/env.h"
#include "governance/policy.h"
#include "http/system_routes.h"
#include "server/features_main.h"
#include "server/server_config.h"
#include "server/server_main.h"

namespace {

// Reads --config before the full parse, so flags and env override the file.
std::string FindConfigFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  const char* env = std::getenv("CAIRN_CONFIG");
  return env != nullptr ? env : "";
}

// `cairn policies check`: every policy file's verdict; exit 1 if any is
// broken (the server refuses that model's stage and alias changes).
int CheckPolicies(const std::string& dir) {
  auto checks = cairn::governance::CheckPolicies(cairn::Env::Default(), dir);
  if (!checks.ok() && checks.status().code() == cairn::StatusCode::kNotFound) {
    std::cout << "no policies folder at " << dir << ": no stage or alias is guarded\n";
    return 0;
  }
  if (!checks.ok()) {
    std::cerr << "cairn: " << checks.status().message() << "\n";
    return 1;
  }
  int broken = 0;
  for (const auto& check : *checks) {
    if (check.status.ok()) {
      std::cout << "ok\t" << check.file << "\n";
    } else {
      ++broken;
      std::cout << "error\t" << check.status.message() << "\n";
    }
  }
  std::cout << checks->size() << " file(s) in " << dir << ", " << broken << " with errors\n";
  return broken == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Cairn: experiment tracking, registry, features, pipelines, serving and "
      "monitoring in one binary."};
  app.require_subcommand(1);

  cairn::server::ServerConfig config;
  std::string config_file = FindConfigFlag(argc, argv);
  if (!config_file.empty()) {
    cairn::Status loaded = cairn::server::LoadConfigFile(config_file, &config);
    if (!loaded.ok()) {
      std::cerr << "cairn: " << loaded.message() << "\n";
      return 2;
    }
  }

  CLI::App* server = app.add_subcommand("server", "Run the tracking server (MLflow REST API).");
  server->add_option("--config", config_file, "YAML file with settings (flags and env win)")
      ->envname("CAIRN_CONFIG");
  // Every other flag from the one list of server settings.
  cairn::config::Settings server_settings;
  cairn::server::DeclareSettings(&config, &server_settings);
  cairn::cli::AddSettingFlags(server, server_settings);

  // Users, grants and tokens, straight on the metadata store.
  cairn::server::UserCommand user_command;
  using Action = cairn::server::UserCommand::Action;
  auto store_options = [&](CLI::App* cmd) {
    cmd->add_option("--data-dir", config.data_dir, "Folder for embedded state")
        ->envname("CAIRN_DATA_DIR");
    cmd->add_option("--store", config.store_uri, "Metadata store URI")->envname("CAIRN_STORE");
  };
  CLI::App* users = app.add_subcommand("users", "Manage users, roles and per-resource grants.");
  users->require_subcommand(1);
  auto user_cmd = [&](const char* name, const char* help, Action action, bool needs_user) {
    CLI::App* cmd = users->add_subcommand(name, help);
    store_options(cmd);
    if (needs_user) cmd->add_option("user", user_command.user, "User name")->required();
    cmd->callback([&user_command, action] { user_command.action = action; });
    return cmd;
  };
  CLI::App* add = user_cmd("add", "Create a user.", Action::kAdd, true);
  add->add_option("--role", user_command.role, "viewer, editor, approver or admin")
      ->default_val("viewer");
  add->add_option("--password", user_command.password, "At least 8 characters")
      ->envname("CAIRN_PASSWORD")
      ->required();
  user_cmd("list", "List users and their roles.", Action::kList, false);
  user_cmd("delete", "Delete a user with their tokens and grants.", Action::kDelete, true);
  user_cmd("set-role", "Change a user's role.", Action::kSetRole, true)
      ->add_option("--role", user_command.role, "viewer, editor, approver or admin")
      ->required();
  user_cmd("set-password", "Change a user's password.", Action::kSetPassword, true)
      ->add_option("--password", user_command.password, "At least 8 characters")
      ->envname("CAIRN_PASSWORD")
      ->required();
  for (auto [name, action] : {std::pair{"grant", Action::kGrant}, {"ungrant", Action::kUngrant}}) {
    CLI::App* cmd = user_cmd(name,
                             action == Action::kGrant
                                 ? "Set a user's level on one experiment or registered model."
                                 : "Remove a grant (the role's default applies again).",
                             action, true);
    cmd->add_option("--experiment", user_command.experiment, "Experiment id");
    cmd->add_option("--model", user_command.model, "Registered model name");
    if (action == Action::kGrant) {
      cmd->add_option("--level", user_command.level, "none, read, edit or manage")->required();
    }
  }
  user_cmd("grants", "List a user's grants.", Action::kGrants, true);

  CLI::App* tokens = app.add_subcommand("tokens", "Manage API tokens (MLFLOW_TRACKING_TOKEN).");
  tokens->require_subcommand(1);
  for (auto [name, action] :
       {std::pair{"create", Action::kCreateToken}, {"revoke", Action::kRevokeToken}}) {
    CLI::App* cmd = tokens->add_subcommand(name, action == Action::kCreateToken
                                                     ? "Create a token; it is printed once."
                                                     : "Revoke a token.");
    store_options(cmd);
    cmd->add_option("user", user_command.user, "User name")->required();
    cmd->add_option("--name", user_command.token_name, "Token name")->default_val("default");
    cmd->callback([&user_command, action] { user_command.action = action; });
  }

  app.add_subcommand("version", "Print the version.")->callback([] {
    std::cout << "cairn 0.1.0 (MLflow API " << cairn::http::kMlflowCompatibleVersion << ")\n";
  });

  cairn::server::AuditCommand audit_command;
  CLI::App* audit = app.add_subcommand("audit", "Check or read the hash-chained audit log.");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the chain; names every edited, dropped or reordered entry (exit 3).");
  store_options(verify);
  CLI::App* list = audit->add_subcommand("list", "Print entries, oldest first.");
  store_options(list);
  list->add_option("--after", audit_command.after, "Only entries after this sequence number");
  list->add_option("--limit", audit_command.limit, "At most this many")->default_val(100);
  list->callback([&audit_command] { audit_command.verify = false; });

  cairn::server::PromotionCommand promotion;
  using PromotionAction = cairn::server::PromotionCommand::Action;
  CLI::App* promotions =
      app.add_subcommand("promotions", "Request and approve guarded promotions (policies).");
  promotions->require_subcommand(1);
  auto promotion_cmd = [&](const char* name, const char* help, PromotionAction action) {
    CLI::App* cmd = promotions->add_subcommand(name, help);
    store_options(cmd);
    cmd->add_option("--policies", config.policies_dir, "Folder of promotion policies")
        ->envname("CAIRN_POLICIES");
    cmd->add_option("--user", promotion.user, "Who acts (once users exist)")->envname("CAIRN_USER");
    cmd->add_option("--password", promotion.password, "Their password")->envname("CAIRN_PASSWORD");
    cmd->callback([&promotion, action] { promotion.action = action; });
    return cmd;
  };
  CLI::App* request = promotion_cmd("request", "Ask for a version to enter a stage or alias.",
                                    PromotionAction::kRequest);
  request->add_option("model", promotion.model, "Registered model")->required();
  request->add_option("version", promotion.version, "Version")->required();
  request->add_option("--stage", promotion.stage, "Target stage, e.g. Production");
  request->add_option("--alias", promotion.alias, "Target alias, e.g. champion");
  for (auto [name, action] : {std::pair{"approve", PromotionAction::kApprove},
                              {"reject", PromotionAction::kReject},
                              {"show", PromotionAction::kShow}}) {
    CLI::App* cmd = promotion_cmd(name,
                                  action == PromotionAction::kShow
                                      ? "Show a request and where it stands against its policy."
                                      : "Decide a request (approver role).",
                                  action);
    cmd->add_option("id", promotion.id, "Request id")->required();
    if (action != PromotionAction::kShow) cmd->add_option("--comment", promotion.comment, "Why");
  }
  promotion_cmd("list", "List a model's requests, newest first.", PromotionAction::kList)
      ->add_option("model", promotion.model, "Registered model")
      ->required();

  cairn::server::SigningCommand signing_command;
  using SigningAction = cairn::server::SigningCommand::Action;
  CLI::App* keys = app.add_subcommand("keys", "The ed25519 key that signs model versions.");
  keys->require_subcommand(1);
  CLI::App* models = app.add_subcommand("models", "Sign and verify registered model versions.");
  models->require_subcommand(1);
  auto signing_cmd = [&](CLI::App* parent, const char* name, const char* help,
                         SigningAction action) {
    CLI::App* cmd = parent->add_subcommand(name, help);
    store_options(cmd);
    cmd->add_option("--keys", config.keys_dir, "Key folder (default: --data-dir/keys)")
        ->envname("CAIRN_KEYS");
    cmd->add_option("--artifacts", config.artifacts_uri, "Artifact store URI")
        ->envname("CAIRN_ARTIFACTS");
    cmd->callback([&signing_command, action] { signing_command.action = action; });
    return cmd;
  };
  signing_cmd(keys, "generate", "Create the key pair.", SigningAction::kGenerate)
      ->add_flag("--force", signing_command.force, "Replace an existing key");
  signing_cmd(keys, "show", "Print the public key and its id.", SigningAction::kShow);
  for (auto [name, action] :
       {std::pair{"sign", SigningAction::kSign}, {"verify", SigningAction::kVerify}}) {
    signing_cmd(models, name,
                action == SigningAction::kSign
                    ? "Sign a version's files (e.g. one registered before the key existed)."
                    : "Check a version's files against its signature; names what changed.",
                action)
        ->add_option("uri", signing_command.uri, "models:/<name>/<version> (or @alias, /Stage)")
        ->required();
  }

  cairn::server::FeaturesCommand features_command;
  using FeaturesAction = cairn::server::FeaturesCommand::Action;
  CLI::App* features = app.add_subcommand(
      "features", "Feature store: plan/apply definitions, build point-in-time training sets.");
  features->require_subcommand(1);
  for (auto [name, help, action] :
       {std::tuple{"plan", "Show what `apply` would add, change and remove.",
                   FeaturesAction::kPlan},
        std::tuple{"apply", "Store the repo's definitions as the project's next version.",
                   FeaturesAction::kApply},
        std::tuple{"list", "Print the applied definitions.", FeaturesAction::kList},
        std::tuple{"versions", "Print the project's applied versions.", FeaturesAction::kVersions},
        std::tuple{"historical", "Build a point-in-time correct training set.",
                   FeaturesAction::kHistorical},
        std::tuple{"materialize", "Copy the latest values in [START, END] into the online store.",
                   FeaturesAction::kMaterialize},
        std::tuple{"materialize-incremental",
                   "Materialize each view from where it last ended up to END.",
                   FeaturesAction::kMaterializeIncremental},
        std::tuple{"stats", "Compute, save and print a feature view's statistics.",
                   FeaturesAction::kStats}}) {
    CLI::App* cmd = features->add_subcommand(name, help);
    store_options(cmd);
    cmd->add_option("--repo", features_command.repo,
                    "Feature repo folder (with cairn_features.yaml); default: current folder");
    cmd->add_option("--project", features_command.project, "Project (default: the repo's)");
    if (action == FeaturesAction::kList || action == FeaturesAction::kHistorical) {
      cmd->add_option("--version", features_command.version, "Registry version (default: newest)");
    }
    if (action == FeaturesAction::kHistorical) {
      cmd->add_option("--entities", features_command.entities,
                      "Parquet or CSV file: join keys, event_timestamp, any other columns")
          ->required();
      cmd->add_option("--features", features_command.features,
                      "view:feature references (comma separated; view or view:* for all)")
          ->delimiter(',');
      cmd->add_option("--service", features_command.service, "A feature service instead");
      cmd->add_option("--out", features_command.out, "Output file: .parquet or .csv")->required();
      cmd->add_flag("--full-feature-names", features_command.full_feature_names,
                    "Name columns view__feature");
      cmd->add_option("--as-of-created", features_command.as_of_created,
                      "Ignore feature rows created after this time (no backfill leakage)");
      cmd->add_option("--threads", features_command.threads, "Worker threads (0 = one per core)");
    }
    if (action == FeaturesAction::kMaterialize ||
        action == FeaturesAction::kMaterializeIncremental) {
      if (action == FeaturesAction::kMaterialize) {
        cmd->add_option("start", features_command.start, "Window start, e.g. 2026-01-01T00:00:00")
            ->required();
      }
      cmd->add_option("end", features_command.end, "Window end, e.g. 2026-01-31T00:00:00")
          ->required();
      cmd->add_option("--views", features_command.views,
                      "Feature views (default: every online one)")
          ->delimiter(',');
      cmd->add_option("--threads", features_command.threads, "DuckDB threads (0 = one per core)");
      cmd->add_flag("--no-stats", features_command.no_stats,
                    "Do not compute the window's statistics (cairn features stats)");
    }
    if (action == FeaturesAction::kMaterialize ||
        action == FeaturesAction::kMaterializeIncremental || action == FeaturesAction::kApply) {
      // apply drops the online tables no view reads any more.
      cmd->add_option("--online-store", config.online_store_uri,
                      "lmdb:///dir or redis://host:port/db (default: LMDB in --data-dir/online)")
          ->envname("CAIRN_ONLINE_STORE");
    }
    if (action == FeaturesAction::kStats) {
      cmd->add_option("view", features_command.view, "Feature view")->required();
    }
    cmd->callback([&features_command, action] { features_command.action = action; });
  }

  CLI::App* policies =
      app.add_subcommand("policies", "Promotion policies (<model>.yaml, default.yaml).");
  policies->require_subcommand(1);
  CLI::App* policies_check =
      policies->add_subcommand("check", "Validate every policy file; exit 1 naming each error.");
  policies_check->add_option("--data-dir", config.data_dir, "Folder for embedded state")
      ->envname("CAIRN_DATA_DIR");
  policies_check
      ->add_option("--policies", config.policies_dir,
                   "Folder of promotion policies (default --data-dir/policies)")
      ->envname("CAIRN_POLICIES");

  std::string lineage_uri;
  CLI::App* lineage_cmd =
      app.add_subcommand("lineage", "Print where a model version came from and what came of it.");
  store_options(lineage_cmd);
  lineage_cmd
      ->add_option("uri", lineage_uri,
                   "models:/<name>/<version> (or @alias, /Stage, or models:/m-<id>)")
      ->required();

  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) return cairn::server::RunServer(config);
  if (audit->parsed()) return cairn::server::RunAuditCommand(config, audit_command);
  if (promotions->parsed()) return cairn::server::RunPromotionCommand(config, promotion);
  if (policies->parsed()) return CheckPolicies(config.EffectivePoliciesDir());
  if (lineage_cmd->parsed()) return cairn::server::RunLineageCommand(config, lineage_uri);
  if (features->parsed()) return cairn::server::RunFeaturesCommand(config, features_command);
  if (keys->parsed() || models->parsed()) {
    return cairn::server::RunSigningCommand(config, signing_command);
  }
  if (users->parsed() || tokens->parsed()) {
    return cairn::server::RunUserCommand(config, user_command);
  }
  return 0;
}
