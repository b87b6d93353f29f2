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

void MetadataStoreRegistry::Register(std::string scheme, MetadataStoreFactory factory) {
  factories_.emplace_back(std::move(scheme), std::move(factory));
}

StatusOr<std::unique_ptr<MetadataStore>> MetadataStoreRegistry::Open(const std::string& uri) const {
  size_t colon = uri.find(':');
  std::string scheme = colon == std::string::npos ? "" : uri.substr(0, colon);
  for (const auto& [name, factory] : factories_) {
    if (name == scheme) return factory(uri);
  }
  std::string known;
  for (const auto& [name, factory] : factories_) {
    if (!known.empty()) known += ", ";
    known += name + "://";
  }
  return InvalidArgument("Unsupported --store URI '" + uri + "': the scheme must be one of " +
                         known);
}

}  // namespace cairn::store
