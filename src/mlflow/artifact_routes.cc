#include <algorithm>
#include <cctype>
#include <fstream>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/http_authenticator.h"
#include "core/json.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"
#include "tracking/logged_model_service.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// An artifact path from a request, normalized. A path MLflow's
// validate_path_is_safe refuses ('..' segments, absolute, backslashes, also
// once percent-decoded again) is answered as MLflow answers it, with exactly
// "Invalid path": clients match that text. Unlike MLflow, '#' is allowed: it
// is an ordinary character in a file name and escapes nothing here.
StatusOr<std::string> SafePath(std::string_view raw) {
  // The bounds on depth and length keep their own message; any other
  // refusal is MLflow's.
  auto as_mlflow = [](const Status& refused) {
    bool bound = refused.message().find("folder levels") != std::string::npos;
    return bound ? refused : InvalidArgument("Invalid path");
  };
  StatusOr<std::string> normalized = artifacts::NormalizeArtifactPath(raw);
  if (!normalized.ok()) return as_mlflow(normalized.status());
  std::string decoded = FullyPercentDecoded(std::string(raw));
  if (decoded != raw) {
    StatusOr<std::string> hidden = artifacts::NormalizeArtifactPath(decoded);
    if (!hidden.ok()) return as_mlflow(hidden.status());
  }
  return normalized;
}

// The proxied-artifact endpoints take the path from the URL.
StatusOr<std::string> PathFromUrl(const HttpRequest& request) {
  return SafePath(request.PathParam("*"));
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

// The number of '/'-separated segments of a normalized path ("" has none).
size_t Depth(const std::string& path) {
  if (path.empty()) return 0;
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/')) + 1;
}

// Deleting a folder above one run's (the experiment's; "<experiment>/models"
// with every logged model; a run's whole folder) takes more than one run's
// artifacts with it, so it needs manage on the experiment; a delete inside
// one run's or logged model's folder ("<experiment>/<run>/artifacts/...",
// "<experiment>/models/<id>/...") needs the edit an upload there needs.
constexpr size_t kMinEditDeleteDepth = 3;

auth::Level LevelFor(const std::string& method, const std::string& path, auth::Level base) {
  if (method == "DELETE" && Depth(path) < kMinEditDeleteDepth) return auth::Level::kManage;
  return base;
}

// Proxied artifact paths start with the experiment id
// ("<experiment>/<run>/artifacts/...", "<experiment>/models/<id>/artifacts/..."):
// the route needs `level` on that experiment (see LevelFor for deletes).
void AddArtifactRoute(const surface::Surface& surface, const std::string& method,
                      const std::string& path, auth::Level level, http::Handler handler,
                      http::RouteOptions options = {}) {
  RouteAccess access = RouteAccess::Experiment(level);
  auto guarded = [surface, access, method, handler = std::move(handler)](HttpRequest& request) {
    if (surface.access() != nullptr) {
      auto args = RequestArgs::FromRequest(request);
      if (!args.ok()) return ErrorResponse(args.status());
      std::string artifact_path(request.PathParam("*"));
      if (artifact_path.empty()) {
        auto listed = args->StringOr("path", "");
        if (!listed.ok()) return ErrorResponse(listed.status());
        artifact_path = *listed;
      }
      auto normalized = SafePath(artifact_path);
      if (!normalized.ok()) return ErrorResponse(normalized.status());
      std::string experiment = normalized->substr(0, normalized->find('/'));
      // The artifact root itself lists experiments: only admins may.
      Status allowed =
          experiment.empty()
              ? surface.access()->RequireRole(auth::IdentityOf(request), auth::Role::kAdmin)
              : surface.access()->Require(auth::IdentityOf(request),
                                          auth::ResourceKind::kExperiment, experiment,
                                          LevelFor(method, *normalized, access.level));
      if (!allowed.ok()) return ErrorResponse(allowed);
    }
    return handler(request);
  };
  options.access = access.Describe() + " (the path's first folder)";
  if (method == "DELETE") options.access += "; experiment manage above a run's folder";
  surface.Add(method, "/api/2.0/mlflow-artifacts/" + path, guarded, options);
  surface.Add(method, "/ajax-api/2.0/mlflow-artifacts/" + path, guarded, options);
}

// An uploaded file goes inside a run's or a logged model's artifacts folder,
// "<experiment>/<run>/artifacts/<file>" at the shallowest: a file any higher
// would stand where the layout needs a folder (an upload to ".../artifacts"
// itself would make later uploads to that run fail).
constexpr size_t kMinUploadDepth = 4;

// The upload's path from the URL. Errors: InvalidArgument naming the fix for
// a path that names a folder.
StatusOr<std::string> UploadPath(const HttpRequest& request) {
  std::string_view raw = request.PathParam("*");
  ASSIGN_OR_RETURN(std::string path, SafePath(raw));
  if (!raw.empty() && raw.back() == '/') {
    return InvalidArgument(
        "Artifact path '" + std::string(raw) +
        "' ends with '/', which names a folder; name the file to upload, e.g. '" + path +
        "/<file name>'.");
  }
  if (Depth(path) < kMinUploadDepth) {
    return InvalidArgument("Artifact path '" + path +
                           "' is not inside an artifacts folder; upload to "
                           "'<experiment id>/<run id>/artifacts/<file>' (the run's artifact_uri "
                           "followed by the file's path).");
  }
  return path;
}

// Where registered model versions keep their files, for the checks below.
class VersionFiles {
 public:
  explicit VersionFiles(registry::RegistryService* registry) : registry_(registry) {}

  struct Holder {
    registry::ModelVersion version;
    std::string root;  // The version's folder in the artifact store.
  };

  // Live versions whose folder is `path` or a folder above it, and with
  // `below`, also those inside `path` (what deleting it would remove).
  // One query: the exact locations of every folder on the way, plus the
  // rare non-canonical ones ("mlflow-artifacts://host/...", '//'), which
  // are then matched here on the normalized path.
  StatusOr<std::vector<Holder>> Holding(const std::string& path, bool below) const {
    std::vector<std::string> locations;
    std::string prefix;
    for (size_t pos = 0; pos <= path.size();) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      prefix = path.substr(0, slash);
      for (const char* scheme : {"mlflow-artifacts:/", "mlflow-artifacts:"}) {
        locations.push_back(scheme + prefix);
        locations.push_back(scheme + prefix + "/");
      }
      pos = slash + 1;
    }
    std::vector<std::string> patterns = {"mlflow-artifacts:%//%"};
    if (below) {
      patterns.push_back("mlflow-artifacts:/" + EscapeLike(path) + "/%");
      patterns.push_back("mlflow-artifacts:" + EscapeLike(path) + "/%");
    }
    ASSIGN_OR_RETURN(auto versions, registry_->LiveVersionsAtLocations(locations, patterns));
    std::vector<Holder> out;
    for (registry::ModelVersion& v : versions) {
      auto root = artifacts::ServedArtifactPath(v.storage_location);
      if (!root.ok() || root->empty()) continue;
      bool above = path == *root || path.rfind(*root + "/", 0) == 0;
      bool inside = below && root->rfind(path + "/", 0) == 0;
      if (above || inside) out.push_back({std::move(v), *std::move(root)});
    }
    return out;
  }

  // A registered version's files are what was reviewed, approved and signed:
  // they never change once it exists. Errors: PermissionDenied naming the
  // model and version when `path` is (or, for a delete, holds) such a file.
  Status RequireMutable(const std::string& path, bool deleting) const {
    ASSIGN_OR_RETURN(auto holders, Holding(path, deleting));
    if (holders.empty()) return Status::Ok();
    const registry::ModelVersion& v = holders.front().version;
    return PermissionDenied(
        "Artifact path '" + path + "' holds files of registered model '" + v.name + "' version " +
        std::to_string(v.version) +
        ", which cannot change once the version exists. Log the new files under a new path (or "
        "run) and register them as a new version.");
  }

 private:
  static std::string EscapeLike(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '%' || c == '_' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  }

  registry::RegistryService* registry_;
};

// With --require-signed-models, a file of a registered version is served
// only if one version holding it has a signature that verifies and lists the
// file with its current digest. Errors: PermissionDenied naming the version,
// what is wrong, and `cairn models verify`.
Status CheckSignedFile(const VersionFiles& versions, registry::RegistryService* registry,
                       signing::ModelSigner* signer, const std::string& path,
                       const std::string& local_file) {
  if (signer == nullptr || !signer->require_signed()) return Status::Ok();
  ASSIGN_OR_RETURN(auto holders, versions.Holding(path, /*below=*/false));
  std::string refused;
  for (const VersionFiles::Holder& h : holders) {
    ASSIGN_OR_RETURN(int64_t key, registry->ModelKey(h.version.name));
    // The version's location may be the file itself (a single-file model),
    // which its manifest names "" (DigestArtifacts: the path below the root).
    std::string relative = path.size() > h.root.size() ? path.substr(h.root.size() + 1) : "";
    ASSIGN_OR_RETURN(auto problems,
                     signer->VerifyFile(key, h.version.version, relative, local_file));
    if (problems.empty()) return Status::Ok();
    std::string joined;
    for (const std::string& p : problems) joined += (joined.empty() ? "" : "; ") + p;
    if (refused.empty()) {
      refused = "model " + h.version.name + " version " + std::to_string(h.version.version) + ": " +
                joined + " (check it with `cairn models verify models:/" + h.version.name + "/" +
                std::to_string(h.version.version) + "`)";
    }
  }
  if (refused.empty()) return Status::Ok();
  return PermissionDenied("Artifact '" + path + "' may not be served: it belongs to " + refused +
                          ". This server requires signed models (--require-signed-models).");
}

// Records an artifact change in the audit log before it is applied (the
// store calls this at its point of no return). Files live outside the
// database, so the entry cannot share their change's transaction; it is
// committed first instead (AuditLog::Append), so no change happens without
// its entry (a change that then fails leaves an entry for an attempt).
artifacts::BeforeChange AuditArtifactChange(audit::AuditLog* audit, const HttpRequest& request,
                                            const std::string& path, const std::string& details) {
  std::shared_ptr<const store::WriteContext> context =
      surface::RequestAuditContext(request, "artifact " + path, details);
  return [audit, context]() { return audit->Append(*context); };
}

struct Upload {
  int64_t size = 0;
  std::string sha256;
};

// Size and SHA-256 of an uploaded body, for the audit entry.
StatusOr<Upload> DigestUpload(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument("The upload has no body.");
  Sha256 sha;
  Upload out;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto n = static_cast<size_t>(in.gcount());
    sha.Update(std::string_view(buffer.data(), n));
    out.size += static_cast<int64_t>(n);
  }
  out.sha256 = sha.FinishHex();
  return out;
}

// The audit entry's request: the path, and an upload's size and SHA-256
// (which identify the bytes without keeping them).
std::string ChangeJson(const std::string& path, const Upload* upload) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("path");
  json::WriteString(w, path);
  if (upload != nullptr) {
    w.Key("size");
    w.Int64(upload->size);
    w.Key("sha256");
    json::WriteString(w, upload->sha256);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

void RegisterArtifactRoutes(const surface::Surface& surface, artifacts::ArtifactStore& store,
                            tracking::TrackingService& tracking,
                            tracking::LoggedModelService& models, ArtifactGuards guards) {
  artifacts::ArtifactStore* a = &store;
  surface.ClaimPrefix("/api/2.0/mlflow-artifacts/");
  surface.ClaimPrefix("/ajax-api/2.0/mlflow-artifacts/");
  VersionFiles versions(guards.registry);
  http::RouteOptions spool;
  spool.body_mode = http::BodyMode::kSpoolToFile;
  AddArtifactRoute(
      surface, "PUT", "artifacts/*", auth::Level::kEdit,
      [a, versions, guards](HttpRequest& request) {
        auto path = UploadPath(request);
        if (!path.ok()) return ErrorResponse(path.status());
        if (Status mutable_ok = versions.RequireMutable(*path, /*deleting=*/false);
            !mutable_ok.ok()) {
          return ErrorResponse(mutable_ok);
        }
        auto digest = DigestUpload(request.body_file);
        if (!digest.ok()) return ErrorResponse(digest.status());
        std::string details = ChangeJson(*path, &*digest);
        return Reply(a->PutFile(*path, request.body_file,
                                AuditArtifactChange(guards.audit, request, *path, details)));
      },
      spool);
  // A stored file as a download (the path is normalized, in the store).
  auto send_file = [a, versions, guards](const std::string& path) -> StatusOr<HttpResponse> {
    ASSIGN_OR_RETURN(std::string file, a->LocalFile(path));
    RETURN_IF_ERROR(CheckSignedFile(versions, guards.registry, guards.signer, path, file));
    HttpResponse response;
    response.content_type = GuessContentType(path);
    response.body_file = file;
    response.headers.emplace_back("Content-Disposition", AttachmentDisposition(Basename(path)));
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
  };
  AddArtifactRoute(surface, "GET", "artifacts/*", auth::Level::kRead,
                   [send_file](HttpRequest& request) {
                     auto path = PathFromUrl(request);
                     if (!path.ok()) return ErrorResponse(path.status());
                     auto response = send_file(*path);
                     return response.ok() ? std::move(*response) : ErrorResponse(response.status());
                   });
  // A file under an artifact root this server serves (mlflow-artifacts:/...).
  auto send_under = [send_file](const std::string& root_uri,
                                const std::string& path) -> StatusOr<HttpResponse> {
    StatusOr<std::string> root = artifacts::ServedArtifactPath(root_uri);
    if (!root.ok()) {
      return InvalidArgument("The artifacts of '" + root_uri +
                             "' are not stored on this server; download them from where they "
                             "are stored.");
    }
    return send_file(path.empty() ? *root : *root + "/" + path);
  };
  // The files MLflow's web UI fetches: a run's, and a registered version's.
  auto path_arg = [](const RequestArgs& args) -> StatusOr<std::string> {
    const json::Value* raw = args.Get("path");
    if (raw == nullptr) return MissingParameter("path");
    ASSIGN_OR_RETURN(std::string text, RequestArgs::AsString(*raw, "path"));
    return SafePath(text);
  };
  tracking::TrackingService* runs = &tracking;
  AddMlflowRouteAt(surface, "GET", {"/get-artifact", "//get-artifact"},
                   RouteAccess::Run(auth::Level::kRead),
                   [runs, path_arg, send_under](const RequestArgs& args,
                                                HttpRequest&) -> StatusOr<HttpResponse> {
                     ASSIGN_OR_RETURN(std::string path, path_arg(args));
                     ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                     ASSIGN_OR_RETURN(tracking::Run run, runs->GetRun(run_id));
                     return send_under(run.info.artifact_uri, path);
                   });
  // MLflow's UI upload of one file to a run (10 MB at most): the run and
  // path in the query, the bytes as the body. Guarded as an artifact upload:
  // edit on the run, a registered version's files stay as they are, audited.
  http::RouteOptions upload_options;
  upload_options.body_mode = http::BodyMode::kSpoolToFile;
  upload_options.json_body = false;
  upload_options.access = "experiment edit (via its run)";
  auto upload = [runs, a, versions, guards, surface](HttpRequest& request) -> HttpResponse {
    auto stored = [&]() -> Status {
      // Who may upload at all comes first, so a viewer learns nothing from
      // the validation below.
      if (surface.access() != nullptr) {
        RETURN_IF_ERROR(
            surface.access()->RequireRole(auth::IdentityOf(request), auth::Role::kEditor));
      }
      std::string run_id, raw_path;
      for (auto& [key, value] : http::ParseQuery(request.query)) {
        if (key == "run_uuid" || (key == "run_id" && run_id.empty())) run_id = value;
        if (key == "path") raw_path = value;
      }
      if (run_id.empty()) return InvalidArgument("Request must specify run_uuid.");
      if (raw_path.empty()) return InvalidArgument("Request must specify path.");
      ASSIGN_OR_RETURN(std::string path, SafePath(raw_path));
      if (surface.access() != nullptr) {
        RETURN_IF_ERROR(surface.access()->Require(
            auth::IdentityOf(request), auth::ResourceKind::kRun, run_id, auth::Level::kEdit));
      }
      constexpr int64_t kMaxBytes = 10 * 1024 * 1024;
      ASSIGN_OR_RETURN(Upload digest, DigestUpload(request.body_file));
      if (digest.size > kMaxBytes) {
        return InvalidArgument("Artifact size is too large. Max size is 10MB.");
      }
      if (digest.size == 0) return InvalidArgument("Request must specify data.");
      ASSIGN_OR_RETURN(tracking::Run run, runs->GetRun(run_id));
      StatusOr<std::string> root = artifacts::ServedArtifactPath(run.info.artifact_uri);
      if (!root.ok()) {
        return InvalidArgument("The artifacts of run " + run_id + " are stored at '" +
                               run.info.artifact_uri + "', not on this server; upload them there.");
      }
      std::string target = *root + "/" + path;
      RETURN_IF_ERROR(versions.RequireMutable(target, /*deleting=*/false));
      return a->PutFile(
          target, request.body_file,
          AuditArtifactChange(guards.audit, request, target, ChangeJson(target, &digest)));
    }();
    return stored.ok() ? WriteJson([](json::Writer&) {}) : ErrorResponse(stored);
  };
  for (const char* prefix : {"/ajax-api/2.0/mlflow/", "/api/2.0/mlflow/"}) {
    surface.Add("POST", std::string(prefix) + "upload-artifact", upload, upload_options);
  }
  registry::RegistryService* registry = guards.registry;
  AddMlflowRouteAt(surface, "GET",
                   {"/model-versions/get-artifact", "//model-versions/get-artifact"},
                   RouteAccess::Model(auth::Level::kRead),
                   [registry, path_arg, send_under](const RequestArgs& args,
                                                    HttpRequest&) -> StatusOr<HttpResponse> {
                     ASSIGN_OR_RETURN(std::string path, path_arg(args));
                     ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                     ASSIGN_OR_RETURN(std::string version, args.RequiredString("version"));
                     ASSIGN_OR_RETURN(std::string uri, registry->GetDownloadUri(name, version));
                     return send_under(uri, path);
                   });
  AddArtifactRoute(
      surface, "DELETE", "artifacts/*", auth::Level::kEdit,
      [a, versions, guards](HttpRequest& request) {
        auto path = PathFromUrl(request);
        if (!path.ok()) return ErrorResponse(path.status());
        if (path->empty()) {
          return ErrorResponse(
              InvalidArgument("An artifact path is required: name the file or folder to delete."));
        }
        if (Status mutable_ok = versions.RequireMutable(*path, /*deleting=*/true);
            !mutable_ok.ok()) {
          return ErrorResponse(mutable_ok);
        }
        return Reply(a->Delete(
            *path, AuditArtifactChange(guards.audit, request, *path, ChangeJson(*path, nullptr))));
      });
  AddArtifactRoute(surface, "GET", "artifacts", auth::Level::kRead, [a](HttpRequest& request) {
    auto args = RequestArgs::FromRequest(request);
    if (!args.ok()) return ErrorResponse(args.status());
    auto raw = args->StringOr("path", "");
    if (!raw.ok()) return ErrorResponse(raw.status());
    auto path = SafePath(*raw);
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
    ASSIGN_OR_RETURN(std::string sub, SafePath(raw_sub));
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
                   RETURN_IF_ERROR(SafePath(sub).status());  // before the run, as MLflow
                   ASSIGN_OR_RETURN(tracking::Run run, t->GetRun(run_id));
                   return list_under(run.info.artifact_uri, sub);
                 });

  // MLflow 3's UI: one file of a logged model's artifacts.
  tracking::LoggedModelService* m = &models;
  AddMlflowRoute(
      surface, "GET", "logged-models/{model_id}/artifacts/files",
      RouteAccess::LoggedModel(auth::Level::kRead),
      [m, send_under](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        const json::Value* raw = args.Get("artifact_file_path");
        std::string file;
        if (raw != nullptr) {
          ASSIGN_OR_RETURN(file, RequestArgs::AsString(*raw, "artifact_file_path"));
        }
        if (file.empty()) {
          return InvalidArgument(
              "Request must include the \"artifact_file_path\" query parameter.");
        }
        ASSIGN_OR_RETURN(std::string path, SafePath(file));
        ASSIGN_OR_RETURN(tracking::LoggedModel model,
                         m->Get(std::string(request.PathParam("model_id"))));
        return send_under(model.artifact_uri, path);
      });

  // MLflow 3's listing of a logged model's artifacts.
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
