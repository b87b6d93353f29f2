// The modules of `cairn server` (see module.h) and what they share.
// Internal to the server component.
#pragma once

#include <memory>
#include <string>

#include "auth/auth_service.h"
#include "core/status.h"
#include "server/module.h"

namespace cairn::server {

// The stores, audit log, users and authenticator. Provides
// store::MetadataStore, artifacts::ArtifactStore, audit::AuditLog,
// auth::AuthService, auth::AccessPolicy and http::Authenticator.
std::unique_ptr<Module> NewPlatformModule();
// Experiments, runs, logged models: MLflow's tracking API. Provides
// tracking::TrackingService and tracking::LoggedModelService.
std::unique_ptr<Module> NewTrackingModule();
// The model registry with promotion policies, signing and lineage, the
// artifact routes that guard registered files, and Cairn's own API.
// Provides registry::RegistryService, governance::PromotionService,
// signing::ModelSigner and lineage::LineageService.
std::unique_ptr<Module> NewRegistryModule();
// The feature store behind Feast's HTTP API. Provides
// features::FeatureRegistry and features::OnlineServing.
std::unique_ptr<Module> NewFeaturesModule();
// Serving: deployments of registered models, the KServe v2 inference routes
// (on the main listener, and on --serving-port when set).
std::unique_ptr<Module> NewServingModule();
// The gRPC inference protocol over serving's deployments (--serving-grpc-port).
std::unique_ptr<Module> NewGrpcInferenceModule();

// Lets `auth` tell which experiment holds a run, a logged model or a named
// experiment, through tracking's records (tracking/records.h). For the
// server and the admin commands that check access.
void RegisterTrackingOwnerLookups(auth::AuthService& auth);

// `status` with "cannot initialise <what>: " before its message, code kept.
inline Status Named(const std::string& what, Status status) {
  if (status.ok()) return status;
  return Status(status.code(), "cannot initialise " + what + ": " + status.message());
}

}  // namespace cairn::server
