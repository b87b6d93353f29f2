// AuthService: users with roles, API tokens and per-resource grants in the
// metadata store (component "auth"), and the checks built on them:
// authentication of HTTP Basic and Bearer credentials (the MLflow client's
// MLFLOW_TRACKING_USERNAME/PASSWORD and MLFLOW_TRACKING_TOKEN) and the
// AccessPolicy the protocol surfaces consult.
//
// Passwords are stored as argon2id hashes (libsodium's interactive limits,
// tens of milliseconds per check on purpose); API tokens are 256 random
// bits, shown once and stored as their SHA-256. A verified credential's
// identity is cached under the SHA-256 of the whole Authorization header,
// so a request with known credentials costs a hash and a map lookup, not an
// argon2 run. A change made through this service invalidates the caches at
// once; one made by another process (the CLI) is seen within 5 seconds.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/access_policy.h"
#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace cairn::auth {

struct User {
  std::string name;
  Role role = Role::kViewer;
  int64_t created_time = 0;
};

struct Grant {
  std::string user;
  ResourceKind kind = ResourceKind::kExperiment;  // kExperiment or kRegisteredModel.
  std::string resource;                           // Experiment id or model name.
  Level level = Level::kNone;
};

class AuthService : public AccessPolicy {
 public:
  // `store` and `env` must outlive the service.
  AuthService(store::MetadataStore* store, Env* env);

  // Applies the auth schema. Call once at start, after tracking's.
  Status Init();

  // True once any user exists: the server then requires credentials.
  StatusOr<bool> HasUsers();

  // Errors: AlreadyExists; InvalidArgument for an empty or too long name or
  // a password shorter than 8 characters.
  Status CreateUser(const std::string& name, const std::string& password, Role role);
  Status SetPassword(const std::string& name, const std::string& password);
  Status SetRole(const std::string& name, Role role);
  // Also removes the user's tokens and grants.
  Status DeleteUser(const std::string& name);
  StatusOr<std::vector<User>> ListUsers();

  // A new API token for `user`, returned once ("cairn_<64 hex>"); only its
  // hash is kept. Errors: NotFound user, AlreadyExists token name.
  StatusOr<std::string> CreateToken(const std::string& user, const std::string& token_name);
  Status RevokeToken(const std::string& user, const std::string& token_name);

  // Sets `user`'s level on one experiment (id) or registered model (name);
  // Level::kNone denies even reading it.
  Status SetGrant(const Grant& grant);
  Status DeleteGrant(const std::string& user, ResourceKind kind, const std::string& resource);
  StatusOr<std::vector<Grant>> ListGrants(const std::string& user);

  // From an Authorization header ("Basic ..." or "Bearer ..."): the cached
  // identity, if these exact credentials were verified before.
  std::optional<Identity> CachedIdentity(std::string_view authorization);
  // Verifies the credentials (argon2id for a password, a read for a token)
  // and caches the result. Errors: Unauthenticated saying what to send.
  StatusOr<Identity> Authenticate(std::string_view authorization);

  // AccessPolicy.
  Status Require(const Identity& who, ResourceKind kind, const std::string& id,
                 Level level) override;
  Status RequireRole(const Identity& who, Role role) override;
  StatusOr<std::vector<std::string>> Unreadable(const Identity& who, ResourceKind kind) override;
  Status RenameResource(ResourceKind kind, const std::string& from, const std::string& to) override;

 private:
  struct CachedGrants {
    uint64_t generation = 0;
    int64_t loaded_micros = 0;
    // "<kind>/<resource>" -> level.
    std::unordered_map<std::string, Level> levels;
  };
  // Bumps the generation: every cached identity and grant is stale.
  void Invalidate();
  // True while a cache entry made at `generation`, `loaded_micros` may be
  // used: same generation, and younger than kCacheMicros (another process,
  // the CLI, may have changed users or grants in the store meanwhile).
  bool Fresh(uint64_t generation, int64_t loaded_micros);
  // Reads `user`'s grants into grants_ unless the cached copy is fresh.
  Status LoadGrants(const std::string& user);
  // The experiment a run or logged model belongs to (immutable, cached).
  StatusOr<std::optional<std::string>> ExperimentOf(ResourceKind kind, const std::string& id);

  store::MetadataStore* store_;
  Env* env_;
  std::atomic<uint64_t> generation_{1};

  std::mutex mu_;
  struct IdentityEntry {
    Identity identity;
    uint64_t generation = 0;
    int64_t loaded_micros = 0;
  };
  std::unordered_map<std::string, IdentityEntry> identities_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, CachedGrants> grants_;       // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> owners_;        // GUARDED_BY(mu_)
};

}  // namespace cairn::auth
