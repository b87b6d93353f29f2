// The tracking module: experiments, runs and logged models behind MLflow's
// tracking API.
#include <cstdlib>
#include <memory>

#include "auth/access_policy.h"
#include "auth/auth_service.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/routes.h"
#include "server/modules.h"
#include "tracking/logged_model_service.h"
#include "tracking/records.h"
#include "tracking/tracking_service.h"

namespace cairn::server {
namespace {

class TrackingModule : public Module {
 public:
  std::string_view name() const override { return "tracking"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    // MLflow's own variable is the default, so an MLflow set-up carries over.
    if (const char* mlflow = std::getenv("MLFLOW_DEPLOYMENTS_TARGET"); mlflow != nullptr) {
      config->deployments_target = mlflow;
    }
    settings->Add("deployments_target", &config->deployments_target,
                  "http:// address of MLflow's deployments server (AI gateway) that the UI's "
                  "gateway-proxy calls go to (default: $MLFLOW_DEPLOYMENTS_TARGET, else none)");
  }

  Status Start(ServerContext& context) override {
    ASSIGN_OR_RETURN(store::MetadataStore * store, context.Get<store::MetadataStore>());
    ASSIGN_OR_RETURN(auth::AccessPolicy * access, context.Get<auth::AccessPolicy>());
    tracking_ = std::make_unique<tracking::TrackingService>(store, context.env());
    RETURN_IF_ERROR(Named("tracking", tracking_->Init()));
    logged_models_ = std::make_unique<tracking::LoggedModelService>(store, context.env());

    if (auto* auth = context.Find<auth::AuthService>()) RegisterTrackingOwnerLookups(*auth);

    surface::Surface mlflow(context.router(), access, mlflow::ErrorFormat::Get());
    mlflow::RegisterTrackingRoutes(mlflow, *tracking_);
    mlflow::RegisterLoggedModelRoutes(mlflow, *logged_models_);
    ASSIGN_OR_RETURN(mlflow::GatewayTarget gateway,
                     mlflow::ParseGatewayTarget(context.config().deployments_target));
    mlflow::RegisterGatewayProxyRoute(mlflow, gateway);
    context.Provide<tracking::TrackingService>(tracking_.get());
    context.Provide<tracking::LoggedModelService>(logged_models_.get());
    return Status::Ok();
  }

 private:
  std::unique_ptr<tracking::TrackingService> tracking_;
  std::unique_ptr<tracking::LoggedModelService> logged_models_;
};

}  // namespace

void RegisterTrackingOwnerLookups(auth::AuthService& auth) {
  auth.SetOwnerLookup(auth::ResourceKind::kRun, tracking::ExperimentOfRun);
  auth.SetOwnerLookup(auth::ResourceKind::kLoggedModel, tracking::ExperimentOfLoggedModel);
  auth.SetOwnerLookup(auth::ResourceKind::kExperimentName, tracking::ExperimentIdByName);
}

std::unique_ptr<Module> NewTrackingModule() { return std::make_unique<TrackingModule>(); }

}  // namespace cairn::server
