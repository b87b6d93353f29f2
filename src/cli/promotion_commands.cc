// `cairn promotions ...` (the approval workflow of promotion policies) and
// `cairn policies check` (every policy file's verdict).
#include <iostream>

#include "cli/command_group.h"
#include "core/env.h"
#include "governance/policy.h"
#include "server/commands.h"

namespace cairn::cli {
namespace {

// Exit 1 if any policy is broken (the server refuses that model's stage and
// alias changes).
int CheckPolicies(const std::string& dir) {
  auto checks = governance::CheckPolicies(Env::Default(), dir);
  if (!checks.ok() && checks.status().code() == StatusCode::kNotFound) {
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

class PromotionCommands : public CommandGroup {
 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    using Action = server::PromotionCommand::Action;
    promotions_ =
        app.add_subcommand("promotions", "Request and approve guarded promotions (policies).");
    promotions_->require_subcommand(1);
    auto promotion_cmd = [&](const char* name, const char* help, Action action) {
      CLI::App* cmd = promotions_->add_subcommand(name, help);
      AddStoreOptions(cmd, config);
      cmd->add_option("--policies", config.policies_dir, "Folder of promotion policies")
          ->envname("CAIRN_POLICIES");
      cmd->add_option("--user", command_.user, "Who acts (once users exist)")
          ->envname("CAIRN_USER");
      cmd->add_option("--password", command_.password, "Their password")->envname("CAIRN_PASSWORD");
      cmd->callback([this, action] { command_.action = action; });
      return cmd;
    };
    CLI::App* request =
        promotion_cmd("request", "Ask for a version to enter a stage or alias.", Action::kRequest);
    request->add_option("model", command_.model, "Registered model")->required();
    request->add_option("version", command_.version, "Version")->required();
    request->add_option("--stage", command_.stage, "Target stage, e.g. Production");
    request->add_option("--alias", command_.alias, "Target alias, e.g. champion");
    for (Action action : {Action::kApprove, Action::kReject, Action::kShow}) {
      const char* name = action == Action::kApprove  ? "approve"
                         : action == Action::kReject ? "reject"
                                                     : "show";
      CLI::App* cmd = promotion_cmd(name,
                                    action == Action::kShow
                                        ? "Show a request and where it stands against its policy."
                                        : "Decide a request (approver role).",
                                    action);
      cmd->add_option("id", command_.id, "Request id")->required();
      if (action != Action::kShow) cmd->add_option("--comment", command_.comment, "Why");
    }
    promotion_cmd("list", "List a model's requests, newest first.", Action::kList)
        ->add_option("model", command_.model, "Registered model")
        ->required();

    policies_ = app.add_subcommand("policies", "Promotion policies (<model>.yaml, default.yaml).");
    policies_->require_subcommand(1);
    CLI::App* check =
        policies_->add_subcommand("check", "Validate every policy file; exit 1 naming each error.");
    check->add_option("--data-dir", config.data_dir, "Folder for embedded state")
        ->envname("CAIRN_DATA_DIR");
    check
        ->add_option("--policies", config.policies_dir,
                     "Folder of promotion policies (default --data-dir/policies)")
        ->envname("CAIRN_POLICIES");
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (promotions_->parsed()) return server::RunPromotionCommand(config, command_);
    if (policies_->parsed()) return CheckPolicies(config.EffectivePoliciesDir());
    return std::nullopt;
  }

 private:
  server::PromotionCommand command_;
  CLI::App* promotions_ = nullptr;
  CLI::App* policies_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewPromotionCommands() {
  return std::make_unique<PromotionCommands>();
}

}  // namespace cairn::cli
