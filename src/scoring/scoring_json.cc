#include "scoring/scoring_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "core/json.h"

namespace cairn::scoring {

using serving::DataType;
using serving::Tensor;

namespace {

constexpr char kFormats[] = "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";
constexpr char kProtocolChange[] =
    "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are "
    "seeing this "
    "error, you are likely using an outdated scoring request format. To resolve the error, either "
    "update your "
    "request format or adjust your MLflow Model's requirements file to specify an older version of "
    "MLflow (for "
    "example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). If you are making a "
    "request using "
    "the MLflow client (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a "
    "version >= 2.0 in "
    "order to use the new request format. For more information about the updated MLflow Model "
    "scoring protocol "
    "in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

std::string RequiredFormat() {
  return std::string("The input must be a JSON dictionary with exactly one of the input fields ") +
         kFormats;
}

// Values of one named column as they arrive; typed when the column is done.
struct Column {
  std::string name;
  std::vector<const json::Value*> values;
};

void AppendDouble(std::string* data, double v) {
  char bytes[8];
  std::memcpy(bytes, &v, 8);
  data->append(bytes, 8);
}

// One column tensor: numbers (and nulls) as FP64, all-bool as BOOL, strings (and nulls) as BYTES.
StatusOr<Tensor> ColumnTensor(const Column& column) {
  Tensor t;
  t.name = column.name;
  t.shape = {static_cast<int64_t>(column.values.size())};
  bool any_string = false, any_number = false, any_bool = false, any_other = false;
  for (const json::Value* v : column.values) {
    if (v == nullptr || v->IsNull()) continue;
    any_string |= v->IsString();
    any_number |= v->IsNumber();
    any_bool |= v->IsBool();
    any_other |= v->IsArray() || v->IsObject();
  }
  if (any_other) {
    return InvalidArgument("Incompatible input types for column " + column.name +
                           ". Nested lists and objects are not column values.");
  }
  if (any_string && (any_number || any_bool)) {
    return InvalidArgument("Incompatible input types for column " + column.name +
                           ". Can not safely convert object to float64.");
  }
  if (any_string) {
    t.datatype = DataType::kBytes;
    for (const json::Value* v : column.values) {
      t.bytes.emplace_back(
          v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : "");
    }
    return t;
  }
  if (any_bool && !any_number) {
    t.datatype = DataType::kBool;
    for (const json::Value* v : column.values)
      t.data.push_back(v != nullptr && v->IsBool() && v->GetBool() ? 1 : 0);
    return t;
  }
  t.datatype = DataType::kFp64;
  for (const json::Value* v : column.values) {
    double d = std::numeric_limits<double>::quiet_NaN();
    if (v != nullptr && v->IsNumber()) d = v->GetDouble();
    if (v != nullptr && v->IsBool()) d = v->GetBool() ? 1 : 0;
    AppendDouble(&t.data, d);
  }
  return t;
}

StatusOr<std::vector<Tensor>> ColumnsToTensors(std::vector<Column>& columns) {
  std::vector<Tensor> out;
  for (const Column& c : columns) {
    ASSIGN_OR_RETURN(Tensor t, ColumnTensor(c));
    out.push_back(std::move(t));
  }
  return out;
}

// Rows of objects ({"a": 1, "b": 2}), as dataframe_records and records-style
// instances: columns in first-seen order, missing cells null.
StatusOr<std::vector<Tensor>> FromRecords(const json::Value& records, const char* field) {
  std::vector<Column> columns;
  std::map<std::string, size_t, std::less<>> index;
  size_t row = 0;
  for (const json::Value& record : records.GetArray()) {
    if (!record.IsObject()) {
      return InvalidArgument(std::string("Invalid input. ") + field +
                             " must be a list of objects (records)");
    }
    for (const auto& member : record.GetObject()) {
      std::string_view name(member.name.GetString(), member.name.GetStringLength());
      auto it = index.find(name);
      if (it == index.end()) {
        it = index.emplace(std::string(name), columns.size()).first;
        columns.push_back({std::string(name), std::vector<const json::Value*>(row, nullptr)});
      }
      columns[it->second].values.push_back(&member.value);
    }
    ++row;
    for (Column& c : columns) c.values.resize(row, nullptr);
  }
  return ColumnsToTensors(columns);
}

// Rows of lists ([[1, 2], [3, 4]]) without names: one [N, F] FP64 tensor.
StatusOr<std::vector<Tensor>> FromRows(const json::Value& rows, const char* field) {
  Tensor t;
  t.name = "input";
  t.datatype = DataType::kFp64;
  size_t width = 0;
  for (rapidjson::SizeType r = 0; r < rows.Size(); ++r) {
    const json::Value& row = rows[r];
    if (!row.IsArray())
      return InvalidArgument(std::string("Invalid input. ") + field + " rows must be lists");
    if (r == 0) width = row.Size();
    if (row.Size() != width) {
      return InvalidArgument(std::string("Invalid input. ") + field + " row " + std::to_string(r) +
                             " has " + std::to_string(row.Size()) + " values, the first row " +
                             std::to_string(width));
    }
    for (const json::Value& v : row.GetArray()) {
      if (!v.IsNumber() && !v.IsNull() && !v.IsBool()) {
        return InvalidArgument(std::string("Invalid input. ") + field +
                               " rows without column names must hold numbers");
      }
      AppendDouble(&t.data, v.IsNumber() ? v.GetDouble()
                            : v.IsBool() ? (v.GetBool() ? 1.0 : 0.0)
                                         : std::numeric_limits<double>::quiet_NaN());
    }
  }
  t.shape = {static_cast<int64_t>(rows.Size()), static_cast<int64_t>(width)};
  return std::vector<Tensor>{std::move(t)};
}

StatusOr<std::vector<Tensor>> FromSplit(const json::Value& split) {
  if (!split.IsObject() || !split.HasMember("data") || !split["data"].IsArray()) {
    return InvalidArgument(
        "Invalid input. dataframe_split must be an object with 'columns' and 'data'");
  }
  const json::Value& data = split["data"];
  if (!split.HasMember("columns")) return FromRows(data, "dataframe_split");
  const json::Value& names = split["columns"];
  if (!names.IsArray())
    return InvalidArgument("Invalid input. dataframe_split.columns must be a list of names");
  std::vector<Column> columns;
  for (const json::Value& n : names.GetArray()) {
    if (n.IsString()) {
      columns.push_back({std::string(n.GetString(), n.GetStringLength()), {}});
    } else if (n.IsInt64()) {
      columns.push_back({std::to_string(n.GetInt64()), {}});
    } else {
      return InvalidArgument("Invalid input. dataframe_split.columns must be a list of names");
    }
  }
  for (rapidjson::SizeType r = 0; r < data.Size(); ++r) {
    const json::Value& row = data[r];
    if (!row.IsArray() || row.Size() != columns.size()) {
      return InvalidArgument("Invalid input. dataframe_split.data row " + std::to_string(r) +
                             " must hold " + std::to_string(columns.size()) +
                             " values, one per column");
    }
    for (rapidjson::SizeType c = 0; c < row.Size(); ++c) columns[c].values.push_back(&row[c]);
  }
  return ColumnsToTensors(columns);
}

// instances / inputs: TF serving's forms: a list of rows (lists or records)
// or a dict of columns.
StatusOr<std::vector<Tensor>> FromTfServing(const json::Value& value, const char* field) {
  if (value.IsObject()) {
    std::vector<Column> columns;
    for (const auto& member : value.GetObject()) {
      Column c{std::string(member.name.GetString(), member.name.GetStringLength()), {}};
      if (member.value.IsArray()) {
        for (const json::Value& v : member.value.GetArray()) c.values.push_back(&v);
      } else {
        c.values.push_back(&member.value);
      }
      columns.push_back(std::move(c));
    }
    size_t n = columns.empty() ? 0 : columns[0].values.size();
    for (const Column& c : columns) {
      if (c.values.size() != n) {
        return InvalidArgument(std::string("Invalid input. ") + field + ": column '" + c.name +
                               "' has " + std::to_string(c.values.size()) + " values, the others " +
                               std::to_string(n));
      }
    }
    return ColumnsToTensors(columns);
  }
  if (!value.IsArray())
    return InvalidArgument(std::string("Invalid input. ") + field + " must be a list or a dict");
  if (value.Empty()) return std::vector<Tensor>{};
  if (value[0].IsObject()) return FromRecords(value, field);
  return FromRows(value, field);
}

}  // namespace

StatusOr<ScoringRequest> ParseScoringJson(std::string_view body) {
  json::Document doc;
  if (Status parsed = json::Parse(body, &doc); !parsed.ok()) {
    return InvalidArgument(
        "Invalid input. Ensure that input is a valid JSON formatted string. Error: '" +
        parsed.message() + "'");
  }
  if (doc.IsArray())
    return InvalidArgument(RequiredFormat() + ". Received a list. " + kProtocolChange);
  if (!doc.IsObject())
    return InvalidArgument(RequiredFormat() + ". Received unexpected input type.");
  std::vector<std::string> keys;
  const json::Value* format = nullptr;
  std::string format_name;
  int formats = 0;
  for (const auto& member : doc.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    if (key == "dataframe_split" || key == "dataframe_records" || key == "instances" ||
        key == "inputs") {
      ++formats;
      format = &member.value;
      format_name = key;
    }
    keys.push_back(std::move(key));
  }
  if (formats != 1) {
    std::string listed = "[";
    for (size_t i = 0; i < keys.size(); ++i) listed += (i ? ", '" : "'") + keys[i] + "'";
    listed += "]";
    return InvalidArgument(RequiredFormat() + ". Received dictionary with input fields: " + listed +
                           ". " + kProtocolChange);
  }
  ScoringRequest request;
  if (auto params = doc.FindMember("params");
      params != doc.MemberEnd() && !params->value.IsNull()) {
    if (!params->value.IsObject())
      return InvalidArgument("Invalid input. params must be a dictionary");
    json::Buffer buffer;
    json::Writer writer(buffer);
    params->value.Accept(writer);
    request.params_json.assign(buffer.GetString(), buffer.GetSize());
  }
  StatusOr<std::vector<Tensor>> inputs = InvalidArgument("unreachable");
  if (format_name == "dataframe_split") {
    inputs = FromSplit(*format);
  } else if (format_name == "dataframe_records") {
    if (!format->IsArray())
      return InvalidArgument("Invalid input. dataframe_records must be a list of records");
    inputs = FromRecords(*format, "dataframe_records");
  } else {
    inputs = FromTfServing(*format, format_name.c_str());
  }
  if (!inputs.ok()) return inputs.status();
  request.inputs = std::move(*inputs);
  return request;
}

StatusOr<ScoringRequest> ParseScoringCsv(std::string_view body) {
  // A header line, then rows; quoted fields as pandas writes them ("a,b" and "" inside quotes).
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, field_started = false;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  for (size_t i = 0; i <= body.size(); ++i) {
    const bool at_end = i == body.size();
    const char c = at_end ? '\n' : body[i];
    if (quoted) {
      if (at_end)
        return InvalidArgument("Failed to parse input as a Pandas DataFrame: an unclosed quote");
      if (c == '"' && i + 1 < body.size() && body[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      if (!field.empty() || field_started || !fields.empty()) {
        end_field();
        lines.push_back(std::move(fields));
        fields.clear();
      }
    } else {
      field += c;
      field_started = true;
    }
  }
  if (lines.empty())
    return InvalidArgument("Failed to parse input as a Pandas DataFrame: no header row");
  const std::vector<std::string>& header = lines[0];
  std::vector<Tensor> columns(header.size());
  std::vector<bool> numeric(header.size(), true);
  for (size_t r = 1; r < lines.size(); ++r) {
    if (lines[r].size() != header.size()) {
      return InvalidArgument("Failed to parse input as a Pandas DataFrame: row " +
                             std::to_string(r) + " has " + std::to_string(lines[r].size()) +
                             " fields, the header " + std::to_string(header.size()));
    }
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string& s = lines[r][c];
      double d;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (!s.empty() && (ec != std::errc() || p != s.data() + s.size())) numeric[c] = false;
    }
  }
  for (size_t c = 0; c < header.size(); ++c) {
    Tensor& t = columns[c];
    t.name = header[c];
    t.shape = {static_cast<int64_t>(lines.size() - 1)};
    t.datatype = numeric[c] ? DataType::kFp64 : DataType::kBytes;
    for (size_t r = 1; r < lines.size(); ++r) {
      const std::string& s = lines[r][c];
      if (!numeric[c]) {
        t.bytes.push_back(s);
        continue;
      }
      double d = std::numeric_limits<double>::quiet_NaN();
      if (!s.empty()) std::from_chars(s.data(), s.data() + s.size(), d);
      AppendDouble(&t.data, d);
    }
  }
  ScoringRequest request;
  request.inputs = std::move(columns);
  return request;
}

namespace {
void AppendValue(std::string& out, const Tensor& t, size_t i) {
  if (t.datatype == DataType::kBytes) {
    json::AppendString(out, t.bytes[i]);
    return;
  }
  const float f = t.FloatAt(i);
  if (t.datatype == DataType::kFp64) {
    double d;
    std::memcpy(&d, t.data.data() + i * 8, 8);
    if (std::isfinite(d)) {
      char buf[32];
      out.append(buf, std::to_chars(buf, buf + sizeof(buf), d).ptr);
    } else {
      out += std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    }
    return;
  }
  if (!std::isfinite(f)) {
    out += std::isnan(f) ? "NaN" : (f > 0 ? "Infinity" : "-Infinity");
    return;
  }
  // float32 predictions as numpy's tolist() gives them to json: the double
  // nearest the float, in its shortest form (0.4824922978878021, not 0.4824923).
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof(buf), static_cast<double>(f)).ptr);
}

void AppendTensor(std::string& out, const Tensor& t) {
  const size_t n = t.Size();
  if (t.shape.size() <= 1) {
    out += '[';
    for (size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      AppendValue(out, t, i);
    }
    out += ']';
    return;
  }
  const auto rows = static_cast<size_t>(t.shape[0]);
  const size_t width = rows == 0 ? 0 : n / rows;
  out += '[';
  for (size_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    out += '[';
    for (size_t c = 0; c < width; ++c) {
      if (c) out += ',';
      AppendValue(out, t, r * width + c);
    }
    out += ']';
  }
  out += ']';
}
}  // namespace

std::string WritePredictions(const std::vector<Tensor>& outputs) {
  std::string out = "{\"predictions\":";
  if (outputs.size() == 1) {
    AppendTensor(out, outputs[0]);
  } else {
    out += '{';
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (i) out += ',';
      json::AppendString(out, outputs[i].name);
      out += ':';
      AppendTensor(out, outputs[i]);
    }
    out += '}';
  }
  out += '}';
  return out;
}

}  // namespace cairn::scoring
