// What the `cairn` commands run, once their command line is parsed
// (src/cli parses it): the server (RunServer starts the modules of
// server/module.h and serves until SIGINT/SIGTERM, then drains) and the
// administration commands, which work straight on the stores. With the
// modules, the only place that knows concrete classes.
#pragma once

#include <cstdint>
#include <string>

#include "server/server_config.h"

namespace cairn::server {

// Returns the process exit code.
int RunServer(const ServerConfig& config);

// `cairn users ...` and `cairn tokens ...`: administration of the users,
// grants and API tokens kept in the metadata store `config` names. A running
// server sees the changes within seconds.
struct UserCommand {
  enum class Action {
    kAdd,
    kList,
    kDelete,
    kSetRole,
    kSetPassword,
    kGrant,
    kUngrant,
    kGrants,
    kCreateToken,
    kRevokeToken,
  };
  Action action = Action::kList;
  std::string user;
  std::string role = "viewer";
  std::string password;
  std::string experiment;  // kGrant/kUngrant: one of experiment and model.
  std::string model;
  std::string level;
  std::string token_name = "default";
};
// Prints results to stdout, errors to stderr. Returns the exit code. The
// change is recorded in the audit log as made by "cli:<$USER>".
int RunUserCommand(const ServerConfig& config, const UserCommand& command);

// `cairn audit verify` (exit 0 when the chain is intact, 3 with a line per
// problem otherwise) and `cairn audit list`.
struct AuditCommand {
  bool verify = true;
  int64_t after = 0;
  int64_t limit = 100;
};
int RunAuditCommand(const ServerConfig& config, const AuditCommand& command);

// `cairn promotions request|approve|reject|list|show`: the approval workflow
// of promotion policies, straight on the metadata store. Once users exist,
// --user/--password (CAIRN_USER, CAIRN_PASSWORD) say who acts and are
// checked like the server checks them; approving needs the approver role.
struct PromotionCommand {
  enum class Action { kRequest, kApprove, kReject, kList, kShow };
  Action action = Action::kList;
  std::string model;
  int64_t version = 0;
  std::string stage;
  std::string alias;
  int64_t id = 0;
  std::string comment;
  std::string user;
  std::string password;
};
int RunPromotionCommand(const ServerConfig& config, const PromotionCommand& command);

// `cairn keys generate|show` and `cairn models sign|verify <models:/ URI>`.
struct SigningCommand {
  enum class Action { kGenerate, kShow, kSign, kVerify };
  Action action = Action::kShow;
  bool force = false;
  std::string uri;
};
// verify exits 0 when the version's files match its signature, 3 (with a
// line per problem) otherwise.
int RunSigningCommand(const ServerConfig& config, const SigningCommand& command);

// `cairn lineage <models:/ URI>`: the version's lineage as a tree.
int RunLineageCommand(const ServerConfig& config, const std::string& uri);

}  // namespace cairn::server
