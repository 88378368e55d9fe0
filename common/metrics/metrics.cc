#include "common/metrics/metrics.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace flightdeck::metrics {
namespace {

bool IsMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok || c > 0x7f) return false;
  }
  return true;
}

// Label names may not contain ':' and "__" prefixes are reserved for Prometheus itself.
bool IsLabelName(const std::string& name) {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (!ok || c > 0x7f) return false;
  }
  return true;
}

void ValidateNames(const std::string& name, const std::vector<std::string>& label_names,
                   bool histogram) {
  if (!IsMetricName(name)) {
    throw std::invalid_argument("metric name \"" + name +
                                "\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsLabelName(label)) {
      throw std::invalid_argument("metric " + name + ": label name \"" + label +
                                  "\" does not match [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    }
    if (histogram && label == "le") {
      throw std::invalid_argument("metric " + name + ": label \"le\" is reserved for buckets");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) !=
        label_names.begin() + i) {
      throw std::invalid_argument("metric " + name + ": label \"" + label + "\" appears twice");
    }
  }
}

// Integers print as integers (no exponent) and other values in the shortest form that parses
// back to the same double, spelled as the exposition format wants for the non-finite ones.
std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
  if (v == std::trunc(v) && std::fabs(v) < kExactIntegerLimit) {
    return std::to_string(static_cast<long long>(v));
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, result.ptr);
}

std::string EscapeHelp(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` plus an optional trailing le label; "" when there are no labels at all.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string* le = nullptr) {
  if (names.empty() && le == nullptr) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (le != nullptr) {
    if (!names.empty()) out += ",";
    out += "le=\"" + *le + "\"";
  }
  out += "}";
  return out;
}

std::vector<double> ValidatedBounds(std::vector<double> bounds) {
  // A trailing +Inf is implicit in the exposition; accept it when callers spell it out.
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || std::isinf(bounds[i])) {
      throw std::invalid_argument("histogram bucket bounds must be finite");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

}  // namespace

void Counter::Inc(double by) {
  // A counter that goes down breaks rate(): that is a bug in the caller, not a value to record.
  if (!(by >= 0)) throw std::invalid_argument("counter increment must be >= 0");
  std::lock_guard<std::mutex> lock(mu_);
  value_ += by;
}

double Counter::Value() const {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

void Gauge::Set(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  value_ = v;
}

void Gauge::Inc(double by) {
  std::lock_guard<std::mutex> lock(mu_);
  value_ += by;
}

void Gauge::Dec(double by) {
  std::lock_guard<std::mutex> lock(mu_);
  value_ -= by;
}

double Gauge::Value() const {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(ValidatedBounds(std::move(upper_bounds))), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  size_t index = bounds_.size();
  if (!std::isnan(v)) {
    index = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                bounds_.begin());
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[index];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot snapshot;
  snapshot.upper_bounds = bounds_;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot.cumulative_counts.reserve(counts_.size());
  unsigned long long running = 0;
  for (unsigned long long c : counts_) {
    running += c;
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {
  // An unlabelled metric exists from registration, so it is scraped as 0 before first use.
  if (label_names_.empty()) With({});
}

template <typename T>
T& Family<T>::With(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(label_values.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(label_values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(buckets_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(label_values, std::move(child));
  return ref;
}

template <typename T>
void Family<T>::Remove(const std::vector<std::string>& label_values) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) return;
  removed_.push_back(std::move(it->second));
  children_.erase(it);
}

template <typename T>
std::vector<std::pair<std::vector<std::string>, const T*>> Family<T>::Children() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::vector<std::string>, const T*>> out;
  out.reserve(children_.size());
  for (const auto& [labels, child] : children_) out.emplace_back(labels, child.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct Registry::Entry {
  enum class Type { kCounter, kGauge, kHistogram };
  Type type;
  std::unique_ptr<Family<Counter>> counter;
  std::unique_ptr<Family<Gauge>> gauge;
  std::unique_ptr<Family<Histogram>> histogram;

  const std::string& name() const {
    switch (type) {
      case Type::kCounter:
        return counter->name();
      case Type::kGauge:
        return gauge->name();
      case Type::kHistogram:
        break;
    }
    return histogram->name();
  }
  const std::vector<std::string>& label_names() const {
    switch (type) {
      case Type::kCounter:
        return counter->label_names();
      case Type::kGauge:
        return gauge->label_names();
      case Type::kHistogram:
        break;
    }
    return histogram->label_names();
  }

  // The already registered entry of that name, checked for compatibility; nullptr when new.
  // Caller holds the registry lock.
  static Entry* Existing(const std::vector<std::unique_ptr<Entry>>& entries,
                         const std::string& name, Type type,
                         const std::vector<std::string>& label_names) {
    for (const auto& entry : entries) {
      if (entry->name() != name) continue;
      if (entry->type != type) {
        throw std::logic_error("metric " + name + " is already registered with another type");
      }
      if (entry->label_names() != label_names) {
        throw std::logic_error("metric " + name + " is already registered with other labels");
      }
      return entry.get();
    }
    return nullptr;
  }

  void Expose(std::string& out) const;
};

void Registry::Entry::Expose(std::string& out) const {
  const char* type_name = type == Type::kCounter ? "counter"
                          : type == Type::kGauge ? "gauge"
                                                 : "histogram";
  const std::string& metric = name();
  const std::vector<std::string>& labels = label_names();
  const std::string help =
      type == Type::kCounter ? counter->help() : type == Type::kGauge ? gauge->help() : histogram->help();
  out += "# HELP " + metric + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + metric + " " + type_name + "\n";
  if (type == Type::kCounter) {
    for (const auto& [values, child] : counter->Children()) {
      out += metric + LabelSet(labels, values) + " " + FormatNumber(child->Value()) + "\n";
    }
    return;
  }
  if (type == Type::kGauge) {
    for (const auto& [values, child] : gauge->Children()) {
      out += metric + LabelSet(labels, values) + " " + FormatNumber(child->Value()) + "\n";
    }
    return;
  }
  for (const auto& [values, child] : histogram->Children()) {
    const Histogram::Snapshot snap = child->Snap();
    for (size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
      const std::string le =
          i < snap.upper_bounds.size() ? FormatNumber(snap.upper_bounds[i]) : "+Inf";
      out += metric + "_bucket" + LabelSet(labels, values, &le) + " " +
             std::to_string(snap.cumulative_counts[i]) + "\n";
    }
    out += metric + "_sum" + LabelSet(labels, values) + " " + FormatNumber(snap.sum) + "\n";
    out += metric + "_count" + LabelSet(labels, values) + " " + std::to_string(snap.count) + "\n";
  }
}

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  ValidateNames(name, label_names, false);
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Entry::Existing(entries_, name, Entry::Type::kCounter, label_names)) {
    return *e->counter;
  }
  auto entry = std::make_unique<Entry>();
  entry->type = Entry::Type::kCounter;
  entry->counter = std::make_unique<Family<Counter>>(name, help, std::move(label_names));
  entries_.push_back(std::move(entry));
  return *entries_.back()->counter;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  ValidateNames(name, label_names, false);
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Entry::Existing(entries_, name, Entry::Type::kGauge, label_names)) {
    return *e->gauge;
  }
  auto entry = std::make_unique<Entry>();
  entry->type = Entry::Type::kGauge;
  entry->gauge = std::make_unique<Family<Gauge>>(name, help, std::move(label_names));
  entries_.push_back(std::move(entry));
  return *entries_.back()->gauge;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> buckets) {
  ValidateNames(name, label_names, true);
  // Validated here too so that bad bounds fail at registration, not at the first With().
  buckets = ValidatedBounds(std::move(buckets));
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Entry::Existing(entries_, name, Entry::Type::kHistogram, label_names)) {
    return *e->histogram;
  }
  auto entry = std::make_unique<Entry>();
  entry->type = Entry::Type::kHistogram;
  entry->histogram =
      std::make_unique<Family<Histogram>>(name, help, std::move(label_names), std::move(buckets));
  entries_.push_back(std::move(entry));
  return *entries_.back()->histogram;
}

std::string Registry::Expose() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& entry : entries_) entry->Expose(out);
  return out;
}

HttpMetrics::HttpMetrics(Registry& registry)
    : requests(registry.AddCounter("flightdeck_http_requests_total",
                                   "HTTP requests handled, by route template, method and status.",
                                   {"route", "method", "code"})),
      durations(registry.AddHistogram("flightdeck_http_request_duration_seconds",
                                      "HTTP request handling time in seconds.",
                                      {"route", "method"})) {}

void HttpMetrics::Record(const std::string& route, const std::string& method, int status,
                         double seconds) {
  requests.With({route, method, std::to_string(status)}).Inc();
  durations.With({route, method}).Observe(seconds);
}

GrpcServerMetrics::GrpcServerMetrics(Registry& registry)
    : handled(registry.AddCounter("grpc_server_handled_total",
                                  "RPCs completed on the server, by service, method and code.",
                                  {"grpc_service", "grpc_method", "grpc_code"})),
      durations(registry.AddHistogram("grpc_server_handling_seconds",
                                      "RPC handling time on the server in seconds.",
                                      {"grpc_service", "grpc_method"})) {}

void GrpcServerMetrics::Record(const std::string& full_method, const std::string& code,
                               double seconds) {
  std::string_view path = full_method;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = path.find('/');
  std::string service = "unknown";
  std::string method(path);
  if (slash != std::string_view::npos) {
    service = std::string(path.substr(0, slash));
    method = std::string(path.substr(slash + 1));
  }
  handled.With({service, method, code}).Inc();
  durations.With({service, method}).Observe(seconds);
}

}  // namespace flightdeck::metrics
