#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flightdeck::metrics {

// A monotonically increasing value. Thread-safe.
class Counter {
 public:
  void Inc(double by = 1.0);  // by < 0 (or NaN) throws std::invalid_argument
  double Value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Gauge {
 public:
  void Set(double v);
  void Inc(double by = 1.0);
  void Dec(double by = 1.0);
  double Value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Histogram {
 public:
  // Bounds are finite and strictly increasing (a trailing +Inf is dropped as implicit);
  // otherwise std::invalid_argument. A value equal to a bound counts in that bound's bucket.
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<unsigned long long> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    unsigned long long count = 0;
  };
  Snapshot Snap() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<unsigned long long> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  unsigned long long count_ = 0;
};

// A metric name with its label names; With() returns the child for one set of label values.
// References returned by With() stay valid for the registry's lifetime.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {});
  T& With(const std::vector<std::string>& label_values);
  // Stops exposing the child for these label values (a gauge of a thing that no longer exists,
  // such as a deleted backup target). The child itself is kept until the registry goes, so a
  // reference from With() or a scrape in progress never dangles; a later With() of the same
  // values starts a new child. Meant for label sets that go away rarely.
  void Remove(const std::vector<std::string>& label_values);
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Children in label order, for exposition.
  std::vector<std::pair<std::vector<std::string>, const T*>> Children() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
  std::vector<std::unique_ptr<T>> removed_;
};

std::vector<double> DefaultLatencyBuckets();  // seconds: 0.0005 .. 10

// Owns every metric of a process. Adding a name twice returns the first family (same type) or
// throws std::logic_error (different type or labels). Passed to whatever records metrics.
class Registry {
 public:
  Registry();
  ~Registry();
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names = {},
                                  std::vector<double> buckets = DefaultLatencyBuckets());
  // Prometheus text exposition format 0.0.4 (valid for `promtool check metrics`).
  std::string Expose() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Standard RED metrics, shared by the HTTP and gRPC layers so their names never drift.
struct HttpMetrics {
  explicit HttpMetrics(Registry& registry);
  void Record(const std::string& route, const std::string& method, int status, double seconds);
  Family<Counter>& requests;     // flightdeck_http_requests_total{route,method,code}
  Family<Histogram>& durations;  // flightdeck_http_request_duration_seconds{route,method}
};

struct GrpcServerMetrics {
  explicit GrpcServerMetrics(Registry& registry);
  // full_method is "/flightdeck.v1.ReleaseService/GetRelease"; code is the gRPC code name.
  void Record(const std::string& full_method, const std::string& code, double seconds);
  Family<Counter>& handled;      // grpc_server_handled_total{grpc_service,grpc_method,grpc_code}
  Family<Histogram>& durations;  // grpc_server_handling_seconds{grpc_service,grpc_method}
};

}  // namespace flightdeck::metrics
