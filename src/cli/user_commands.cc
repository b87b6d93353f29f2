// `cairn users ...` and `cairn tokens ...`: users, roles, grants and API
// tokens, straight on the metadata store.
#include "cli/command_group.h"
#include "server/commands.h"

namespace cairn::cli {
namespace {

class UserCommands : public CommandGroup {
 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    using Action = server::UserCommand::Action;
    users_ = app.add_subcommand("users", "Manage users, roles and per-resource grants.");
    users_->require_subcommand(1);
    auto user_cmd = [&](const char* name, const char* help, Action action, bool needs_user) {
      CLI::App* cmd = users_->add_subcommand(name, help);
      AddStoreOptions(cmd, config);
      if (needs_user) cmd->add_option("user", command_.user, "User name")->required();
      cmd->callback([this, action] { command_.action = action; });
      return cmd;
    };
    CLI::App* add = user_cmd("add", "Create a user.", Action::kAdd, true);
    add->add_option("--role", command_.role, "viewer, editor, approver or admin")
        ->default_val("viewer");
    add->add_option("--password", command_.password, "At least 8 characters")
        ->envname("CAIRN_PASSWORD")
        ->required();
    user_cmd("list", "List users and their roles.", Action::kList, false);
    user_cmd("delete", "Delete a user with their tokens and grants.", Action::kDelete, true);
    user_cmd("set-role", "Change a user's role.", Action::kSetRole, true)
        ->add_option("--role", command_.role, "viewer, editor, approver or admin")
        ->required();
    user_cmd("set-password", "Change a user's password.", Action::kSetPassword, true)
        ->add_option("--password", command_.password, "At least 8 characters")
        ->envname("CAIRN_PASSWORD")
        ->required();
    for (Action action : {Action::kGrant, Action::kUngrant}) {
      bool grant = action == Action::kGrant;
      CLI::App* cmd = user_cmd(grant ? "grant" : "ungrant",
                               grant ? "Set a user's level on one experiment or registered model."
                                     : "Remove a grant (the role's default applies again).",
                               action, true);
      cmd->add_option("--experiment", command_.experiment, "Experiment id");
      cmd->add_option("--model", command_.model, "Registered model name");
      if (grant) {
        cmd->add_option("--level", command_.level, "none, read, edit or manage")->required();
      }
    }
    user_cmd("grants", "List a user's grants.", Action::kGrants, true);

    tokens_ = app.add_subcommand("tokens", "Manage API tokens (MLFLOW_TRACKING_TOKEN).");
    tokens_->require_subcommand(1);
    for (Action action : {Action::kCreateToken, Action::kRevokeToken}) {
      bool create = action == Action::kCreateToken;
      CLI::App* cmd = tokens_->add_subcommand(
          create ? "create" : "revoke",
          create ? "Create a token; it is printed once." : "Revoke a token.");
      AddStoreOptions(cmd, config);
      cmd->add_option("user", command_.user, "User name")->required();
      cmd->add_option("--name", command_.token_name, "Token name")->default_val("default");
      cmd->callback([this, action] { command_.action = action; });
    }
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!users_->parsed() && !tokens_->parsed()) return std::nullopt;
    return server::RunUserCommand(config, command_);
  }

 private:
  server::UserCommand command_;
  CLI::App* users_ = nullptr;
  CLI::App* tokens_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewUserCommands() { return std::make_unique<UserCommands>(); }

}  // namespace cairn::cli
