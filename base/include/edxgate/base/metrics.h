// A small Prometheus metrics registry: counters, gauges and histograms with
// labels, rendered in the text exposition format (version 0.0.4).
//
// Families are registered once (before threads start, or under the registry's
// lock); the returned references stay valid for the registry's lifetime.
// Updating a series is thread-safe. Label values are escaped on output.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edxgate/base/mutex.h"

namespace edxgate {

using Labels = std::vector<std::string>;  // values, in the family's label order

// A family of one number per label set: what a counter and a gauge share
// (they differ only in how the number may change, and in their TYPE line).
class ScalarMetric {
 public:
  double value(const Labels& labels) const;

 protected:
  ScalarMetric(std::string name, std::string help, std::vector<std::string> label_names, const char* type)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), type_(type) {}
  void add_to(const Labels& labels, double by);
  void assign(const Labels& labels, double v);

 private:
  friend class MetricsRegistry;
  void render(std::string& out) const;
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const char* const type_;  // "counter" or "gauge"
  mutable Mutex mu_;
  std::map<Labels, double> series_ GUARDED_BY(mu_);
};

class Counter : public ScalarMetric {
 public:
  void inc(const Labels& labels, double by = 1) { add_to(labels, by); }

 private:
  friend class MetricsRegistry;
  Counter(std::string name, std::string help, std::vector<std::string> label_names)
      : ScalarMetric(std::move(name), std::move(help), std::move(label_names), "counter") {}
};

class Gauge : public ScalarMetric {
 public:
  void set(const Labels& labels, double v) { assign(labels, v); }
  void add(const Labels& labels, double by) { add_to(labels, by); }

 private:
  friend class MetricsRegistry;
  Gauge(std::string name, std::string help, std::vector<std::string> label_names)
      : ScalarMetric(std::move(name), std::move(help), std::move(label_names), "gauge") {}
};

class Histogram {
 public:
  void observe(const Labels& labels, double v);
  uint64_t count(const Labels& labels) const;

 private:
  friend class MetricsRegistry;
  struct Series {
    std::vector<uint64_t> buckets;  // per upper bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Histogram(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  void render(std::string& out) const;
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable Mutex mu_;
  std::map<Labels, Series> series_ GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                       std::vector<double> bounds);
  // The whole registry in Prometheus text format.
  std::string render() const;

  // Latency buckets in seconds, 1 ms .. 60 s.
  static std::vector<double> latency_buckets();

 private:
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Counter>> counters_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Gauge>> gauges_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Histogram>> histograms_ GUARDED_BY(mu_);
  std::vector<std::pair<int, size_t>> order_ GUARDED_BY(mu_);  // (kind, index) in registration order
};

}  // namespace edxgate
