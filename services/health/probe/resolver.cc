#include "services/health/probe/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

namespace flightdeck::health::internal {
namespace {

constexpr auto kCacheTtl = std::chrono::seconds(30);
constexpr size_t kMaxCacheEntries = 4096;

bool ParseNumeric(const std::string& host, Address* out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out->length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out->length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

std::vector<Address> WithPort(std::vector<Address> addresses, int port) {
  for (auto& a : addresses) {
    if (a.storage.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(static_cast<uint16_t>(port));
    } else {
      reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(static_cast<uint16_t>(port));
    }
  }
  return addresses;
}

}  // namespace

bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return false;
    }
    *host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = address.substr(0, colon);
  }
  std::string digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *port = std::stoi(digits);
  return *port > 0 && *port <= 65535;
}

Resolver::Resolver(EventLoop& loop, const net::EgressPolicy* egress)
    : loop_(loop), egress_(egress), thread_([this] { Run(); }) {}

std::string Resolver::Refusal(const std::vector<Address>& addresses, int port) const {
  if (egress_ == nullptr) return "";
  for (const Address& a : addresses) {
    auto ip = net::FromSockaddr(reinterpret_cast<const sockaddr*>(&a.storage));
    if (!ip) return "egress policy refuses an address that is not IPv4 or IPv6";
    if (auto refusal = egress_->Refusal(*ip, port)) return *refusal;
  }
  return "";
}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Resolver::Resolve(const std::string& host, int port, Done done) {
  Address numeric;
  if (ParseNumeric(host, &numeric)) {
    if (std::string refusal = Refusal({numeric}, port); !refusal.empty()) {
      done({}, refusal);
      return;
    }
    done(WithPort({numeric}, port), "");
    return;
  }
  std::vector<Address> cached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(host);
    if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now()) {
      cached = it->second.addresses;
    } else {
      queue_.push_back(Request{host, port, std::move(done)});
    }
  }
  if (!cached.empty()) {
    if (std::string refusal = Refusal(cached, port); !refusal.empty()) {
      done({}, host + ": " + refusal);
      return;
    }
    done(WithPort(std::move(cached), port), "");
  } else {
    cv_.notify_one();
  }
}

void Resolver::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Request request = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* result = nullptr;
    int rc = getaddrinfo(request.host.c_str(), nullptr, &hints, &result);
    std::vector<Address> addresses;
    std::string error;
    if (rc != 0) {
      error = "cannot resolve host: " + std::string(gai_strerror(rc));
    } else {
      for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
        Address a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        addresses.push_back(a);
      }
      freeaddrinfo(result);
      if (addresses.empty()) error = "cannot resolve host: no address";
    }

    lock.lock();
    if (error.empty()) {
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
      cache_[request.host] = CacheEntry{addresses, std::chrono::steady_clock::now() + kCacheTtl};
    }
    lock.unlock();
    if (error.empty()) {
      if (std::string refusal = Refusal(addresses, request.port); !refusal.empty()) {
        error = request.host + ": " + refusal;
        addresses.clear();
      }
    }
    loop_.Post([done = std::move(request.done), addresses = WithPort(addresses, request.port),
                error] { done(addresses, error); });
    lock.lock();
  }
}

}  // namespace flightdeck::health::internal
