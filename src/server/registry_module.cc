// The registry module: registered models and versions with their
// governance (promotion policies, signatures, lineage), the artifact routes
// that guard registered files, and Cairn's own API over them.
#include <memory>

#include "api/api_routes.h"
#include "audit/audit_log.h"
#include "auth/access_policy.h"
#include "governance/promotion_service.h"
#include "lineage/lineage_service.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/routes.h"
#include "registry/registry_service.h"
#include "server/modules.h"
#include "signing/model_signer.h"
#include "tracking/logged_model_service.h"
#include "tracking/tracking_service.h"

namespace cairn::server {
namespace {

class RegistryModule : public Module {
 public:
  std::string_view name() const override { return "registry"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    settings->Add("policies", &config->policies_dir,
                  "Folder of promotion policies (<model>.yaml, default.yaml); default "
                  "--data-dir/policies");
    settings->Add("keys", &config->keys_dir, "Model-signing key folder (default: --data-dir/keys)");
    settings->Add("require_signed_models", &config->require_signed_models,
                  "Refuse to hand out model versions that are unsigned or whose files changed");
  }

  Status Start(ServerContext& context) override {
    const ServerConfig& config = context.config();
    ASSIGN_OR_RETURN(store::MetadataStore * store, context.Get<store::MetadataStore>());
    ASSIGN_OR_RETURN(artifacts::ArtifactStore * artifacts, context.Get<artifacts::ArtifactStore>());
    ASSIGN_OR_RETURN(audit::AuditLog * audit, context.Get<audit::AuditLog>());
    ASSIGN_OR_RETURN(auth::AccessPolicy * access, context.Get<auth::AccessPolicy>());
    ASSIGN_OR_RETURN(tracking::TrackingService * tracking,
                     context.Get<tracking::TrackingService>());
    ASSIGN_OR_RETURN(tracking::LoggedModelService * logged_models,
                     context.Get<tracking::LoggedModelService>());

    registry_ = std::make_unique<registry::RegistryService>(store, context.env());
    RETURN_IF_ERROR(Named("the model registry", registry_->Init()));
    // Promotion policies guard the registry's stages and aliases.
    promotions_ = std::make_unique<governance::PromotionService>(store, context.env(),
                                                                 config.EffectivePoliciesDir());
    RETURN_IF_ERROR(Named("promotions", promotions_->Init()));
    registry_->SetPromotionGate(promotions_.get());
    signer_ = std::make_unique<signing::ModelSigner>(
        store, artifacts, context.env(), config.EffectiveKeysDir(), config.require_signed_models);
    RETURN_IF_ERROR(Named("model signing", signer_->Init()));
    if (!signer_->CanSign()) {
      LogInfo("model versions are registered unsigned: no signing key (cairn keys generate)",
              {{"keys", config.EffectiveKeysDir()}});
    }
    lineage_ = std::make_unique<lineage::LineageService>(registry_.get(), tracking, logged_models);

    surface::Surface mlflow(context.router(), access, mlflow::ErrorFormat::Get());
    mlflow::RegisterRegistryRoutes(mlflow, *registry_, signer_.get());
    mlflow::RegisterArtifactRoutes(mlflow, *artifacts, *tracking, *logged_models,
                                   {audit, registry_.get(), signer_.get()});
    mlflow::RegisterPromptlabRoute(mlflow, *tracking, *artifacts);
    // Cairn's own API follows MLflow's REST conventions (arguments, errors).
    api::RegisterApiRoutes(mlflow, audit, promotions_.get(), lineage_.get());

    context.Provide<registry::RegistryService>(registry_.get());
    context.Provide<governance::PromotionService>(promotions_.get());
    context.Provide<signing::ModelSigner>(signer_.get());
    context.Provide<lineage::LineageService>(lineage_.get());
    context.AddStartupFact("policies", config.EffectivePoliciesDir());
    return Status::Ok();
  }

 private:
  std::unique_ptr<registry::RegistryService> registry_;
  std::unique_ptr<governance::PromotionService> promotions_;
  std::unique_ptr<signing::ModelSigner> signer_;
  std::unique_ptr<lineage::LineageService> lineage_;
};

}  // namespace

std::unique_ptr<Module> NewRegistryModule() { return std::make_unique<RegistryModule>(); }

}  // namespace cairn::server
