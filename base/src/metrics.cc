// Prometheus text exposition for metrics.h.
#include "edxgate/base/metrics.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace edxgate {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  // Both formats fit in 64 bytes (|v| < 1e15, or 9 significant digits), so the
  // output is never truncated and the count snprintf returns is not needed.
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    (void)std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    (void)std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string label_text(const std::vector<std::string>& names, const Labels& values, const std::string& extra_name = "",
                       const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + escape_label(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void check_arity(const std::vector<std::string>& names, const Labels& values) {
  if (names.size() != values.size()) throw std::logic_error("metric label count mismatch");
}

}  // namespace

void ScalarMetric::add_to(const Labels& labels, double by) {
  check_arity(label_names_, labels);
  MutexLock lock(mu_);
  series_[labels] += by;
}

void ScalarMetric::assign(const Labels& labels, double v) {
  check_arity(label_names_, labels);
  MutexLock lock(mu_);
  series_[labels] = v;
}

double ScalarMetric::value(const Labels& labels) const {
  MutexLock lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second;
}

void ScalarMetric::render(std::string& out) const {
  header(out, name_, help_, type_);
  MutexLock lock(mu_);
  for (const auto& [l, v] : series_) out += name_ + label_text(label_names_, l) + " " + number(v) + "\n";
}

void Histogram::observe(const Labels& labels, double v) {
  check_arity(label_names_, labels);
  MutexLock lock(mu_);
  auto& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
  ++s.count;
  s.sum += v;
}

uint64_t Histogram::count(const Labels& labels) const {
  MutexLock lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

void Histogram::render(std::string& out) const {
  header(out, name_, help_, "histogram");
  MutexLock lock(mu_);
  for (const auto& [l, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      out += name_ + "_bucket" + label_text(label_names_, l, "le", number(bounds_[i])) + " " +
             std::to_string(cumulative) + "\n";
    }
    out += name_ + "_bucket" + label_text(label_names_, l, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
    out += name_ + "_sum" + label_text(label_names_, l) + " " + number(s.sum) + "\n";
    out += name_ + "_count" + label_text(label_names_, l) + " " + std::to_string(s.count) + "\n";
  }
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  MutexLock lock(mu_);
  counters_.push_back(std::unique_ptr<Counter>(new Counter(name, help, std::move(labels))));
  order_.emplace_back(0, counters_.size() - 1);
  return *counters_.back();
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  MutexLock lock(mu_);
  gauges_.push_back(std::unique_ptr<Gauge>(new Gauge(name, help, std::move(labels))));
  order_.emplace_back(1, gauges_.size() - 1);
  return *gauges_.back();
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                      std::vector<double> bounds) {
  MutexLock lock(mu_);
  histograms_.push_back(std::unique_ptr<Histogram>(new Histogram(name, help, std::move(labels), std::move(bounds))));
  order_.emplace_back(2, histograms_.size() - 1);
  return *histograms_.back();
}

std::string MetricsRegistry::render() const {
  MutexLock lock(mu_);
  std::string out;
  for (auto [kind, i] : order_) {
    if (kind == 0)
      counters_[i]->render(out);
    else if (kind == 1)
      gauges_[i]->render(out);
    else
      histograms_[i]->render(out);
  }
  return out;
}

std::vector<double> MetricsRegistry::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace edxgate
