#include "cli/settings_flags.h"

#include <string>
#include <variant>

namespace cairn::cli {

void AddSettingFlags(CLI::App* command, const config::Settings& settings) {
  for (const config::Setting& setting : settings.all()) {
    std::string help = setting.help;
    if (setting.IsSwitch()) {
      // A switch is a bare flag; its variable takes true/false (or 1/0).
      command->add_flag(setting.Flag(), *std::get<bool*>(setting.target), help)
          ->envname(setting.EnvironmentVariable());
      continue;
    }
    command
        ->add_option_function<std::string>(
            setting.Flag(),
            [&setting](const std::string& text) {
              Status assigned = config::Settings::Assign(setting, text);
              if (!assigned.ok()) {
                throw CLI::ValidationError(
                    setting.Flag() + " (or " + setting.EnvironmentVariable() + ")",
                    assigned.message());
              }
            },
            help)
        ->envname(setting.EnvironmentVariable())
        ->default_str(setting.Current())
        ->type_name(setting.choices.empty() ? "" : "{" + [&] {
          std::string joined;
          for (const std::string& c : setting.choices) joined += (joined.empty() ? "" : ",") + c;
          return joined;
        }() + "}");
  }
}

}  // namespace cairn::cli
