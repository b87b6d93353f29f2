// The administration commands (commands.h): users and tokens, the audit
// log, promotions, signing keys, lineage. They work straight on the
// metadata store, for the first admin (before any server can authenticate
// anyone) and for scripts.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/auth_service.h"
#include "core/base64.h"
#include "core/env.h"
#include "governance/promotion_service.h"
#include "lineage/lineage_service.h"
#include "registry/registry_service.h"
#include "server/admin_common.h"
#include "server/commands.h"
#include "server/modules.h"
#include "server/serving_lineage.h"
#include "server/stores.h"
#include "serving/deployments.h"
#include "signing/model_signer.h"
#include "tracking/tracking_service.h"

namespace cairn::server {

// Prints the error the way every admin command does; the exit code says
// whether the command line (2) or the world (1) was wrong.
int Fail(const Status& status) {
  std::cerr << "cairn: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

namespace {

// The metadata store with the audit log observing it and the users: what
// every command that changes something starts from. Changes are recorded
// as the server records them.
struct AuditedStore {
  std::unique_ptr<store::MetadataStore> store;
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<auth::AuthService> auth;
};

StatusOr<AuditedStore> OpenAuditedStore(const ServerConfig& config) {
  AuditedStore out;
  ASSIGN_OR_RETURN(out.store, OpenStore(config));
  out.audit = std::make_unique<audit::AuditLog>(out.store.get(), Env::Default());
  out.auth = std::make_unique<auth::AuthService>(out.store.get(), Env::Default());
  RegisterTrackingOwnerLookups(*out.auth);
  RETURN_IF_ERROR(out.audit->Init());
  RETURN_IF_ERROR(out.auth->Init());
  out.store->SetWriteObserver(out.audit.get());
  return out;
}

// A name from the environment made safe for one audit field: printable
// ASCII, bounded.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) out += (c > ' ' && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

// Who acts from the command line when no user signs in: the OS account of
// the process's effective uid. Not $USER: it is unset under cron, systemd
// and many containers (entries then said "cli:unknown"), and anyone can set
// it. Under sudo the uid is root's, so the invoking user ($SUDO_USER, which
// only root can have set for a root process) is added.
std::string CliUser() {
  uid_t uid = geteuid();
  std::string name;
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    name = Printable(found->pw_name);
  } else {
    name = "uid " + std::to_string(uid);  // No passwd entry (a container's arbitrary uid).
  }
  std::string user = "cli:" + name;
  const char* sudo_user = std::getenv("SUDO_USER");
  if (sudo_user != nullptr && *sudo_user != '\0' && Printable(sudo_user) != name) {
    user += " (sudo from " + Printable(sudo_user) + ")";
  }
  return user;
}

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

std::string CommandLine(const UserCommand& c) {
  static constexpr const char* kNames[] = {"add",           "list",         "delete",  "set-role",
                                           "set-password",  "grant",        "ungrant", "grants",
                                           "tokens create", "tokens revoke"};
  std::string line =
      std::string("cairn users ") + kNames[static_cast<int>(c.action)] + " " + c.user;
  if (c.action == UserCommand::Action::kAdd || c.action == UserCommand::Action::kSetRole) {
    line += " --role " + c.role;
  }
  if (!c.experiment.empty()) line += " --experiment " + c.experiment;
  if (!c.model.empty()) line += " --model " + c.model;
  if (!c.level.empty()) line += " --level " + c.level;
  return line;
}

}  // namespace

int RunUserCommand(const ServerConfig& config, const UserCommand& command) {
  StatusOr<AuditedStore> opened = OpenAuditedStore(config);
  if (!opened.ok()) return Fail(opened.status());
  auto context = std::make_shared<store::WriteContext>();
  context->user = CliUser();
  context->action = CommandLine(command);  // Never the password.
  context->target = "user " + command.user;
  store::ScopedWriteContext audited(context);
  if (Status done = Run(*opened->auth, command); !done.ok()) return Fail(done);
  return 0;
}

int RunAuditCommand(const ServerConfig& config, const AuditCommand& command) {
  auto store = OpenStore(config);
  if (!store.ok()) return Fail(store.status());
  audit::AuditLog audit_log(store->get(), Env::Default());
  if (Status init = audit_log.Init(); !init.ok()) return Fail(init);
  if (!command.verify) {
    auto entries = audit_log.List(command.after, command.limit);
    if (!entries.ok()) return Fail(entries.status());
    for (const auto& e : *entries) {
      std::cout << e.seq << "\t" << e.time_ms << "\t" << (e.user.empty() ? "-" : e.user) << "\t"
                << e.action << "\t" << e.target << "\n";
    }
    return 0;
  }
  auto report = audit_log.Verify();
  if (!report.ok()) return Fail(report.status());
  for (const std::string& problem : report->problems) std::cout << "TAMPERED " << problem << "\n";
  if (!report->problems.empty()) {
    std::cout << report->problems.size() << " problem(s) in " << report->entries
              << " audit entries\n";
    return 3;
  }
  std::cout << "audit log intact: " << report->entries << " entries, head "
            << (report->head_hash.empty() ? "(empty)" : report->head_hash) << "\n";
  return 0;
}

namespace {

void PrintPromotion(const governance::PromotionRequest& q, const governance::Evaluation* e) {
  std::cout << "promotion " << q.id << ": " << q.model << " version " << q.version << " -> "
            << q.target << ", " << q.status << " (requested by " << q.requested_by << ")\n";
  for (const auto& d : q.decisions) {
    std::cout << "  " << (d.approve ? "approved" : "rejected") << " by " << d.user
              << (d.comment.empty() ? "" : ": " + d.comment) << "\n";
  }
  if (e == nullptr || e->policy.empty()) return;
  std::cout << "  policy " << e->policy << "\n";
  for (const auto& [gate, result] : e->gates) {
    std::cout << "  gate " << gate << ": " << (result.passed ? "passes" : "FAILS") << " ("
              << result.explanation << ")\n";
  }
  std::cout << "  approvals " << e->approvals << " of " << e->approvals_needed << "\n";
  for (const auto& m : e->missing) std::cout << "  missing: " << m << "\n";
}

}  // namespace

int RunPromotionCommand(const ServerConfig& config, const PromotionCommand& c) {
  StatusOr<AuditedStore> opened = OpenAuditedStore(config);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<store::MetadataStore>* store = &opened->store;
  auth::AuthService& auth = *opened->auth;
  governance::PromotionService promotions(store->get(), Env::Default(),
                                          config.EffectivePoliciesDir());
  Status done = promotions.Init();
  // Who acts: checked against the users like the server does, once any exist.
  std::string user;
  if (done.ok()) {
    auto has_users = auth.HasUsers();
    done = has_users.status();
    if (done.ok() && *has_users) {
      auto identity = auth.Authenticate("Basic " + Base64Encode(c.user + ":" + c.password));
      done = identity.status();
      if (done.ok()) user = identity->user;
      if (done.ok() && (c.action == PromotionCommand::Action::kApprove ||
                        c.action == PromotionCommand::Action::kReject)) {
        done = auth.RequireRole(*identity, auth::Role::kApprover);
      }
    } else if (done.ok()) {
      user = CliUser();
    }
  }
  auto context = std::make_shared<store::WriteContext>();
  context->user = user;
  context->action = "cairn promotions";
  context->target = "registered_model " + c.model;
  store::ScopedWriteContext audited(context);
  if (done.ok()) {
    switch (c.action) {
      case PromotionCommand::Action::kRequest:
      case PromotionCommand::Action::kApprove:
      case PromotionCommand::Action::kReject:
      case PromotionCommand::Action::kShow: {
        StatusOr<governance::PromotionRequest> q =
            c.action == PromotionCommand::Action::kRequest
                ? promotions.Request(c.model, c.version, c.stage, c.alias, user)
            : c.action == PromotionCommand::Action::kShow
                ? promotions.Get(c.id)
                : promotions.Decide(c.id, user, c.action == PromotionCommand::Action::kApprove,
                                    c.comment);
        done = q.status();
        if (done.ok()) {
          auto evaluation = promotions.Evaluate(*q);
          PrintPromotion(*q, evaluation.ok() ? &*evaluation : nullptr);
        }
        break;
      }
      case PromotionCommand::Action::kList: {
        auto list = promotions.List(c.model);
        done = list.status();
        if (done.ok()) {
          for (const auto& q : *list) PrintPromotion(q, nullptr);
        }
        break;
      }
    }
  }
  if (!done.ok()) return Fail(done);
  return 0;
}

int RunSigningCommand(const ServerConfig& config, const SigningCommand& c) {
  using Action = SigningCommand::Action;
  std::string keys_dir = config.EffectiveKeysDir();
  if (c.action == Action::kGenerate || c.action == Action::kShow) {
    auto keys = c.action == Action::kGenerate
                    ? signing::GenerateKeys(Env::Default(), keys_dir, c.force)
                    : signing::LoadKeys(Env::Default(), keys_dir);
    if (!keys.ok()) return Fail(keys.status());
    std::cout << "key " << keys->KeyId() << "\npublic " << keys->public_key << "\n"
              << "in " << keys_dir << "\n";
    return 0;
  }
  auto store = OpenStore(config);
  auto artifact_store = OpenArtifactStore(config);
  Status done = store.status();
  if (done.ok()) done = artifact_store.status();
  if (!done.ok()) return Fail(done);
  tracking::TrackingService tracking(store->get(), Env::Default());
  registry::RegistryService model_registry(store->get(), Env::Default());
  signing::ModelSigner signer(store->get(), artifact_store->get(), Env::Default(), keys_dir, true);
  done = tracking.Init();
  if (done.ok()) done = model_registry.Init();
  if (done.ok()) done = signer.Init();
  StatusOr<registry::ResolvedModel> resolved =
      done.ok() ? model_registry.ResolveModelUri(c.uri) : StatusOr<registry::ResolvedModel>(done);
  if (resolved.ok() && !resolved->version) {
    resolved = InvalidArgument("'" + c.uri +
                               "' is not a registered model version (use "
                               "models:/<name>/<version>, @<alias> or /<stage>).");
  }
  StatusOr<int64_t> key = resolved.ok() ? model_registry.ModelKey(resolved->version->name)
                                        : StatusOr<int64_t>(resolved.status());
  if (!key.ok()) return Fail(key.status());
  const registry::ModelVersion& v = *resolved->version;
  if (c.action == Action::kSign) {
    auto digest = signer.Sign(*key, v.version, v.storage_location);
    if (!digest.ok()) return Fail(digest.status());
    std::cout << "signed " << v.name << " version " << v.version << ": sha256 " << *digest << "\n";
    return 0;
  }
  auto check = signer.Verify(*key, v.version, v.storage_location);
  if (!check.ok()) return Fail(check.status());
  if (check->ok) {
    std::cout << "verified " << v.name << " version " << v.version << ": files match the "
              << "signature of key " << check->key_id << " (sha256 " << check->digest << ")\n";
    return 0;
  }
  for (const std::string& p : check->problems) {
    std::cout << "FAILED " << v.name << " version " << v.version << ": " << p << "\n";
  }
  return 3;
}

int RunLineageCommand(const ServerConfig& config, const std::string& uri) {
  auto store = OpenStore(config);
  if (!store.ok()) return Fail(store.status());
  tracking::TrackingService tracking(store->get(), Env::Default());
  tracking::LoggedModelService logged_models(store->get(), Env::Default());
  registry::RegistryService model_registry(store->get(), Env::Default());
  Status done = tracking.Init();
  if (done.ok()) done = model_registry.Init();
  lineage::LineageService lineage(&model_registry, &tracking, &logged_models);
  // The stored deployments, each variant's reference resolved now.
  StatusOr<std::vector<serving::StoredDeployment>> stored =
      done.ok() ? serving::ReadStoredDeployments(store->get())
                : StatusOr<std::vector<serving::StoredDeployment>>(done);
  if (stored.ok()) {
    AddServingLineage(&lineage, [&stored, &model_registry] {
      std::vector<ServedVersion> served;
      for (const serving::StoredDeployment& d : *stored) {
        for (const serving::VariantSpec& v : d.spec.variants) {
          auto resolved = model_registry.ResolveModelUri(v.model_uri);
          if (!resolved.ok() || !resolved->version) continue;
          served.push_back({d.spec.name, v.name, v.model_uri, v.shadow, v.weight,
                            resolved->version->name, std::to_string(resolved->version->version)});
        }
      }
      return served;
    });
  }
  StatusOr<lineage::Graph> graph =
      done.ok() ? lineage.ForModel(uri) : StatusOr<lineage::Graph>(done);
  if (!graph.ok()) return Fail(graph.status());
  std::cout << lineage::RenderTree(*graph);
  return 0;
}

}  // namespace cairn::server
