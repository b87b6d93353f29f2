#include "store/metadata_store.h"

namespace cairn::store {

namespace {
const std::string& EmptyString() {
  static const std::string empty;
  return empty;
}
}  // namespace

int64_t SqlRows::Int(size_t row, size_t col) const {
  const SqlValue& v = at(row, col);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtoll(s->c_str(), nullptr, 10);
  return 0;
}

double SqlRows::Double(size_t row, size_t col) const {
  const SqlValue& v = at(row, col);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

const std::string& SqlRows::Text(size_t row, size_t col) const {
  const SqlValue& v = at(row, col);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return EmptyString();
}

namespace {

std::string RenderDdl(std::string sql, bool postgres) {
  auto replace = [&sql](const std::string& from, const std::string& to) {
    for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos)) {
      sql.replace(pos, from.size(), to);
      pos += to.size();
    }
  };
  replace("{AUTO_PK}", postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY");
  replace("{CLUSTERED}", postgres ? "" : " WITHOUT ROWID");
  for (size_t pos = sql.find("{SQLITE_ONLY:"); pos != std::string::npos;
       pos = sql.find("{SQLITE_ONLY:", pos)) {
    size_t end = sql.find('}', pos);
    std::string body = sql.substr(pos + 13, end - pos - 13);
    sql.replace(pos, end + 1 - pos, postgres ? "" : body);
  }
  return sql;
}

}  // namespace

Migration DdlMigration(int version, std::string name, std::string_view ddl_template) {
  std::string ddl(ddl_template);
  return {version, std::move(name), RenderDdl(ddl, false), RenderDdl(ddl, true)};
}

StatusOr<Durability> TakeDurability(std::string* uri) {
  size_t query = uri->find('?');
  if (query == std::string::npos) return Durability::kFull;
  std::string kept;
  std::string value;
  bool found = false;
  size_t start = query + 1;
  while (start <= uri->size()) {
    size_t end = uri->find('&', start);
    if (end == std::string::npos) end = uri->size();
    std::string_view param(uri->data() + start, end - start);
    if (param.rfind("durability=", 0) == 0) {
      value = std::string(param.substr(11));
      found = true;
    } else if (!param.empty()) {
      kept += (kept.empty() ? "" : "&") + std::string(param);
    }
    start = end + 1;
  }
  *uri = uri->substr(0, query) + (kept.empty() ? "" : "?" + kept);
  if (!found || value == "full") return Durability::kFull;
  if (value == "process") return Durability::kProcess;
  return InvalidArgument("Unknown durability '" + value +
                         "' in the store URI: use durability=full (every commit fsynced, the "
                         "default) or durability=process (survives a crash of Cairn, not of "
                         "the machine)");
}

}  // namespace cairn::store
