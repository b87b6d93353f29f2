#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <variant>

namespace cairn::metrics {

void Gauge::Add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double current = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> DefaultLatencyBounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

using Series =
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>;

struct Registry::Family {
  std::string name;
  std::string help;
  const char* type;
  std::vector<std::pair<Labels, Series>> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family* Registry::GetFamily(const std::string& name, const std::string& help,
                                      const char* type) {
  for (auto& family : families_) {
    if (family->name == name) return family.get();
  }
  auto family = std::make_unique<Family>();
  family->name = name;
  family->help = help;
  family->type = type;
  families_.push_back(std::move(family));
  return families_.back().get();
}

namespace {
template <typename T>
T* FindOrAdd(std::vector<std::pair<Labels, Series>>& series, const Labels& labels,
             const std::function<std::unique_ptr<T>()>& make) {
  for (auto& [l, s] : series) {
    if (l == labels) return std::get<std::unique_ptr<T>>(s).get();
  }
  auto created = make();
  T* raw = created.get();
  series.emplace_back(labels, std::move(created));
  return raw;
}

void AppendEscapedLabelValue(const std::string& v, std::string* out) {
  for (char c : v) {
    if (c == '\\')
      out->append("\\\\");
    else if (c == '"')
      out->append("\\\"");
    else if (c == '\n')
      out->append("\\n");
    else
      out->push_back(c);
  }
}

void AppendLabels(const Labels& labels, const char* extra_key, const std::string& extra_value,
                  std::string* out) {
  if (labels.empty() && extra_key == nullptr) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(k);
    out->append("=\"");
    AppendEscapedLabelValue(v, out);
    out->push_back('"');
  }
  if (extra_key != nullptr) {
    if (!first) out->push_back(',');
    out->append(extra_key);
    out->append("=\"");
    out->append(extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}
}  // namespace

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  MutexLock lock(&mu_);
  Family* family = GetFamily(name, help, "counter");
  return FindOrAdd<Counter>(family->series, labels, [] { return std::make_unique<Counter>(); });
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  MutexLock lock(&mu_);
  Family* family = GetFamily(name, help, "gauge");
  return FindOrAdd<Gauge>(family->series, labels, [] { return std::make_unique<Gauge>(); });
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels, const std::vector<double>& bounds) {
  MutexLock lock(&mu_);
  Family* family = GetFamily(name, help, "histogram");
  return FindOrAdd<Histogram>(family->series, labels,
                              [&] { return std::make_unique<Histogram>(bounds); });
}

void Registry::AddCollector(std::function<void()> collect) {
  MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::RenderPrometheus() const {
  std::vector<std::function<void()>> collectors;
  {
    MutexLock lock(&mu_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect();  // outside the lock: they call Get*()
  std::string out;
  MutexLock lock(&mu_);
  for (const auto& family : families_) {
    out += "# HELP " + family->name + " ";
    for (char c : family->help) {  // The format escapes only '\\' and newlines here.
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out.push_back(c);
    }
    out += "\n";
    out += "# TYPE " + family->name + " " + family->type + "\n";
    for (const auto& [labels, series] : family->series) {
      if (const auto* c = std::get_if<std::unique_ptr<Counter>>(&series)) {
        out += family->name;
        AppendLabels(labels, nullptr, "", &out);
        out += " " + std::to_string((*c)->value()) + "\n";
      } else if (const auto* g = std::get_if<std::unique_ptr<Gauge>>(&series)) {
        out += family->name;
        AppendLabels(labels, nullptr, "", &out);
        out += " " + FormatNumber((*g)->value()) + "\n";
      } else if (const auto* h = std::get_if<std::unique_ptr<Histogram>>(&series)) {
        const Histogram& hist = **h;
        std::vector<uint64_t> counts = hist.BucketCounts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          out += family->name + "_bucket";
          AppendLabels(labels, "le",
                       i < hist.bounds().size() ? FormatNumber(hist.bounds()[i]) : "+Inf", &out);
          out += " " + std::to_string(cumulative) + "\n";
        }
        out += family->name + "_sum";
        AppendLabels(labels, nullptr, "", &out);
        out += " " + FormatNumber(hist.sum()) + "\n";
        out += family->name + "_count";
        AppendLabels(labels, nullptr, "", &out);
        out += " " + std::to_string(cumulative) + "\n";
      }
    }
  }
  return out;
}

}  // namespace cairn::metrics
