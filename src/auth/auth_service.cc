#include "auth/auth_service.h"

#include <sodium.h>

#include <array>
#include <optional>
#include <utility>

#include "core/base64.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace cairn::auth {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr std::array<std::string_view, 4> kRoleNames = {"viewer", "editor", "approver", "admin"};
constexpr std::array<std::string_view, 4> kLevelNames = {"none", "read", "edit", "manage"};
constexpr size_t kMinPasswordLength = 8;
constexpr size_t kMaxUserNameLength = 256;
constexpr char kTokenPrefix[] = "cairn_";
// How long a verified credential or a user's grants are trusted without
// another look at the store.
constexpr int64_t kCacheMicros = 5'000'000;

constexpr char kSchema[] = R"sql(
CREATE TABLE users (
  user_key {AUTO_PK},
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  created_time BIGINT NOT NULL
);
CREATE TABLE api_tokens (
  token_hash TEXT NOT NULL PRIMARY KEY,
  user_key BIGINT NOT NULL,
  name TEXT NOT NULL,
  created_time BIGINT NOT NULL,
  UNIQUE (user_key, name)
);
CREATE TABLE grants (
  user_key BIGINT NOT NULL,
  kind TEXT NOT NULL,
  resource TEXT NOT NULL,
  level TEXT NOT NULL,
  PRIMARY KEY (user_key, kind, resource)
){CLUSTERED}
)sql";

StatusOr<std::string> HashPassword(const std::string& password) {
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return ResourceExhausted("Out of memory while hashing the password; retry.");
  }
  return std::string(hash);
}

Status ValidatePassword(const std::string& password) {
  if (password.size() < kMinPasswordLength) {
    return InvalidArgument("The password must be at least " + std::to_string(kMinPasswordLength) +
                           " characters long.");
  }
  return Status::Ok();
}

Status ValidateUserName(const std::string& name) {
  if (name.empty() || name.size() > kMaxUserNameLength) {
    return InvalidArgument("A user name must be 1 to " + std::to_string(kMaxUserNameLength) +
                           " characters long.");
  }
  if (name.find(':') != std::string::npos) {
    return InvalidArgument(
        "A user name cannot contain ':' (HTTP Basic separates it from the "
        "password with one).");
  }
  return Status::Ok();
}

std::string_view KindName(ResourceKind kind) {
  return kind == ResourceKind::kRegisteredModel ? "registered_model" : "experiment";
}

std::string GrantKey(ResourceKind kind, const std::string& resource) {
  return std::string(KindName(kind)) + "/" + resource;
}

StatusOr<int64_t> UserKey(SqlSession& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT user_key FROM users WHERE name = ?", {name}));
  if (rows.empty()) return NotFound("No user named '" + name + "'.");
  return rows.Int(0, 0);
}

bool IsScheme(std::string_view authorization, std::string_view scheme) {
  // "Basic " or "basic ", as clients send them.
  return authorization.size() > scheme.size() &&
         EqualsIgnoreCase(authorization.substr(0, scheme.size()), scheme) &&
         authorization[scheme.size()] == ' ';
}

// The user and password of HTTP Basic credentials; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> BasicCredentials(
    std::string_view authorization) {
  auto decoded = Base64Decode(std::string(authorization.substr(6)));
  size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

Status NotAuthenticated(const std::string& why) {
  return Unauthenticated(why +
                         " Send HTTP Basic credentials (MLFLOW_TRACKING_USERNAME and "
                         "MLFLOW_TRACKING_PASSWORD) or an API token (MLFLOW_TRACKING_TOKEN).");
}

}  // namespace

std::string_view RoleName(Role role) { return kRoleNames[static_cast<size_t>(role)]; }

StatusOr<Role> ParseRole(std::string_view text) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (EqualsIgnoreCase(kRoleNames[i], text)) return static_cast<Role>(i);
  }
  return InvalidArgument("Unknown role '" + std::string(text) +
                         "': use viewer, editor, approver or admin.");
}

std::string_view LevelName(Level level) { return kLevelNames[static_cast<size_t>(level)]; }

StatusOr<Level> ParseLevel(std::string_view text) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (EqualsIgnoreCase(kLevelNames[i], text)) return static_cast<Level>(i);
  }
  return InvalidArgument("Unknown permission level '" + std::string(text) +
                         "': use none, read, edit or manage.");
}

Level RoleDefault(Role role) {
  switch (role) {
    case Role::kViewer:
      return Level::kRead;
    case Role::kEditor:
    case Role::kApprover:
      return Level::kEdit;
    case Role::kAdmin:
      return Level::kManage;
  }
  return Level::kNone;
}

AuthService::AuthService(store::MetadataStore* store, Env* env, LoginLimits limits)
    : store_(store), env_(env), throttle_(env, limits), users_checked_micros_(-1) {}

Status AuthService::Init() {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  // A password nobody knows: unknown users are checked against it so that
  // they cost the same argon2 run as known ones.
  ASSIGN_OR_RETURN(dummy_hash_, HashPassword(env_->RandomHex(16)));
  std::vector<store::Migration> migrations = {store::DdlMigration(1, "users and grants", kSchema)};
  return store_->Migrate("auth", migrations);
}

void AuthService::SetOwnerLookup(ResourceKind kind, OwnerLookup lookup) {
  owner_lookups_[kind] = std::move(lookup);
}

void AuthService::Invalidate() {
  generation_.fetch_add(1);
  users_checked_micros_.store(-1);
}

bool AuthService::Fresh(uint64_t generation, int64_t loaded_micros) {
  return generation == generation_.load() &&
         env_->MonotonicNanos() / 1000 - loaded_micros < kCacheMicros;
}

StatusOr<bool> AuthService::HasUsers() {
  bool any = false;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT 1 FROM users LIMIT 1"));
    any = !rows.empty();
    return Status::Ok();
  }));
  if (any) users_seen_.store(true);
  return any;
}

std::optional<bool> AuthService::CachedAuthRequired() {
  if (users_seen_.load()) return true;
  int64_t checked = users_checked_micros_.load();
  if (checked >= 0 && env_->MonotonicNanos() / 1000 - checked < kCacheMicros) return false;
  return std::nullopt;
}

StatusOr<bool> AuthService::AuthRequired() {
  if (std::optional<bool> cached = CachedAuthRequired()) return *cached;
  bool seen_before = users_seen_.load();
  int64_t now = env_->MonotonicNanos() / 1000;
  ASSIGN_OR_RETURN(bool any, HasUsers());
  users_checked_micros_.store(now);
  if (any && !seen_before) {
    // The server started open (no users) and someone added one since: say
    // so, since every client without credentials now gets 401.
    LogWarn(
        "a user now exists: authentication is required from now on (until restart, even if "
        "every user is removed)");
  }
  return any;
}

Status AuthService::CreateUser(const std::string& name, const std::string& password, Role role) {
  RETURN_IF_ERROR(ValidateUserName(name));
  RETURN_IF_ERROR(ValidatePassword(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  int64_t now = env_->NowMillis();
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows taken, db.Query("SELECT 1 FROM users WHERE name = ?", {name}));
    if (!taken.empty()) return AlreadyExists("A user named '" + name + "' already exists.");
    return db
        .Execute("INSERT INTO users (name, password_hash, role, created_time) VALUES (?, ?, ?, ?)",
                 {name, hash, std::string(RoleName(role)), now})
        .status();
  });
  Invalidate();
  return written;
}

Status AuthService::SetPassword(const std::string& name, const std::string& password) {
  RETURN_IF_ERROR(ValidatePassword(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, name));
    return db.Execute("UPDATE users SET password_hash = ? WHERE user_key = ?", {hash, key})
        .status();
  });
  Invalidate();
  return written;
}

Status AuthService::SetRole(const std::string& name, Role role) {
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, name));
    return db
        .Execute("UPDATE users SET role = ? WHERE user_key = ?", {std::string(RoleName(role)), key})
        .status();
  });
  Invalidate();
  return written;
}

Status AuthService::DeleteUser(const std::string& name) {
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, name));
    for (const char* table : {"api_tokens", "grants", "users"}) {
      RETURN_IF_ERROR(
          db.Execute(std::string("DELETE FROM ") + table + " WHERE user_key = ?", {key}).status());
    }
    return Status::Ok();
  });
  Invalidate();
  return written;
}

StatusOr<std::vector<User>> AuthService::ListUsers() {
  std::vector<User> users;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    return db.ForEachRow("SELECT name, role, created_time FROM users ORDER BY name", {},
                         [&](const store::SqlRow& row) {
                           User u;
                           u.name = std::string(row.Text(0));
                           auto role = ParseRole(row.Text(1));
                           u.role = role.ok() ? *role : Role::kViewer;
                           u.created_time = row.Int(2);
                           users.push_back(std::move(u));
                         });
  }));
  return users;
}

StatusOr<std::string> AuthService::CreateToken(const std::string& user,
                                               const std::string& token_name) {
  if (token_name.empty()) return InvalidArgument("A token needs a name (e.g. 'ci').");
  std::string token = kTokenPrefix + env_->RandomHex(32);
  std::string hash = Sha256Hex(token);
  int64_t now = env_->NowMillis();
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, user));
    ASSIGN_OR_RETURN(
        SqlRows taken,
        db.Query("SELECT 1 FROM api_tokens WHERE user_key = ? AND name = ?", {key, token_name}));
    if (!taken.empty()) {
      return AlreadyExists("User '" + user + "' already has a token named '" + token_name +
                           "'; revoke it first or pick another name.");
    }
    return db
        .Execute(
            "INSERT INTO api_tokens (token_hash, user_key, name, created_time) VALUES (?, ?, "
            "?, ?)",
            {hash, key, token_name, now})
        .status();
  });
  RETURN_IF_ERROR(written);
  return token;
}

Status AuthService::RevokeToken(const std::string& user, const std::string& token_name) {
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, user));
    ASSIGN_OR_RETURN(int64_t n, db.Execute("DELETE FROM api_tokens WHERE user_key = ? AND name = ?",
                                           {key, token_name}));
    if (n == 0) return NotFound("User '" + user + "' has no token named '" + token_name + "'.");
    return Status::Ok();
  });
  Invalidate();
  return written;
}

Status AuthService::SetGrant(const Grant& grant) {
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, grant.user));
    return db
        .Execute(
            "INSERT INTO grants (user_key, kind, resource, level) VALUES (?, ?, ?, ?) ON "
            "CONFLICT (user_key, kind, resource) DO UPDATE SET level = excluded.level",
            {key, std::string(KindName(grant.kind)), grant.resource,
             std::string(LevelName(grant.level))})
        .status();
  });
  Invalidate();
  return written;
}

Status AuthService::DeleteGrant(const std::string& user, ResourceKind kind,
                                const std::string& resource) {
  Status written = store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, user));
    return db
        .Execute("DELETE FROM grants WHERE user_key = ? AND kind = ? AND resource = ?",
                 {key, std::string(KindName(kind)), resource})
        .status();
  });
  Invalidate();
  return written;
}

StatusOr<std::vector<Grant>> AuthService::ListGrants(const std::string& user) {
  std::vector<Grant> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, UserKey(db, user));
    return db.ForEachRow(
        "SELECT kind, resource, level FROM grants WHERE user_key = ? ORDER BY kind, resource",
        std::vector<SqlValue>{key}, [&](const store::SqlRow& row) {
          Grant g;
          g.user = user;
          g.kind = row.Text(0) == "registered_model" ? ResourceKind::kRegisteredModel
                                                     : ResourceKind::kExperiment;
          g.resource = std::string(row.Text(1));
          auto level = ParseLevel(row.Text(2));
          g.level = level.ok() ? *level : Level::kNone;
          out.push_back(std::move(g));
        });
  }));
  return out;
}

std::optional<Identity> AuthService::CachedIdentity(std::string_view authorization) {
  if (authorization.empty()) return std::nullopt;
  std::string key = Sha256Hex(authorization);
  MutexLock lock(&mu_);
  auto it = identities_.find(key);
  if (it == identities_.end() || !Fresh(it->second.generation, it->second.loaded_micros)) {
    return std::nullopt;
  }
  return it->second.identity;
}

Status AuthService::AdmitLogin(std::string_view authorization, std::string_view address,
                               bool* admitted) {
  *admitted = false;
  if (!IsScheme(authorization, "Basic")) return Status::Ok();  // No password to hash.
  {
    // Verified before: Reconfirm answers with a read, no hashing.
    MutexLock lock(&mu_);
    if (identities_.contains(Sha256Hex(authorization))) return Status::Ok();
  }
  auto credentials = BasicCredentials(authorization);
  if (!credentials) return Status::Ok();  // Refused without hashing.
  RETURN_IF_ERROR(throttle_.Check(credentials->first, address));
  if (!throttle_.TryAdmit()) {
    return ResourceExhausted(
        "The server is verifying too many passwords at once; retry in a second. API tokens "
        "(MLFLOW_TRACKING_TOKEN) need no password hashing.");
  }
  *admitted = true;
  return Status::Ok();
}

void AuthService::EndLogin() { throttle_.Leave(); }

namespace {

// A user's stored password hash and role; empty strings for no such user.
struct StoredLogin {
  std::string hash;
  std::string role;
};

StatusOr<StoredLogin> ReadStoredLogin(store::MetadataStore& store, const std::string& user) {
  StoredLogin login;
  RETURN_IF_ERROR(store.Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     db.Query("SELECT password_hash, role FROM users WHERE name = ?", {user}));
    if (!rows.empty()) login = {std::string(rows.Text(0, 0)), std::string(rows.Text(0, 1))};
    return Status::Ok();
  }));
  return login;
}

}  // namespace

StatusOr<std::optional<Identity>> AuthService::Reconfirm(const std::string& key) {
  IdentityEntry entry;
  {
    MutexLock lock(&mu_);
    auto it = identities_.find(key);
    if (it == identities_.end() || it->second.verified_hash.empty()) {
      return std::optional<Identity>();
    }
    entry = it->second;
  }
  uint64_t generation = generation_.load();
  ASSIGN_OR_RETURN(StoredLogin stored, ReadStoredLogin(*store_, entry.identity.user));
  MutexLock lock(&mu_);
  if (stored.hash.empty() || stored.hash != entry.verified_hash) {
    // Removed, or a new password: these credentials must be verified anew.
    identities_.erase(key);
    return std::optional<Identity>();
  }
  ASSIGN_OR_RETURN(entry.identity.role, ParseRole(stored.role));
  entry.generation = generation;
  entry.loaded_micros = env_->MonotonicNanos() / 1000;
  identities_[key] = entry;
  return std::optional<Identity>(entry.identity);
}

StatusOr<std::optional<Identity>> AuthService::VerifyPassword(const std::string& user,
                                                              const std::string& password,
                                                              std::string* matched_hash) {
  ASSIGN_OR_RETURN(StoredLogin stored, ReadStoredLogin(*store_, user));
  const std::string& against = stored.hash.empty() ? dummy_hash_ : stored.hash;
  bool matches = false;
  {
    LoginThrottle::HashSlot slot(throttle_);
    matches = crypto_pwhash_str_verify(against.c_str(), password.data(), password.size()) == 0;
  }
  if (!matches || stored.hash.empty()) return std::optional<Identity>();
  Identity identity;
  identity.user = user;
  ASSIGN_OR_RETURN(identity.role, ParseRole(stored.role));
  *matched_hash = std::move(stored.hash);
  return std::optional<Identity>(std::move(identity));
}

StatusOr<Identity> AuthService::Authenticate(std::string_view authorization,
                                             std::string_view address) {
  if (authorization.empty()) return NotAuthenticated("This server requires authentication.");
  uint64_t generation = generation_.load();
  std::string key = Sha256Hex(authorization);
  Identity identity;
  std::string verified_hash;
  if (IsScheme(authorization, "Bearer")) {
    std::string hash = Sha256Hex(authorization.substr(7));
    Status read = store_->Read([&](SqlSession& db) -> Status {
      ASSIGN_OR_RETURN(SqlRows rows,
                       db.Query("SELECT u.name, u.role FROM api_tokens t JOIN users u ON "
                                "u.user_key = t.user_key WHERE t.token_hash = ?",
                                {hash}));
      if (rows.empty()) return NotAuthenticated("Unknown or revoked API token.");
      identity.user = rows.Text(0, 0);
      ASSIGN_OR_RETURN(identity.role, ParseRole(rows.Text(0, 1)));
      return Status::Ok();
    });
    RETURN_IF_ERROR(read);
  } else if (IsScheme(authorization, "Basic")) {
    auto credentials = BasicCredentials(authorization);
    if (!credentials) return NotAuthenticated("Malformed HTTP Basic credentials.");
    const auto& [user, password] = *credentials;
    ASSIGN_OR_RETURN(std::optional<Identity> again, Reconfirm(key));
    if (again) return *std::move(again);
    RETURN_IF_ERROR(throttle_.Check(user, address));
    ASSIGN_OR_RETURN(std::optional<Identity> verified,
                     VerifyPassword(user, password, &verified_hash));
    if (!verified) {
      throttle_.RecordFailure(user, address);
      return NotAuthenticated("Wrong user name or password.");
    }
    throttle_.RecordSuccess(user);
    identity = *std::move(verified);
  } else {
    return NotAuthenticated("Unsupported Authorization scheme.");
  }
  MutexLock lock(&mu_);
  if (identities_.size() > 100'000) identities_.clear();  // Bounded memory.
  identities_[key] = {identity, generation, env_->MonotonicNanos() / 1000,
                      std::move(verified_hash)};
  return identity;
}

Status AuthService::LoadGrants(const std::string& user) {
  {
    MutexLock lock(&mu_);
    auto it = grants_.find(user);
    if (it != grants_.end() && Fresh(it->second.generation, it->second.loaded_micros)) {
      return Status::Ok();
    }
  }
  CachedGrants fresh;
  fresh.generation = generation_.load();
  fresh.loaded_micros = env_->MonotonicNanos() / 1000;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    return db.ForEachRow(
        "SELECT g.kind, g.resource, g.level FROM grants g JOIN users u ON u.user_key = "
        "g.user_key WHERE u.name = ?",
        std::vector<SqlValue>{user}, [&](const store::SqlRow& row) {
          auto level = ParseLevel(row.Text(2));
          fresh.levels[std::string(row.Text(0)) + "/" + std::string(row.Text(1))] =
              level.ok() ? *level : Level::kNone;
        });
  }));
  MutexLock lock(&mu_);
  grants_[user] = std::move(fresh);
  return Status::Ok();
}

StatusOr<std::optional<std::string>> AuthService::ExperimentOf(ResourceKind kind,
                                                               const std::string& id) {
  // Runs and models never change experiment, so their answer is cached for
  // good; experiment names can change, so those are looked up each time.
  bool cacheable = kind != ResourceKind::kExperimentName;
  std::string cache_key = (kind == ResourceKind::kRun ? "run/" : "model/") + id;
  if (cacheable) {
    MutexLock lock(&mu_);
    auto it = owners_.find(cache_key);
    if (it != owners_.end()) return std::optional<std::string>(it->second);
  }
  auto lookup = owner_lookups_.find(kind);
  if (lookup == owner_lookups_.end()) {
    const char* what = kind == ResourceKind::kRun           ? "run"
                       : kind == ResourceKind::kLoggedModel ? "logged model"
                                                            : "named experiment";
    return FailedPrecondition(std::string("no component tells which experiment holds a ") + what +
                              "; access refused");
  }
  std::optional<std::string> experiment;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(std::optional<int64_t> found, lookup->second(db, id));
    if (found) experiment = std::to_string(*found);
    return Status::Ok();
  }));
  if (experiment && cacheable) {
    MutexLock lock(&mu_);
    if (owners_.size() > 1'000'000) owners_.clear();  // Bounded memory.
    owners_[cache_key] = *experiment;
  }
  return experiment;
}

Status AuthService::Require(const Identity& who, ResourceKind kind, const std::string& id,
                            Level level) {
  if (who.role == Role::kAdmin) return Status::Ok();  // Admins manage everything.
  std::string resource = id;
  ResourceKind grant_kind = kind;
  if (kind == ResourceKind::kRun || kind == ResourceKind::kLoggedModel ||
      kind == ResourceKind::kExperimentName) {
    ASSIGN_OR_RETURN(auto experiment, ExperimentOf(kind, id));
    if (!experiment) return Status::Ok();  // Unknown: the request's own 404 follows.
    resource = *experiment;
    grant_kind = ResourceKind::kExperiment;
  }
  RETURN_IF_ERROR(LoadGrants(who.user));
  Level have = RoleDefault(who.role);
  {
    MutexLock lock(&mu_);
    const auto& levels = grants_[who.user].levels;
    auto it = levels.find(GrantKey(grant_kind, resource));
    if (it != levels.end()) have = it->second;
  }
  if (have >= level) return Status::Ok();
  std::string what = grant_kind == ResourceKind::kRegisteredModel
                         ? "registered model '" + resource + "'"
                         : "experiment " + resource;
  return PermissionDenied("User '" + who.user + "' (" + std::string(RoleName(who.role)) +
                          ") lacks " + std::string(LevelName(level)) + " permission on " + what +
                          "; an admin can grant it with `cairn users grant`.");
}

Status AuthService::RequireRole(const Identity& who, Role role) {
  if (static_cast<int>(who.role) >= static_cast<int>(role)) return Status::Ok();
  return PermissionDenied("User '" + who.user + "' has role " + std::string(RoleName(who.role)) +
                          "; this needs " + std::string(RoleName(role)) + " or higher.");
}

StatusOr<std::vector<std::string>> AuthService::Unreadable(const Identity& who, ResourceKind kind) {
  std::vector<std::string> out;
  if (who.role == Role::kAdmin) return out;
  RETURN_IF_ERROR(LoadGrants(who.user));
  std::string prefix = std::string(KindName(kind)) + "/";
  MutexLock lock(&mu_);
  for (const auto& [key, level] : grants_[who.user].levels) {
    if (level == Level::kNone && key.rfind(prefix, 0) == 0)
      out.push_back(key.substr(prefix.size()));
  }
  return out;
}

Status AuthService::RenameResource(ResourceKind kind, const std::string& from,
                                   const std::string& to) {
  Status written = store_->Write([&](SqlSession& db) {
    return db
        .Execute("UPDATE grants SET resource = ? WHERE kind = ? AND resource = ?",
                 {to, std::string(KindName(kind)), from})
        .status();
  });
  Invalidate();
  return written;
}

}  // namespace cairn::auth
