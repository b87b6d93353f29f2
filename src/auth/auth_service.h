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
// argon2 run; once the entry is stale (5 seconds, or any change), the same
// credentials are confirmed with one read (the stored hash they matched is
// unchanged), still without argon2. A change made through this service
// invalidates the caches at once; one made by another process (the CLI) is
// seen within 5 seconds: a new first user turns authentication on, a removed
// user or token stops working, a grant applies.
//
// Password checks go through a LoginThrottle (login_throttle.h): bounded
// concurrent hashing, failures throttled per user name and per address, and
// an unknown user costs the same argon2 run as a known one (a dummy hash),
// so timing does not tell which names exist.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/access_policy.h"
#include "auth/login_throttle.h"
#include "core/env.h"
#include "core/mutex.h"
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
  AuthService(store::MetadataStore* store, Env* env, LoginLimits limits = {});

  // Applies the auth schema and prepares the dummy hash unknown users are
  // checked against. Call once at start.
  Status Init();

  // Which experiment holds a resource of `kind` (a run, a logged model, an
  // experiment by name): the id, nullopt when there is no such resource.
  // Called inside `db`'s read transaction.
  using OwnerLookup =
      std::function<StatusOr<std::optional<int64_t>>(store::SqlSession& db, const std::string& id)>;
  // Registered by the component that owns `kind`'s records (tracking), so
  // auth reads no other component's tables. A check on a kind with no
  // lookup fails closed. REQUIRES: before the server serves.
  void SetOwnerLookup(ResourceKind kind, OwnerLookup lookup);

  // True once any user exists: the server then requires credentials.
  StatusOr<bool> HasUsers();

  // Whether requests must carry credentials: true from the moment a user
  // exists (seen within 5 seconds when another process, the CLI, adds the
  // first one) and from then on for the life of this object. Removing the
  // last user does not reopen the server; it then refuses every request
  // until a user is added or it restarts. Never blocks; nullopt when the
  // answer needs a read: call AuthRequired.
  std::optional<bool> CachedAuthRequired();
  // As above, reading the store when the cached answer is stale.
  StatusOr<bool> AuthRequired();

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
  // For callers that must not block (the HTTP server's IO threads), before
  // handing `authorization` to Authenticate on a worker: OK with *admitted
  // false when no password hash will be needed (a token, or credentials
  // verified before); OK with *admitted true when one will and a place in
  // the hashing queue was reserved, which the caller gives back with
  // EndLogin() after Authenticate. Errors: Unauthenticated while the user or
  // `address` is throttled; ResourceExhausted when the queue is full.
  Status AdmitLogin(std::string_view authorization, std::string_view address, bool* admitted);
  void EndLogin();
  // Verifies the credentials (argon2id for a password, a read for a token)
  // and caches the result. `address` (the sender's IP, may be empty) is
  // throttled along with the user name. Errors: Unauthenticated saying what
  // to send, or how long to wait after repeated failures.
  StatusOr<Identity> Authenticate(std::string_view authorization, std::string_view address = {});

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
  // Basic credentials verified before (the cache entry may be stale) whose
  // user still has the password hash they matched: the identity with the
  // stored role, without an argon2 run. nullopt when they must be verified.
  StatusOr<std::optional<Identity>> Reconfirm(const std::string& key);
  // Checks `password` against `user`'s stored hash, or against the dummy
  // hash when there is no such user, so both take the same time.
  StatusOr<std::optional<Identity>> VerifyPassword(const std::string& user,
                                                   const std::string& password,
                                                   std::string* matched_hash);

  store::MetadataStore* store_;
  Env* env_;
  LoginThrottle throttle_;
  std::string dummy_hash_;  // Set by Init, then read-only.
  std::atomic<uint64_t> generation_{1};
  // AuthRequired's state: sticky once true.
  std::atomic<bool> users_seen_{false};
  std::atomic<int64_t> users_checked_micros_;

  Mutex mu_;
  struct IdentityEntry {
    Identity identity;
    uint64_t generation = 0;
    int64_t loaded_micros = 0;
    // For Basic credentials: the stored argon2 hash they matched.
    std::string verified_hash;
  };
  std::unordered_map<std::string, IdentityEntry> identities_ GUARDED_BY(mu_);
  std::unordered_map<std::string, CachedGrants> grants_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::string> owners_ GUARDED_BY(mu_);
  // Set before serving, read-only afterwards.
  std::unordered_map<ResourceKind, OwnerLookup> owner_lookups_;
};

}  // namespace cairn::auth
