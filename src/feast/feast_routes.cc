#include "feast/feast_routes.h"

#include <cmath>

#include "core/base64.h"
#include "core/json.h"
#include "core/time_format.h"
#include "feast/feast_json.h"
#include "feast/training_set_route.h"
#include "features/materialize.h"
#include "features/offline_push.h"
#include "features/offline_source.h"
#include "features/online_writer.h"

namespace cairn::feast {
namespace {

using features::FeatureStatus;
using features::FeatureValue;
using http::HttpRequest;
using http::HttpResponse;

HttpResponse Null() { return HttpResponse::Json(200, "null"); }

StatusOr<features::OnlineRequest> DecodeOnlineRequest(const json::Document& doc) {
  features::OnlineRequest request;
  ASSIGN_OR_RETURN(request.features, StringList(doc, "features"));
  ASSIGN_OR_RETURN(request.service, OptionalString(doc, "feature_service"));
  if (request.features.empty() == request.service.empty()) {
    return InvalidArgument(
        "give exactly one of features (a list of \"view:feature\") and "
        "feature_service");
  }
  ASSIGN_OR_RETURN(request.full_feature_names, OptionalBool(doc, "full_feature_names", false));
  auto entities = doc.FindMember("entities");
  if (entities == doc.MemberEnd() || !entities->value.IsObject()) {
    return InvalidArgument("entities: expected a map of join keys to lists of values");
  }
  for (const auto& member : entities->value.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    if (!member.value.IsArray()) {
      return InvalidArgument("entities." + name + ": expected a list of values");
    }
    std::vector<features::EntityValue> values;
    for (const json::Value& v : member.value.GetArray()) {
      if (v.IsInt64()) {
        values.emplace_back(v.GetInt64());
      } else if (v.IsString()) {
        values.emplace_back(std::string(v.GetString(), v.GetStringLength()));
      } else if (v.IsNumber()) {
        values.emplace_back(v.GetDouble());  // a request field of an on-demand view
      } else if (v.IsBool()) {
        values.emplace_back(v.GetBool());  // likewise
      } else {
        return InvalidArgument("entities." + name + "[" + std::to_string(values.size()) +
                               "]: expected an integer, a number, a string or a boolean");
      }
    }
    request.entities.emplace_back(std::move(name), std::move(values));
  }
  return request;
}

void AppendValue(std::string& out, const FeatureValue& value, features::ValueType type) {
  if (std::holds_alternative<std::monostate>(value)) {
    out += "null";
  } else if (const int64_t* i = std::get_if<int64_t>(&value)) {
    if (type == features::ValueType::kBool) {
      out += *i != 0 ? "true" : "false";
    } else if (type == features::ValueType::kUnixTimestamp) {
      json::AppendInt(out, *i / 1'000'000);  // Feast serves timestamps as Unix seconds
    } else {
      json::AppendInt(out, *i);
    }
  } else if (const double* d = std::get_if<double>(&value)) {
    json::AppendDouble(out, *d);
  } else if (type == features::ValueType::kBytes) {
    json::AppendString(out, Base64Encode(std::get<std::string>(value)));
  } else {
    json::AppendString(out, std::get<std::string>(value));
  }
}

// The response is written straight into one string: with 100 entities x 50
// features it holds 5,000 values and as many timestamps, and a token-by-token
// writer and per-value time formatting dominated its cost.
std::string EncodeOnlineResponse(const features::OnlineResponse& response) {
  std::string out;
  size_t cells = 0;
  for (const auto& c : response.columns) cells += c.values.size();
  out.reserve(64 + cells * 48);
  out += "{\"metadata\":{\"feature_names\":[";
  for (size_t i = 0; i < response.columns.size(); ++i) {
    if (i > 0) out += ',';
    json::AppendString(out, response.columns[i].name);
  }
  out += "]},\"results\":[";
  // The features of one view share their records' times: each distinct
  // event_timestamps list is formatted once (a request has one per view read).
  std::vector<std::pair<const features::RowList<int64_t>*, std::string>> formatted;
  formatted.reserve(4);
  auto timestamps = [&formatted](const features::RowList<int64_t>& micros) -> const std::string& {
    for (const auto& [seen, text] : formatted) {
      if (*seen == micros) return text;
    }
    std::string text;
    for (size_t j = 0; j < micros.size(); ++j) {
      text += j > 0 ? ",\"" : "\"";
      text += FormatRfc3339(micros[j]);
      text += '"';
    }
    formatted.emplace_back(&micros, std::move(text));
    return formatted.back().second;
  };
  for (size_t i = 0; i < response.columns.size(); ++i) {
    const auto& c = response.columns[i];
    out += i > 0 ? ",{\"values\":[" : "{\"values\":[";
    for (size_t j = 0; j < c.values.size(); ++j) {
      if (j > 0) out += ',';
      AppendValue(out, c.values[j], c.type);
    }
    out += "],\"statuses\":[";
    for (size_t j = 0; j < c.statuses.size(); ++j) {
      if (j > 0) out += ',';
      out += '"';
      out += features::FeatureStatusName(c.statuses[j]);
      out += '"';
    }
    out += "],\"event_timestamps\":[";
    out += timestamps(c.event_micros);
    out += "]}";
  }
  out += "]}";
  return out;
}

// The time fields of /materialize: RFC 3339 text (Feast sends isoformat()).
StatusOr<int64_t> RequiredTime(const json::Document& doc, const char* field) {
  ASSIGN_OR_RETURN(std::string text, OptionalString(doc, field));
  if (text.empty())
    return InvalidArgument(std::string(field) + ": required (e.g. 2026-01-31T00:00:00)");
  StatusOr<int64_t> t = ParseTimestampMicros(text);
  if (!t.ok()) return InvalidArgument(std::string(field) + ": " + t.status().message());
  return *t;
}

}  // namespace

void RegisterFeastRoutes(const surface::Surface& shared, const FeastDependencies& deps) {
  // Feast's routes answer errors as Feast's server does, whatever the listener.
  const surface::Surface feast = shared.WithErrors(ErrorFormat::Get());
  auth::AccessPolicy* access = feast.access();
  http::RouteOptions read{.access = "any user (online features)"};
  // Embedded-store reads touch only memory-mapped pages: served on the IO
  // thread, they skip two thread hand-offs, which cost more than the read.
  if (!deps.store->ReadsBlock()) read.execution = http::Execution::kInline;
  http::RouteOptions write{.access = "role editor (online store writes)"};

  if (deps.store->ReadsBlock()) {
    // A networked store (Redis) is read without holding a thread: the
    // request is decoded on the IO thread, its reads join the store's
    // pipeline, and the response is written when they come back.
    feast.AddAsync(
        "POST", "/get-online-features",
        [deps](HttpRequest& request, http::Responder respond) {
          StatusOr<json::Document> doc = ParseBody(request);
          if (!doc.ok()) return respond(ErrorResponse(doc.status()));
          StatusOr<features::OnlineRequest> decoded = DecodeOnlineRequest(*doc);
          if (!decoded.ok()) return respond(ErrorResponse(decoded.status()));
          deps.serving->GetOnlineFeaturesAsync(
              std::make_shared<const features::OnlineRequest>(std::move(*decoded)),
              [respond = std::move(respond)](StatusOr<features::OnlineResponse> response) {
                respond(response.ok() ? HttpResponse::Json(200, EncodeOnlineResponse(*response))
                                      : ErrorResponse(response.status()));
              });
        },
        read);
  } else {
    feast.Add(
        "POST", "/get-online-features",
        [deps](HttpRequest& request) {
          StatusOr<json::Document> doc = ParseBody(request);
          if (!doc.ok()) return ErrorResponse(doc.status());
          StatusOr<features::OnlineRequest> decoded = DecodeOnlineRequest(*doc);
          if (!decoded.ok()) return ErrorResponse(decoded.status());
          StatusOr<features::OnlineResponse> response = deps.serving->GetOnlineFeatures(*decoded);
          if (!response.ok()) return ErrorResponse(response.status());
          return HttpResponse::Json(200, EncodeOnlineResponse(*response));
        },
        read);
  }

  auto write_rows = [deps](const features::FeatureRepo& repo, const features::FeatureView& view,
                           const features::Frame& frame) -> Status {
    return features::WriteFrame(repo, view, frame, *deps.store).status();
  };

  feast.Add(
      "POST", "/write-to-online-store",
      [deps, write_rows, access](HttpRequest& request) {
        Status allowed = RequireEditor(access, request);
        if (!allowed.ok()) return ErrorResponse(allowed);
        StatusOr<json::Document> doc = ParseBody(request);
        if (!doc.ok()) return ErrorResponse(doc.status());
        StatusOr<std::string> view_name = OptionalString(*doc, "feature_view_name");
        if (!view_name.ok()) return ErrorResponse(view_name.status());
        if (view_name->empty())
          return ErrorResponse(InvalidArgument("feature_view_name: required"));
        StatusOr<features::Frame> frame = DecodeFrame(*doc, "df");
        if (!frame.ok()) return ErrorResponse(frame.status());
        auto repo = deps.serving->Definitions();
        if (!repo.ok()) return ErrorResponse(repo.status());
        const features::FeatureView* view = (*repo)->FindFeatureView(*view_name);
        if (view == nullptr) {
          return ErrorResponse(NotFound("no feature view named '" + *view_name + "'"));
        }
        Status audited = AuditWrite(deps.audit, request, "feature_view " + *view_name);
        if (!audited.ok()) return ErrorResponse(audited);
        Status written = write_rows(**repo, *view, *frame);
        return written.ok() ? Null() : ErrorResponse(written);
      },
      write);

  feast.Add(
      "POST", "/push",
      [deps, write_rows, access](HttpRequest& request) {
        Status allowed = RequireEditor(access, request);
        if (!allowed.ok()) return ErrorResponse(allowed);
        StatusOr<json::Document> doc = ParseBody(request);
        if (!doc.ok()) return ErrorResponse(doc.status());
        StatusOr<std::string> source = OptionalString(*doc, "push_source_name");
        if (!source.ok()) return ErrorResponse(source.status());
        StatusOr<std::string> to = OptionalString(*doc, "to");
        if (!to.ok()) return ErrorResponse(to.status());
        if (to->empty()) *to = "online";  // Feast's default
        bool online = *to == "online" || *to == "online_and_offline";
        bool offline = *to == "offline" || *to == "online_and_offline";
        if (!online && !offline) {
          return ErrorResponse(
              InvalidArgument("to: '" + *to +
                              "' is not a destination; expected online, offline or "
                              "online_and_offline"));
        }
        StatusOr<features::Frame> frame = DecodeFrame(*doc, "df");
        if (!frame.ok()) return ErrorResponse(frame.status());
        auto repo = deps.serving->Definitions();
        if (!repo.ok()) return ErrorResponse(repo.status());
        const features::Source* push = (*repo)->FindSource(*source);
        if (push == nullptr || push->kind != features::SourceKind::kPush) {
          return ErrorResponse(NotFound("no push source named '" + *source + "'"));
        }
        Status audited = AuditWrite(deps.audit, request, "push_source " + *source);
        if (!audited.ok()) return ErrorResponse(audited);
        // Offline first: when it fails nothing is written anywhere. (When
        // the online write fails after it, a retry pushes the rows offline
        // again; identical rows never change a training set.)
        if (offline) {
          auto engine = deps.open_engine();
          if (!engine.ok()) return ErrorResponse(engine.status());
          StatusOr<size_t> appended = features::AppendPushedRows(**engine, **repo, *push, *frame,
                                                                 deps.pushed_root, deps.env);
          if (!appended.ok()) return ErrorResponse(appended.status());
        }
        for (const features::FeatureView& view : (*repo)->feature_views) {
          if (!online || view.source != *source || !view.online) continue;
          Status written = write_rows(**repo, view, *frame);
          if (!written.ok()) return ErrorResponse(written);
        }
        return Null();
      },
      write);

  auto materialize = [deps, access](HttpRequest& request, bool incremental) {
    Status allowed = RequireEditor(access, request);
    if (!allowed.ok()) return ErrorResponse(allowed);
    StatusOr<json::Document> doc = ParseBody(request);
    if (!doc.ok()) return ErrorResponse(doc.status());
    features::MaterializeRequest m{
        .incremental = incremental, .stats = deps.stats, .env = deps.env};
    StatusOr<std::vector<std::string>> views = StringList(*doc, "feature_views");
    if (!views.ok()) return ErrorResponse(views.status());
    m.views = std::move(*views);
    StatusOr<int64_t> end = RequiredTime(*doc, "end_ts");
    if (!end.ok()) return ErrorResponse(end.status());
    m.end_micros = *end;
    if (!incremental) {
      StatusOr<int64_t> start = RequiredTime(*doc, "start_ts");
      if (!start.ok()) return ErrorResponse(start.status());
      m.start_micros = *start;
    }
    auto repo = deps.serving->Definitions();
    if (!repo.ok()) return ErrorResponse(repo.status());
    std::string target = "feature_views ";
    if (m.views.empty()) target += "(all)";
    for (size_t i = 0; i < m.views.size(); ++i) target += (i > 0 ? "," : "") + m.views[i];
    Status audited = AuditWrite(deps.audit, request, target);
    if (!audited.ok()) return ErrorResponse(audited);
    auto engine = deps.open_engine();
    if (!engine.ok()) return ErrorResponse(engine.status());
    Status sources = features::RegisterSources(**engine, **repo, deps.pushed_root, deps.env);
    if (!sources.ok()) return ErrorResponse(sources);
    auto done = features::Materialize(**engine, **repo, *deps.registry, *deps.store, m);
    return done.ok() ? Null() : ErrorResponse(done.status());
  };
  // Cairn's own API: errors in its shape, not Feast's.
  const http::ErrorFormat* api_errors = &shared.errors();
  shared.Add(
      "GET", "/api/cairn/v1/features/stats",
      [deps, api_errors](HttpRequest& request) {
        std::string view;
        for (const auto& [key, value] : http::ParseQuery(request.query)) {
          if (key == "view") view = value;
        }
        auto repo = deps.serving->Definitions();
        if (!repo.ok()) return api_errors->FromStatus(repo.status());
        std::string body;
        if (!view.empty()) {
          StatusOr<features::ViewStats> stats = deps.stats->Load((*repo)->project, view);
          if (!stats.ok()) return api_errors->FromStatus(stats.status());
          body = features::ViewStatsToJson(*stats);
        } else {
          StatusOr<std::vector<features::ViewStats>> all = deps.stats->All((*repo)->project);
          if (!all.ok()) return api_errors->FromStatus(all.status());
          body = "{\"views\":[";
          for (size_t i = 0; i < all->size(); ++i) {
            body += (i > 0 ? "," : "") + features::ViewStatsToJson((*all)[i]);
          }
          body += "]}";
        }
        return HttpResponse::Json(200, std::move(body));
      },
      http::RouteOptions{.access = "any user (feature statistics)"});
  RegisterTrainingSetRoute(shared, deps);

  feast.Add(
      "POST", "/materialize",
      [materialize](HttpRequest& request) { return materialize(request, false); }, write);
  feast.Add(
      "POST", "/materialize-incremental",
      [materialize](HttpRequest& request) { return materialize(request, true); }, write);
}

}  // namespace cairn::feast
