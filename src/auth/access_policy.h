// AccessPolicy: who may do what to which resource. The protocol surfaces
// (MLflow's REST API, Cairn's own) name the resource a request touches and
// the level it needs; the policy answers before any query runs.
//
// Levels per resource are MLflow's: read < edit < manage. A user's level on
// a resource is an explicit grant for it if there is one (possibly "none"),
// else the default of the user's role: viewer read, editor and approver
// edit, admin manage.
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cairn::auth {

enum class Role { kViewer, kEditor, kApprover, kAdmin };
enum class Level { kNone = 0, kRead = 1, kEdit = 2, kManage = 3 };

std::string_view RoleName(Role role);
// Errors: InvalidArgument naming the roles.
StatusOr<Role> ParseRole(std::string_view text);
std::string_view LevelName(Level level);
// "none", "read", "edit", "manage". Errors: InvalidArgument naming the levels.
StatusOr<Level> ParseLevel(std::string_view text);
// The level a role has on every resource without an explicit grant.
Level RoleDefault(Role role);

// Who sent a request, once authenticated.
struct Identity {
  std::string user;
  Role role = Role::kViewer;
};

// What a request touches. Runs and logged models are judged by their
// experiment's grants.
enum class ResourceKind { kExperiment, kExperimentName, kRun, kLoggedModel, kRegisteredModel };

class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;

  // OK if `who` has at least `level` on the resource. A resource that does
  // not exist passes (the request then fails with its own not-found error).
  // Errors: PermissionDenied naming the user, the resource and the level.
  virtual Status Require(const Identity& who, ResourceKind kind, const std::string& id,
                         Level level) = 0;
  // OK if `who`'s role is at least `role`. Errors: PermissionDenied.
  virtual Status RequireRole(const Identity& who, Role role) = 0;
  // Experiment ids or registered model names `who` may not read: searches
  // exclude them in their query, so results never leak them.
  virtual StatusOr<std::vector<std::string>> Unreadable(const Identity& who, ResourceKind kind) = 0;
  // Moves every grant on a renamed registered model to its new name.
  virtual Status RenameResource(ResourceKind kind, const std::string& from,
                                const std::string& to) = 0;
};

}  // namespace cairn::auth
