#include "mlflow/request_args.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log.h"
#include "tracking/validation.h"

namespace cairn::mlflow {
namespace {

constexpr char kSeeDocs[] = " See the API docs for more information about request parameters.";

std::string TypeName(const json::Value& v) {
  if (v.IsString()) return "str";
  if (v.IsBool()) return "bool";
  if (v.IsInt64() || v.IsUint64()) return "int";
  if (v.IsNumber()) return "float";
  if (v.IsArray()) return "list";
  if (v.IsObject()) return "dict";
  return "NoneType";
}

// Python's repr of a float: the shortest digits that read back the same,
// in positional notation for exponents -4..15 and scientific otherwise
// (0.1, 100.0, 1e-05, 1.5e+16), as MLflow's messages print them.
std::string PythonFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buffer[64];
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), d, std::chars_format::scientific);
  std::string text(buffer, end);  // "-2.5e+00"
  std::string sign;
  if (text[0] == '-') {
    sign = "-";
    text.erase(0, 1);
  }
  size_t e = text.find('e');
  int exponent = std::stoi(text.substr(e + 1));
  std::string digits = text.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exponent < -4 || exponent >= 16) {
    std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") +
           (std::abs(exponent) < 10 ? "0" : "") + std::to_string(std::abs(exponent));
  }
  int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) return sign + "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  if (static_cast<size_t>(point) >= digits.size()) {
    return sign + digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
  }
  return sign + digits.substr(0, static_cast<size_t>(point)) + "." +
         digits.substr(static_cast<size_t>(point));
}

// Python's repr of a string: single quotes unless it holds one and no
// double quote.
void AppendPythonString(std::string_view s, std::string* out) {
  char quote =
      s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  out->push_back(quote);
  for (char c : s) {
    if (c == '\\' || c == quote) {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else {
      out->push_back(c);
    }
  }
  out->push_back(quote);
}

void AppendPythonRepr(const json::Value& v, std::string* out, int depth) {
  if (depth > 32) {  // as deep as a message needs; the rest is elided
    out->append("...");
  } else if (v.IsString()) {
    AppendPythonString({v.GetString(), v.GetStringLength()}, out);
  } else if (v.IsBool()) {
    out->append(v.GetBool() ? "True" : "False");
  } else if (v.IsInt64()) {
    out->append(std::to_string(v.GetInt64()));
  } else if (v.IsUint64()) {
    out->append(std::to_string(v.GetUint64()));
  } else if (v.IsNumber()) {
    out->append(PythonFloat(v.GetDouble()));
  } else if (v.IsArray()) {
    out->push_back('[');
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (i > 0) out->append(", ");
      AppendPythonRepr(v[i], out, depth + 1);
    }
    out->push_back(']');
  } else if (v.IsObject()) {
    out->push_back('{');
    bool first = true;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (!first) out->append(", ");
      first = false;
      AppendPythonString({it->name.GetString(), it->name.GetStringLength()}, out);
      out->append(": ");
      AppendPythonRepr(it->value, out, depth + 1);
    }
    out->push_back('}');
  } else {
    out->append("None");
  }
}

// MLflow 3's servers show an invalid value as json.dumps(value,
// sort_keys=True, separators=(",", ":")): keys sorted, ASCII only.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  auto escape = [out](uint32_t unit) {
    static constexpr char kHex[] = "0123456789abcdef";
    out->append("\\u");
    for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(unit >> shift) & 0xf]);
  };
  for (size_t i = 0; i < s.size();) {
    size_t ascii = i;
    while (ascii < s.size() && static_cast<unsigned char>(s[ascii]) < 0x80) ++ascii;
    AppendJsonEscaped(s.substr(i, ascii - i), out);
    i = ascii;
    if (i == s.size()) break;
    // UTF-8 (checked valid before decoding) to code points, as \uXXXX.
    auto c = static_cast<unsigned char>(s[i]);
    int length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    uint32_t point = c & (length == 4 ? 0x07 : length == 3 ? 0x0f : 0x1f);
    for (int k = 1; k < length && i + static_cast<size_t>(k) < s.size(); ++k) {
      point = (point << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    }
    if (point >= 0x10000) {
      point -= 0x10000;
      escape(0xd800 + (point >> 10));
      escape(0xdc00 + (point & 0x3ff));
    } else {
      escape(point);
    }
    i += static_cast<size_t>(length);
  }
  out->push_back('"');
}

void AppendSortedJson(const json::Value& v, std::string* out, int depth) {
  if (depth > 32) {
    out->append("...");
  } else if (v.IsString()) {
    AppendJsonString({v.GetString(), v.GetStringLength()}, out);
  } else if (v.IsBool()) {
    out->append(v.GetBool() ? "true" : "false");
  } else if (v.IsInt64()) {
    out->append(std::to_string(v.GetInt64()));
  } else if (v.IsUint64()) {
    out->append(std::to_string(v.GetUint64()));
  } else if (v.IsNumber()) {
    double d = v.GetDouble();
    out->append(std::isnan(d)   ? "NaN"
                : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                                : PythonFloat(d));
  } else if (v.IsArray()) {
    out->push_back('[');
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendSortedJson(v[i], out, depth + 1);
    }
    out->push_back(']');
  } else if (v.IsObject()) {
    std::vector<const json::Value::Member*> members;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) members.push_back(&*it);
    std::stable_sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
             std::string_view(b->name.GetString(), b->name.GetStringLength());
    });
    out->push_back('{');
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString({members[i]->name.GetString(), members[i]->name.GetStringLength()}, out);
      out->push_back(':');
      AppendSortedJson(members[i]->value, out, depth + 1);
    }
    out->push_back('}');
  } else {
    out->append("null");
  }
}

// A batch of thousands of items would make a message of megabytes.
void Cap(std::string* text) {
  constexpr size_t kMaxShown = 10000;
  if (text->size() > kMaxShown) {
    text->resize(kMaxShown);
    *text += "...";
  }
}

// Set by RequestArgs::FromRequest for the request being decoded on this
// thread: whether its client is MLflow 3's, whose server words messages
// differently from MLflow 2's.
thread_local bool t_mlflow3_client = false;

// The value as MLflow's messages show it: Python's str() of the decoded
// JSON (a string bare, containers in Python's notation).
std::string Render(const json::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  std::string out;
  AppendPythonRepr(v, &out, 0);
  Cap(&out);
  return out;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> ParseDouble(const std::string& s) {
  if (s == "NaN" || s == "nan") return std::nan("");
  if (s == "Infinity" || s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// "experiment_ids[0]" and "experiment_ids[]" name the field "experiment_ids".
std::string StripIndex(const std::string& key) {
  size_t bracket = key.find('[');
  return bracket == std::string::npos ? key : key.substr(0, bracket);
}

// True when every string and field name in `root` is UTF-8. The cheap pass
// run on every request (no paths built); iterative, as bodies may nest deeply.
bool AllUtf8(const json::Value& root) {
  std::vector<const json::Value*> pending = {&root};
  while (!pending.empty()) {
    const json::Value* value = pending.back();
    pending.pop_back();
    if (value->IsString()) {
      if (tracking::FindInvalidUtf8({value->GetString(), value->GetStringLength()})) return false;
    } else if (value->IsArray()) {
      for (const json::Value& item : value->GetArray()) pending.push_back(&item);
    } else if (value->IsObject()) {
      for (auto it = value->MemberBegin(); it != value->MemberEnd(); ++it) {
        if (tracking::FindInvalidUtf8({it->name.GetString(), it->name.GetStringLength()})) {
          return false;
        }
        pending.push_back(&it->value);
      }
    }
  }
  return true;
}

// True when every string parsed from `text` is UTF-8 for certain: no byte
// above 0x7f, and no \u escape (RapidJSON writes a lone low surrogate
// escape, \udc00, as the invalid bytes ED B0 80). One OR over the bytes,
// which the compiler vectorizes, and one search: a 150 kB log-batch body
// costs microseconds, where walking its parsed strings cost 5% of
// log-batch's throughput.
bool PlainAscii(std::string_view text) {
  unsigned char seen = 0;
  for (unsigned char c : text) seen |= c;
  return seen < 0x80 && text.find("\\u") == std::string_view::npos;
}

// Refuses text that is not UTF-8 anywhere in the arguments, naming the
// field. Stored as is, it would be echoed into responses that are then not
// valid JSON for any client.
Status CheckUtf8(const json::Value& root) {
  if (AllUtf8(root)) return Status::Ok();
  std::vector<std::pair<const json::Value*, std::string>> pending;
  pending.emplace_back(&root, "");
  while (!pending.empty()) {
    auto [value, path] = std::move(pending.back());
    pending.pop_back();
    if (value->IsString()) {
      if (auto bad = tracking::FindInvalidUtf8({value->GetString(), value->GetStringLength()})) {
        return InvalidArgument("Invalid value for parameter '" + path +
                               "' supplied: it is not valid UTF-8 (bad byte at offset " +
                               std::to_string(*bad) + "). Send text encoded as UTF-8." + kSeeDocs);
      }
    } else if (value->IsArray()) {
      for (rapidjson::SizeType i = 0; i < value->Size(); ++i) {
        pending.emplace_back(&(*value)[i], path + "[" + std::to_string(i) + "]");
      }
    } else if (value->IsObject()) {
      for (auto it = value->MemberBegin(); it != value->MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (tracking::FindInvalidUtf8(key)) {
          return InvalidArgument("Invalid field name" +
                                 (path.empty() ? std::string() : " in '" + path + "'") +
                                 ": it is not valid UTF-8. Send text encoded as UTF-8." + kSeeDocs);
        }
        pending.emplace_back(&it->value,
                             path.empty() ? std::string(key) : path + "." + std::string(key));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status MissingParameter(const std::string& name) {
  return InvalidArgument("Missing value for required parameter '" + name + "'." + kSeeDocs);
}

Status InvalidParameter(const std::string& name, const json::Value& value) {
  std::string hint = "Hint: Value was of type '" + TypeName(value) + "'.";
  if (t_mlflow3_client) {  // MLflow 3's invalid_value(): JSON, then ":  Hint"
    std::string shown;
    AppendSortedJson(value, &shown, 0);
    Cap(&shown);
    return InvalidArgument("Invalid value " + shown + " for parameter '" + name +
                           "' supplied:  " + hint + kSeeDocs);
  }
  return InvalidArgument("Invalid value " + Render(value) + " for parameter '" + name +
                         "' supplied. " + hint + kSeeDocs);
}

bool IsMlflow3Client(std::string_view user_agent) {
  // mlflow-python-client/3.6.0 (and later majors).
  constexpr std::string_view kClient = "mlflow-python-client/";
  size_t at = user_agent.find(kClient);
  if (at == std::string_view::npos) return false;
  std::string_view version = user_agent.substr(at + kClient.size());
  size_t dot = version.find('.');
  int major = 0;
  for (char c : version.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    major = major * 10 + (c - '0');
    if (major > 1000) return false;
  }
  return major >= 3;
}

StatusOr<RequestArgs> RequestArgs::FromRequest(const http::HttpRequest& request) {
  // Values taken from the path (a logged model's id, a tag key, an artifact
  // path) reach the store and responses as well.
  for (const auto& [name, value] : request.path_params) {
    if (tracking::FindInvalidUtf8(value)) {
      return InvalidArgument(
          "Invalid value for path parameter '" + std::string(name == "*" ? "path" : name) +
          "' supplied: it is not valid UTF-8. Send text encoded as UTF-8." + kSeeDocs);
    }
  }
  t_mlflow3_client = IsMlflow3Client(request.Header("user-agent"));
  RequestArgs args;
  args.doc_ = std::make_unique<json::Document>();
  json::Document& doc = *args.doc_;
  if (request.method == "GET") {
    doc.SetObject();
    auto& alloc = doc.GetAllocator();
    for (auto& [raw_key, value] : http::ParseQuery(request.query)) {
      std::string key = StripIndex(raw_key);
      json::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), alloc);
      auto it = doc.FindMember(key.c_str());
      if (it == doc.MemberEnd()) {
        doc.AddMember(json::Value(key.c_str(), alloc), v, alloc);
      } else {
        // A repeated key becomes a list.
        if (!it->value.IsArray()) {
          json::Value list(rapidjson::kArrayType);
          list.PushBack(it->value, alloc);
          it->value = std::move(list);
        }
        it->value.PushBack(v, alloc);
      }
    }
    RETURN_IF_ERROR(CheckUtf8(doc));
    return args;
  }
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    doc.SetObject();
    return args;
  }
  RETURN_IF_ERROR(json::Parse(request.body, &doc));
  if (doc.IsString()) {
    // Older clients post their JSON double-encoded as a string.
    std::string inner(doc.GetString(), doc.GetStringLength());
    RETURN_IF_ERROR(json::Parse(inner, &doc));
  }
  if (!doc.IsObject()) {
    return InvalidArgument("Malformed request body: expected a JSON object, got " + TypeName(doc) +
                           ".");
  }
  if (!PlainAscii(request.body)) RETURN_IF_ERROR(CheckUtf8(doc));
  return args;
}

const json::Value* RequestArgs::Get(const char* name) const {
  auto it = doc_->FindMember(name);
  if (it == doc_->MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

bool RequestArgs::Has(const char* name) const { return Get(name) != nullptr; }

StatusOr<std::string> RequestArgs::AsString(const json::Value& v, const std::string& path) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  // GET query values arrive as strings; JSON numbers for string fields are a type error.
  return InvalidParameter(path, v);
}

StatusOr<int64_t> RequestArgs::AsInt(const json::Value& v, const std::string& path) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsDouble()) {
    double d = v.GetDouble();
    if (std::floor(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  if (v.IsString()) {
    if (auto parsed = ParseInt(std::string(v.GetString(), v.GetStringLength()))) return *parsed;
  }
  return InvalidParameter(path, v);
}

StatusOr<double> RequestArgs::AsDouble(const json::Value& v, const std::string& path) {
  if (v.IsNumber()) return v.GetDouble();
  if (v.IsString()) {
    if (auto parsed = ParseDouble(std::string(v.GetString(), v.GetStringLength()))) return *parsed;
  }
  return InvalidParameter(path, v);
}

StatusOr<std::string> RequestArgs::RequiredString(const char* name) const {
  const json::Value* v = Get(name);
  if (v == nullptr) return MissingParameter(name);
  ASSIGN_OR_RETURN(std::string s, AsString(*v, name));
  if (s.empty()) return MissingParameter(name);
  return s;
}

StatusOr<std::optional<std::string>> RequestArgs::OptionalString(const char* name) const {
  const json::Value* v = Get(name);
  if (v == nullptr) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string s, AsString(*v, name));
  return std::optional<std::string>(std::move(s));
}

StatusOr<std::string> RequestArgs::StringOr(const char* name, std::string fallback) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, OptionalString(name));
  return s ? std::move(*s) : std::move(fallback);
}

StatusOr<std::optional<int64_t>> RequestArgs::OptionalInt(const char* name) const {
  const json::Value* v = Get(name);
  if (v == nullptr) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(int64_t i, AsInt(*v, name));
  return std::optional<int64_t>(i);
}

StatusOr<int64_t> RequestArgs::RequiredInt(const char* name) const {
  ASSIGN_OR_RETURN(std::optional<int64_t> v, OptionalInt(name));
  if (!v) return MissingParameter(name);
  return *v;
}

StatusOr<std::optional<double>> RequestArgs::OptionalDouble(const char* name) const {
  const json::Value* v = Get(name);
  if (v == nullptr) return std::optional<double>();
  ASSIGN_OR_RETURN(double d, AsDouble(*v, name));
  return std::optional<double>(d);
}

StatusOr<double> RequestArgs::RequiredDouble(const char* name) const {
  ASSIGN_OR_RETURN(std::optional<double> v, OptionalDouble(name));
  if (!v) return MissingParameter(name);
  return *v;
}

StatusOr<std::vector<std::string>> RequestArgs::StringList(const char* name) const {
  std::vector<std::string> out;
  const json::Value* v = Get(name);
  if (v == nullptr) return out;
  if (!v->IsArray()) {
    // A single GET value for a repeated field.
    ASSIGN_OR_RETURN(std::string s, AsString(*v, name));
    out.push_back(std::move(s));
    return out;
  }
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    const json::Value& item = (*v)[i];
    if (item.IsInt64()) {
      out.push_back(std::to_string(item.GetInt64()));  // experiment_ids sent as numbers.
      continue;
    }
    ASSIGN_OR_RETURN(std::string s, AsString(item, std::string(name)));
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::string> RunIdArg(const RequestArgs& args) {
  ASSIGN_OR_RETURN(std::optional<std::string> id, args.OptionalString("run_id"));
  if (id && !id->empty()) return *id;
  ASSIGN_OR_RETURN(std::optional<std::string> uuid, args.OptionalString("run_uuid"));
  if (uuid && !uuid->empty()) return *uuid;
  return MissingParameter("run_id");
}

StatusOr<std::vector<tracking::KeyValue>> KeyValueList(const json::Value* list,
                                                       const std::string& field,
                                                       bool value_required) {
  std::vector<tracking::KeyValue> out;
  if (list == nullptr) return out;
  if (!list->IsArray()) return InvalidParameter(field, *list);
  out.reserve(list->Size());
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& item = (*list)[i];
    std::string path = field + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return InvalidParameter(path, item);
    auto key = item.FindMember("key");
    if (key == item.MemberEnd() || key->value.IsNull()) return MissingParameter(path + ".key");
    tracking::KeyValue kv;
    ASSIGN_OR_RETURN(kv.key, RequestArgs::AsString(key->value, path + ".key"));
    auto value = item.FindMember("value");
    if (value == item.MemberEnd() || value->value.IsNull()) {
      if (value_required) return MissingParameter(path + ".value");
    } else {
      ASSIGN_OR_RETURN(kv.value, RequestArgs::AsString(value->value, path + ".value"));
    }
    out.push_back(std::move(kv));
  }
  return out;
}

StatusOr<std::vector<tracking::RunModelLink>> RunModelLinks(const json::Value* list,
                                                            const std::string& field,
                                                            bool required) {
  std::vector<tracking::RunModelLink> out;
  if (list == nullptr || list->IsNull()) {
    if (required) return MissingParameter(field);
    return out;
  }
  if (!list->IsArray()) return InvalidParameter(field, *list);
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& item = (*list)[i];
    std::string path = field + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return InvalidParameter(path, item);
    auto id = item.FindMember("model_id");
    if (id == item.MemberEnd() || id->value.IsNull()) return MissingParameter(path + ".model_id");
    tracking::RunModelLink link;
    ASSIGN_OR_RETURN(link.model_id, RequestArgs::AsString(id->value, path + ".model_id"));
    if (link.model_id.empty()) return MissingParameter(path + ".model_id");
    auto step = item.FindMember("step");
    if (step != item.MemberEnd() && !step->value.IsNull()) {
      ASSIGN_OR_RETURN(link.step, RequestArgs::AsInt(step->value, path + ".step"));
    }
    out.push_back(std::move(link));
  }
  return out;
}

}  // namespace cairn::mlflow
