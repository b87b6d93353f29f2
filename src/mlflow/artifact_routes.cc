#include <cctype>
#include <string_view>

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"
#include "tracking/logged_model_service.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// The proxied-artifact endpoints take the path from the URL.
StatusOr<std::string> PathFromUrl(const HttpRequest& request) {
  return artifacts::NormalizeArtifactPath(request.PathParam("*"));
}

HttpResponse Reply(const Status& status) {
  return status.ok() ? EmptyResponse() : ErrorResponse(status);
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Content-Disposition for a download (RFC 6266): a plain-ASCII filename for
// old clients, and the exact UTF-8 name percent-encoded in filename*.
std::string AttachmentDisposition(const std::string& name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string ascii;
  std::string encoded;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    bool plain = u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    ascii += plain ? c : '_';
    if (std::isalnum(u) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos) {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[u >> 4];
      encoded += kHex[u & 0xf];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

const char* GuessContentType(const std::string& path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".json")) return "application/json";
  if (ends_with(".txt") || ends_with(".log") || ends_with(".yaml") || ends_with(".yml") ||
      ends_with("MLmodel")) {
    return "text/plain";
  }
  if (ends_with(".png")) return "image/png";
  if (ends_with(".html")) return "text/html";
  return "application/octet-stream";
}

void WriteFileInfos(json::Writer& w, const std::vector<artifacts::ArtifactEntry>& entries,
                    bool basenames, size_t strip_prefix) {
  if (entries.empty()) return;  // MLflow omits the empty list.
  w.Key("files");
  w.StartArray();
  for (const auto& e : entries) {
    w.StartObject();
    w.Key("path");
    json::WriteString(w, basenames ? Basename(e.path) : e.path.substr(strip_prefix));
    w.Key("is_dir");
    w.Bool(e.is_dir);
    if (!e.is_dir) {
      w.Key("file_size");
      w.Int64(e.file_size);
    }
    w.EndObject();
  }
  w.EndArray();
}

// Proxied artifact paths start with the experiment id
// ("<experiment>/<run>/artifacts/...", "<experiment>/models/<id>/artifacts/..."):
// the route needs `level` on that experiment.
void AddArtifactRoute(Surface& surface, const std::string& method, const std::string& path,
                      auth::Level level, http::Handler handler, http::RouteOptions options = {}) {
  RouteAccess access = RouteAccess::Experiment(level);
  auto guarded = [surface, access, handler = std::move(handler)](HttpRequest& request) {
    if (surface.access != nullptr) {
      auto args = RequestArgs::FromRequest(request);
      if (!args.ok()) return ErrorResponse(args.status());
      std::string artifact_path(request.PathParam("*"));
      if (artifact_path.empty()) {
        auto listed = args->StringOr("path", "");
        if (!listed.ok()) return ErrorResponse(listed.status());
        artifact_path = *listed;
      }
      auto normalized = artifacts::NormalizeArtifactPath(artifact_path);
      if (!normalized.ok()) return ErrorResponse(normalized.status());
      std::string experiment = normalized->substr(0, normalized->find('/'));
      // The artifact root itself lists experiments: only admins may.
      Status allowed =
          experiment.empty()
              ? surface.access->RequireRole(auth::IdentityOf(request), auth::Role::kAdmin)
              : surface.access->Require(auth::IdentityOf(request), auth::ResourceKind::kExperiment,
                                        experiment, access.level);
      if (!allowed.ok()) return ErrorResponse(allowed);
    }
    return handler(request);
  };
  options.access = access.Describe() + " (the path's first folder)";
  surface.router.Add(method, "/api/2.0/mlflow-artifacts/" + path, guarded, options);
  surface.router.Add(method, "/ajax-api/2.0/mlflow-artifacts/" + path, guarded, options);
}

}  // namespace

void RegisterArtifactRoutes(Surface& surface, artifacts::ArtifactStore& store,
                            tracking::TrackingService& tracking,
                            tracking::LoggedModelService& models) {
  artifacts::ArtifactStore* a = &store;
  http::RouteOptions spool;
  spool.body_mode = http::BodyMode::kSpoolToFile;
  AddArtifactRoute(
      surface, "PUT", "artifacts/*", auth::Level::kEdit,
      [a](HttpRequest& request) {
        auto path = PathFromUrl(request);
        if (!path.ok()) return ErrorResponse(path.status());
        if (path->empty()) return ErrorResponse(InvalidArgument("An artifact path is required."));
        return Reply(a->PutFile(*path, request.body_file));
      },
      spool);
  AddArtifactRoute(surface, "GET", "artifacts/*", auth::Level::kRead, [a](HttpRequest& request) {
    auto path = PathFromUrl(request);
    if (!path.ok()) return ErrorResponse(path.status());
    auto file = a->LocalFile(*path);
    if (!file.ok()) return ErrorResponse(file.status());
    HttpResponse response;
    response.content_type = GuessContentType(*path);
    response.body_file = *file;
    response.headers.emplace_back("Content-Disposition", AttachmentDisposition(Basename(*path)));
    return response;
  });
  AddArtifactRoute(surface, "DELETE", "artifacts/*", auth::Level::kEdit, [a](HttpRequest& request) {
    auto path = PathFromUrl(request);
    if (!path.ok()) return ErrorResponse(path.status());
    return Reply(a->Delete(*path));
  });
  AddArtifactRoute(surface, "GET", "artifacts", auth::Level::kRead, [a](HttpRequest& request) {
    auto args = RequestArgs::FromRequest(request);
    if (!args.ok()) return ErrorResponse(args.status());
    auto raw = args->StringOr("path", "");
    if (!raw.ok()) return ErrorResponse(raw.status());
    auto path = artifacts::NormalizeArtifactPath(*raw);
    if (!path.ok()) return ErrorResponse(path.status());
    auto entries = a->List(*path);
    if (!entries.ok()) return ErrorResponse(entries.status());
    json::Buffer buffer;
    json::Writer w(buffer);
    w.StartObject();
    WriteFileInfos(w, *entries, /*basenames=*/true, 0);
    w.EndObject();
    return JsonResponse(buffer);
  });
  for (const char* op : {"create", "complete", "abort"}) {
    AddArtifactRoute(
        surface, "POST", std::string("mpu/") + op + "/*", auth::Level::kEdit, [](HttpRequest&) {
          return ErrorResponse(Unimplemented(
              "Multipart upload is not supported for the current artifact repository"));
        });
  }

  // MLflow's listings under an artifact root (a run's or a logged model's):
  // paths relative to the root, which is named in root_uri.
  auto list_under = [a](const std::string& root_uri,
                        const std::string& raw_sub) -> StatusOr<HttpResponse> {
    ASSIGN_OR_RETURN(std::string sub, artifacts::NormalizeArtifactPath(raw_sub));
    json::Buffer buffer;
    json::Writer w(buffer);
    w.StartObject();
    w.Key("root_uri");
    json::WriteString(w, root_uri);
    auto root = artifacts::ServedArtifactPath(root_uri);
    if (root.ok()) {
      std::string dir = sub.empty() ? *root : *root + "/" + sub;
      ASSIGN_OR_RETURN(auto entries, a->List(dir));
      WriteFileInfos(w, entries, /*basenames=*/false, root->size() + 1);
    }
    w.EndObject();
    return JsonResponse(buffer);
  };

  tracking::TrackingService* t = &tracking;
  AddMlflowRoute(surface, "GET", "artifacts/list", RouteAccess::Run(auth::Level::kRead),
                 [t, list_under](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(std::string sub, args.StringOr("path", ""));
                   ASSIGN_OR_RETURN(tracking::Run run, t->GetRun(run_id));
                   return list_under(run.info.artifact_uri, sub);
                 });

  // MLflow 3's listing of a logged model's artifacts.
  tracking::LoggedModelService* m = &models;
  AddMlflowRoute(
      surface, "GET", "logged-models/{model_id}/artifacts/directories",
      RouteAccess::LoggedModel(auth::Level::kRead),
      [m, list_under](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(std::string sub, args.StringOr("artifact_directory_path", ""));
        ASSIGN_OR_RETURN(tracking::LoggedModel model,
                         m->Get(std::string(request.PathParam("model_id"))));
        return list_under(model.artifact_uri, sub);
      });
}

}  // namespace cairn::mlflow
