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

}  // namespace cairn::store
