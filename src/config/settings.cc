#include "config/settings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include "core/strings.h"

namespace cairn::config {

namespace {

using Value = std::variant<std::string, bool, int, uint16_t, uint64_t>;

template <typename Int>
bool ParseWhole(std::string_view text, Int* out) {
  text = Trim(text);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseSwitch(std::string_view text, bool* out) {
  std::string lower = AsciiLower(Trim(text));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
    *out = true;
    return true;
  }
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
    *out = false;
    return true;
  }
  return false;
}

// The value `text` gives `setting`. Errors: InvalidArgument, what it takes.
StatusOr<Value> Parse(const Setting& setting, std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("bad value for '" + setting.name + "': expected " + setting.Expected() +
                           ", got '" + std::string(text.substr(0, 200)) + "'");
  };
  return std::visit(
      [&](auto* target) -> StatusOr<Value> {
        using T = std::remove_pointer_t<decltype(target)>;
        T value{};
        if constexpr (std::is_same_v<T, std::string>) {
          value = std::string(text);
          if (!setting.choices.empty() && std::find(setting.choices.begin(), setting.choices.end(),
                                                    value) == setting.choices.end()) {
            return bad();
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!ParseSwitch(text, &value)) return bad();
        } else {
          if (!ParseWhole(text, &value)) return bad();
        }
        return Value(std::move(value));
      },
      setting.target);
}

void Store(const Setting& setting, Value value) {
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        *target = std::get<T>(std::move(value));
      },
      setting.target);
}

}  // namespace

std::string Setting::Flag() const {
  std::string flag = "--" + name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string Setting::EnvironmentVariable() const {
  std::string env = "CAIRN_" + name;
  for (char& c : env) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return env;
}

std::string Setting::Current() const {
  struct Show {
    std::string operator()(std::string* v) const { return *v; }
    std::string operator()(const bool* v) const { return *v ? "true" : "false"; }
    std::string operator()(const int* v) const { return std::to_string(*v); }
    std::string operator()(const uint16_t* v) const { return std::to_string(*v); }
    std::string operator()(const uint64_t* v) const { return std::to_string(*v); }
  };
  return std::visit(Show{}, target);
}

std::string Setting::Expected() const {
  struct Describe {
    const Setting& s;
    std::string operator()(std::string*) const {
      if (s.choices.empty()) return "a string";
      std::string out = "one of";
      for (const std::string& c : s.choices) out += " " + c;
      return out;
    }
    std::string operator()(bool*) const { return "true or false"; }
    std::string operator()(int*) const { return "a whole number"; }
    std::string operator()(uint16_t*) const { return "a whole number from 0 to 65535"; }
    std::string operator()(uint64_t*) const { return "a whole number from 0"; }
  };
  return std::visit(Describe{*this}, target);
}

void Settings::Add(std::string name, Setting::Target target, std::string help,
                   std::vector<std::string> choices) {
  settings_.push_back({std::move(name), target, std::move(help), std::move(choices)});
}

const Setting* Settings::Find(std::string_view name) const {
  for (const Setting& s : settings_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Status Settings::Assign(const Setting& setting, std::string_view text) {
  ASSIGN_OR_RETURN(Value value, Parse(setting, text));
  Store(setting, std::move(value));
  return Status::Ok();
}

Status Settings::LoadYaml(const std::string& path) const {
  std::vector<std::pair<const Setting*, Value>> parsed;
  // yaml-cpp reports errors by exception; they stop here.
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return Status::Ok();  // An empty file sets nothing.
    if (!root.IsMap()) {
      return InvalidArgument("Config file " + path + ": expected a mapping of settings at the top");
    }
    for (const auto& item : root) {
      std::string where = "Config file " + path + " line ";
      std::string key = item.first.as<std::string>();
      const Setting* setting = Find(key);
      if (setting == nullptr) {
        std::string known;
        for (const Setting& s : settings_) known += (known.empty() ? "" : ", ") + s.name;
        return InvalidArgument(where + std::to_string(item.first.Mark().line + 1) +
                               ": unknown key '" + key + "' (known: " + known + ")");
      }
      const YAML::Node& value = item.second;
      where += std::to_string(value.Mark().line + 1) + ": ";
      if (!value.IsScalar() && !value.IsNull()) {
        return InvalidArgument(where + "bad value for '" + key + "': expected " +
                               setting->Expected() + ", got a list or map");
      }
      StatusOr<Value> v = Parse(*setting, value.IsNull() ? "" : value.Scalar());
      if (!v.ok()) return InvalidArgument(where + v.status().message());
      parsed.emplace_back(setting, std::move(*v));
    }
  } catch (const YAML::BadFile&) {
    return InvalidArgument("Cannot read config file " + path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("Config file " + path + ": " + e.what());
  }
  for (auto& [setting, value] : parsed) Store(*setting, std::move(value));
  return Status::Ok();
}

}  // namespace cairn::config
