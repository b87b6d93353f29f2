// The platform module: what every other component stands on. The metadata
// and artifact stores, the audit log that records every change made through
// them, and the users, grants and authenticator behind every surface.
#include <filesystem>
#include <memory>

#include "audit/audit_log.h"
#include "auth/auth_service.h"
#include "auth/http_authenticator.h"
#include "server/modules.h"
#include "server/stores.h"

namespace cairn::server {
namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

class PlatformModule : public Module {
 public:
  std::string_view name() const override { return "platform"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    settings->Add("store", &config->store_uri,
                  "Metadata store URI: sqlite:///path.db or postgresql://user@host/db (default: "
                  "sqlite in --data-dir)");
    settings->Add("artifacts", &config->artifacts_uri,
                  "Artifact store URI: file:///dir (default: --data-dir/artifacts)");
    settings->Add("durability", &config->durability,
                  "full: every acknowledged write is fsynced (default); process: it survives a "
                  "crash of Cairn but not of the machine, for lower latency",
                  {"full", "process"});
    settings->Add("insecure", &config->insecure,
                  "Serve on a non-loopback address although no user exists (no authentication)");
  }

  Status Start(ServerContext& context) override {
    const ServerConfig& config = context.config();
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return Unavailable("cannot create --data-dir " + config.data_dir + ": " + ec.message());
    ASSIGN_OR_RETURN(store_, OpenStore(config));
    ASSIGN_OR_RETURN(artifacts_, OpenArtifactStore(config));

    // Every change made through a surface is recorded with it (see audit_log.h).
    audit_ = std::make_unique<audit::AuditLog>(store_.get(), context.env());
    RETURN_IF_ERROR(Named("the audit log", audit_->Init()));
    store_->SetWriteObserver(audit_.get());

    // Secure by default: with no user configured there is no
    // authentication, so the server stays on loopback unless told otherwise.
    auth_ = std::make_unique<auth::AuthService>(store_.get(), context.env());
    RETURN_IF_ERROR(Named("authentication", auth_->Init()));
    ASSIGN_OR_RETURN(bool has_users, auth_->HasUsers());
    if (!has_users && !IsLoopback(config.host) && !config.insecure) {
      return InvalidArgument(
          "refusing to serve without authentication on a non-loopback address (--host " +
          config.host +
          "): create a user first (cairn users add <name> --role admin) or pass "
          "--insecure");
    }
    // Always the policy and the authenticator, even with no users yet: they
    // let everyone through until a user exists, and a user added by the CLI
    // to the running server turns authentication on within seconds.
    authenticator_ = std::make_unique<auth::HttpAuthenticator>(auth_.get());

    context.Provide<store::MetadataStore>(store_.get());
    context.Provide<artifacts::ArtifactStore>(artifacts_.get());
    context.Provide<audit::AuditLog>(audit_.get());
    context.Provide<auth::AuthService>(auth_.get());
    context.Provide<auth::AccessPolicy>(auth_.get());
    context.Provide<http::Authenticator>(authenticator_.get());
    context.AddStartupFact("store", store_->DisplayUri());
    context.AddStartupFact("artifacts", artifacts_->uri());
    context.AddStartupFact("authentication", has_users
                                                 ? "required (users configured)"
                                                 : "off until a user is added (cairn users add)");
    for (const OwnFolder& folder : OwnFolders(config)) {
      context.AddRedaction(folder.path, folder.shown);
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::ArtifactStore> artifacts_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<auth::HttpAuthenticator> authenticator_;
};

}  // namespace

std::unique_ptr<Module> NewPlatformModule() { return std::make_unique<PlatformModule>(); }

}  // namespace cairn::server
