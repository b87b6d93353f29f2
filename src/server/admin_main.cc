// `cairn users` and `cairn tokens`: user administration straight on the
// metadata store, for the first admin (before any server can authenticate
// anyone) and for scripts.
#include <iostream>

#include "auth/auth_service.h"
#include "core/env.h"
#include "server/server_main.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace cairn::server {
namespace {

Status Run(auth::AuthService& auth, const UserCommand& c) {
  using Action = UserCommand::Action;
  switch (c.action) {
    case Action::kAdd: {
      ASSIGN_OR_RETURN(auth::Role role, auth::ParseRole(c.role));
      RETURN_IF_ERROR(auth.CreateUser(c.user, c.password, role));
      std::cout << "created user " << c.user << " (" << auth::RoleName(role) << ")\n";
      return Status::Ok();
    }
    case Action::kList: {
      ASSIGN_OR_RETURN(auto users, auth.ListUsers());
      for (const auto& u : users) std::cout << u.name << "\t" << auth::RoleName(u.role) << "\n";
      if (users.empty()) std::cout << "no users: the server runs without authentication\n";
      return Status::Ok();
    }
    case Action::kDelete:
      RETURN_IF_ERROR(auth.DeleteUser(c.user));
      std::cout << "deleted user " << c.user << "\n";
      return Status::Ok();
    case Action::kSetRole: {
      ASSIGN_OR_RETURN(auth::Role role, auth::ParseRole(c.role));
      return auth.SetRole(c.user, role);
    }
    case Action::kSetPassword:
      return auth.SetPassword(c.user, c.password);
    case Action::kGrant:
    case Action::kUngrant:
    case Action::kGrants: {
      if (c.action == Action::kGrants) {
        ASSIGN_OR_RETURN(auto grants, auth.ListGrants(c.user));
        for (const auto& g : grants) {
          std::cout << (g.kind == auth::ResourceKind::kRegisteredModel ? "model\t" : "experiment\t")
                    << g.resource << "\t" << auth::LevelName(g.level) << "\n";
        }
        return Status::Ok();
      }
      if (c.experiment.empty() == c.model.empty()) {
        return InvalidArgument("Name exactly one of --experiment <id> and --model <name>.");
      }
      auth::ResourceKind kind =
          c.model.empty() ? auth::ResourceKind::kExperiment : auth::ResourceKind::kRegisteredModel;
      const std::string& resource = c.model.empty() ? c.experiment : c.model;
      if (c.action == Action::kUngrant) return auth.DeleteGrant(c.user, kind, resource);
      ASSIGN_OR_RETURN(auth::Level level, auth::ParseLevel(c.level));
      return auth.SetGrant({c.user, kind, resource, level});
    }
    case Action::kCreateToken: {
      ASSIGN_OR_RETURN(std::string token, auth.CreateToken(c.user, c.token_name));
      // Shown once: only its hash is stored.
      std::cout << token << "\n";
      return Status::Ok();
    }
    case Action::kRevokeToken:
      return auth.RevokeToken(c.user, c.token_name);
  }
  return Status::Ok();
}

}  // namespace

int RunUserCommand(const ServerConfig& config, const UserCommand& command) {
  store::MetadataStoreRegistry stores;
  store::RegisterSqliteStore(&stores);
  store::RegisterPostgresStore(&stores);
  auto store = stores.Open(config.EffectiveStoreUri());
  if (!store.ok()) {
    std::cerr << "cairn: cannot open the metadata store: " << store.status().message() << "\n";
    return 1;
  }
  auth::AuthService auth(store->get(), Env::Default());
  Status done = auth.Init();
  if (done.ok()) done = Run(auth, command);
  if (!done.ok()) {
    std::cerr << "cairn: " << done.message() << "\n";
    return done.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace cairn::server
