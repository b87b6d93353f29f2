// `cairn audit verify|list`: the hash-chained audit log.
#include "cli/command_group.h"
#include "server/commands.h"

namespace cairn::cli {
namespace {

class AuditCommands : public CommandGroup {
 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    audit_ = app.add_subcommand("audit", "Check or read the hash-chained audit log.");
    audit_->require_subcommand(1);
    CLI::App* verify = audit_->add_subcommand(
        "verify", "Check the chain; names every edited, dropped or reordered entry (exit 3).");
    AddStoreOptions(verify, config);
    CLI::App* list = audit_->add_subcommand("list", "Print entries, oldest first.");
    AddStoreOptions(list, config);
    list->add_option("--after", command_.after, "Only entries after this sequence number");
    list->add_option("--limit", command_.limit, "At most this many")->default_val(100);
    list->callback([this] { command_.verify = false; });
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!audit_->parsed()) return std::nullopt;
    return server::RunAuditCommand(config, command_);
  }

 private:
  server::AuditCommand command_;
  CLI::App* audit_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewAuditCommands() { return std::make_unique<AuditCommands>(); }

}  // namespace cairn::cli
