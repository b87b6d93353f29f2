// Settings: every setting of a command declared once, with its name, type,
// default (the value already in its target), help and allowed values. The
// flag parser, the environment, the YAML config file and --help all read
// the same declarations, so a new setting is one Add() in the component
// that owns it.
//
// Names: a setting `max_body_bytes` is the YAML key `max_body_bytes`, the
// flag `--max-body-bytes` and the environment variable
// `CAIRN_MAX_BODY_BYTES`. Precedence, lowest first: the default, the file,
// the environment, the flag.
//
// Thread-safety: start-up only, one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace cairn::config {

struct Setting {
  // Where the value lives; the value there before parsing is the default.
  using Target = std::variant<std::string*, bool*, int*, uint16_t*, uint64_t*>;

  std::string name;  // snake_case, unique.
  Target target;
  std::string help;
  std::vector<std::string> choices;  // Allowed values (strings only); empty: any.

  std::string Flag() const;                 // "--max-body-bytes"
  std::string EnvironmentVariable() const;  // "CAIRN_MAX_BODY_BYTES"
  // What the setting takes, for errors: "a whole number from 0 to 65535".
  std::string Expected() const;
  bool IsSwitch() const { return std::holds_alternative<bool*>(target); }
  // The value in the target, as text (for --help's defaults).
  std::string Current() const;
};

class Settings {
 public:
  // REQUIRES: no setting of that name yet; the target outlives this object.
  void Add(std::string name, Setting::Target target, std::string help,
           std::vector<std::string> choices = {});

  const std::vector<Setting>& all() const { return settings_; }
  // Null when no setting has that name.
  const Setting* Find(std::string_view name) const;

  // Sets `setting` from text (a flag's or variable's value, a YAML scalar).
  // Errors: InvalidArgument saying what the setting takes and what it got.
  static Status Assign(const Setting& setting, std::string_view text);

  // Overlays the settings a YAML file names (`name: value`, a mapping at
  // the top). Errors: InvalidArgument naming the file, the line and the key
  // (an unknown key lists the known ones); nothing is changed by a file
  // that fails.
  Status LoadYaml(const std::string& path) const;

 private:
  std::vector<Setting> settings_;
};

}  // namespace cairn::config
