#include "enrichment/online_feature_source.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace cairn::enrichment {

using serving::DataType;
using serving::Tensor;

namespace {

// A number as an entity value: whole numbers as integers, since JSON
// (MLflow's dataframe forms, numbers in v2 FP64) loses the distinction and
// integer join keys must match exactly; request fields take either.
features::EntityValue FromDouble(double d) {
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) {
    return static_cast<int64_t>(d);
  }
  return d;
}

// One request input as entity values, one per row.
StatusOr<std::vector<features::EntityValue>> EntityValues(const Tensor& t) {
  const bool one_per_row = t.shape.size() == 1 || (t.shape.size() == 2 && t.shape[1] == 1);
  if (!one_per_row) {
    std::string shape;
    for (int64_t d : t.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    return InvalidArgument("input '" + t.name +
                           "': entity keys and request fields take one value per row, shape [N] "
                           "or [N, 1]; got [" +
                           shape + "]");
  }
  RETURN_IF_ERROR(serving::CheckShape(t, "input"));
  std::vector<features::EntityValue> values;
  const size_t n = t.Size();
  values.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    switch (t.datatype) {
      case DataType::kBytes:
        values.emplace_back(t.bytes[i]);
        break;
      case DataType::kBool:
        values.emplace_back(t.data[i] != 0);
        break;
      case DataType::kFp16:
      case DataType::kFp32:
        values.push_back(FromDouble(static_cast<double>(t.FloatAt(i))));
        break;
      case DataType::kFp64: {
        double d;
        std::memcpy(&d, t.data.data() + i * 8, 8);
        values.push_back(FromDouble(d));
        break;
      }
      case DataType::kUint64: {
        uint64_t u;
        std::memcpy(&u, t.data.data() + i * 8, 8);
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return InvalidArgument("input '" + t.name + "': " + std::to_string(u) +
                                 " is beyond the join keys' 64-bit integers");
        }
        values.emplace_back(static_cast<int64_t>(u));
        break;
      }
      case DataType::kInt64: {
        int64_t v;
        std::memcpy(&v, t.data.data() + i * 8, 8);
        values.emplace_back(v);
        break;
      }
      default:  // the narrower integers are exact as floats
        values.emplace_back(static_cast<int64_t>(t.FloatAt(i)));
        break;
    }
  }
  return values;
}

// "driver_id=1001, bonus=0.5": the row's request values, for errors.
std::string RowText(const features::OnlineRequest& request, size_t row) {
  std::string out;
  for (const auto& [name, values] : request.entities) {
    if (row >= values.size()) continue;
    out += (out.empty() ? "" : ", ") + name + "=";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out += v;
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "true" : "false";
          } else {
            out += std::to_string(v);
          }
        },
        values[row]);
  }
  return out;
}

}  // namespace

StatusOr<std::vector<Tensor>> ModelColumns(const serving::FeatureEnrichment& spec,
                                           const std::vector<std::string>& columns,
                                           const features::OnlineRequest& request,
                                           const features::OnlineResponse& response) {
  const size_t rows = request.entities.empty() ? 0 : request.entities.front().second.size();
  // Features come after the request's own columns.
  std::unordered_map<std::string_view, const features::OnlineColumn*> feature_columns;
  for (size_t c = request.entities.size(); c < response.columns.size(); ++c) {
    feature_columns.emplace(response.columns[c].name, &response.columns[c]);
  }
  std::vector<Tensor> out;
  out.reserve(columns.size());
  for (const std::string& name : columns) {
    std::vector<double> values(rows);
    if (auto it = feature_columns.find(name); it != feature_columns.end()) {
      const features::OnlineColumn& column = *it->second;
      for (size_t r = 0; r < rows; ++r) {
        const features::FeatureValue& v = column.values[r];
        if (column.statuses[r] == features::FeatureStatus::kPresent &&
            !std::holds_alternative<std::monostate>(v)) {
          if (const int64_t* i = std::get_if<int64_t>(&v)) {
            values[r] = static_cast<double>(*i);
          } else if (const double* d = std::get_if<double>(&v)) {
            values[r] = *d;
          } else {
            return InvalidArgument("feature '" + name + "' of service '" + spec.service +
                                   "' is a string; the model takes numbers");
          }
          continue;
        }
        if (spec.fail_on_missing) {
          return InvalidArgument(
              "feature '" + name + "' of service '" + spec.service + "' has no value (" +
              std::string(features::FeatureStatusName(column.statuses[r])) + ") for " +
              RowText(request, r) +
              "; the deployment's features.missing is \"fail\" (\"default\" serves it with "
              "features.defaults, or NaN)");
        }
        auto fallback = spec.defaults.find(name);
        values[r] = fallback != spec.defaults.end() ? fallback->second
                                                    : std::numeric_limits<double>::quiet_NaN();
      }
    } else {
      const std::vector<features::EntityValue>* given = nullptr;
      for (const auto& [field, field_values] : request.entities) {
        if (field == name) given = &field_values;
      }
      if (given == nullptr) {
        return InvalidArgument(
            "the model's input '" + name + "' is neither a feature of service '" + spec.service +
            "' nor an input of the request (send it as an input named '" + name + "')");
      }
      for (size_t r = 0; r < rows; ++r) {
        const features::EntityValue& v = (*given)[r];
        if (const int64_t* i = std::get_if<int64_t>(&v)) {
          values[r] = static_cast<double>(*i);
        } else if (const double* d = std::get_if<double>(&v)) {
          values[r] = *d;
        } else if (const bool* b = std::get_if<bool>(&v)) {
          values[r] = *b ? 1 : 0;
        } else {
          return InvalidArgument("input '" + name + "' is a string; the model takes numbers");
        }
      }
    }
    Tensor t;
    t.name = name;
    t.datatype = DataType::kFp64;
    t.shape = {static_cast<int64_t>(rows)};
    t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
    out.push_back(std::move(t));
  }
  return out;
}

Status OnlineFeatureSource::CheckService(const std::string& service) {
  ASSIGN_OR_RETURN(std::shared_ptr<const features::FeatureRepo> repo, online_->Definitions());
  if (repo->FindFeatureService(service) == nullptr) {
    std::string names;
    for (const features::FeatureService& s : repo->feature_services)
      names += (names.empty() ? "" : ", ") + s.name;
    return NotFound("no feature service named '" + service + "' in project '" + repo->project +
                    "'" + (names.empty() ? std::string(" (it has none)") : "; it has " + names));
  }
  return Status::Ok();
}

void OnlineFeatureSource::Enrich(const serving::FeatureEnrichment& spec,
                                 const std::vector<std::string>& columns,
                                 std::vector<Tensor> inputs, EnrichDone done) {
  if (inputs.empty()) {
    return done(InvalidArgument("no inputs: send the entity keys of feature service '" +
                                spec.service + "', one tensor per join key"));
  }
  auto request = std::make_shared<features::OnlineRequest>();
  request->service = spec.service;
  for (const Tensor& t : inputs) {
    StatusOr<std::vector<features::EntityValue>> values = EntityValues(t);
    if (!values.ok()) return done(values.status());
    request->entities.emplace_back(t.name, std::move(*values));
  }
  std::shared_ptr<const features::OnlineRequest> shared = request;
  online_->GetOnlineFeaturesAsync(shared, [&spec, &columns, shared, done = std::move(done)](
                                              StatusOr<features::OnlineResponse> response) {
    if (!response.ok()) return done(response.status());
    done(ModelColumns(spec, columns, *shared, *response));
  });
}

}  // namespace cairn::enrichment
