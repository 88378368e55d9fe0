#include "services/health/probe/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace flightdeck::health::internal {
namespace {

constexpr uint32_t kMaxEventsPerWait = 256;

}  // namespace

EventLoop::EventLoop() : events_(kMaxEventsPerWait) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    int err = errno;
    close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // no handler: RunOnce reads this as the wake-up eventfd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

EventLoop::~EventLoop() {
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::Post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(task));
  }
  // One wake-up per batch: the loop drains everything posted when it wakes.
  if (was_empty) {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;
  }
}

bool EventLoop::Watch(int fd, uint32_t events, FdHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) return true;
  // A descriptor closed and reopened under the same number left epoll on its own.
  if (errno == ENOENT) return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  return false;
}

void EventLoop::Unwatch(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

EventLoop::TimerId EventLoop::AddTimer(SteadyTime when, std::function<void()> fire) {
  TimerId id = next_timer_++;
  timers_.emplace(id, std::move(fire));
  timer_heap_.emplace(when, id);
  return id;
}

void EventLoop::CancelTimer(TimerId id) { timers_.erase(id); }

void EventLoop::DeleteLater(std::unique_ptr<FdHandler> handler) {
  graveyard_.push_back(std::move(handler));
}

void EventLoop::RunDueTimers() {
  SteadyTime now = std::chrono::steady_clock::now();
  while (!timer_heap_.empty() && timer_heap_.top().first <= now) {
    TimerId id = timer_heap_.top().second;
    timer_heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    std::function<void()> fire = std::move(it->second);
    timers_.erase(it);
    fire();
  }
  // Cancelled entries at the top would otherwise make the next wait too short.
  while (!timer_heap_.empty() && timers_.count(timer_heap_.top().second) == 0) timer_heap_.pop();
}

void EventLoop::RunPosted() {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    running_.swap(posted_);
  }
  for (auto& task : running_) task();
  running_.clear();
}

void EventLoop::RunOnce(std::chrono::milliseconds max_wait) {
  long long wait_ms = max_wait.count();
  if (!timer_heap_.empty()) {
    auto until = timer_heap_.top().first - std::chrono::steady_clock::now();
    // Rounded up: waking a little late beats spinning on a sub-millisecond remainder.
    long long ms = (std::chrono::duration_cast<std::chrono::microseconds>(until).count() + 999) /
                   1000;
    if (ms < 0) ms = 0;
    if (ms < wait_ms) wait_ms = ms;
  }
  int n = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()),
                     static_cast<int>(wait_ms));
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<FdHandler*>(events_[i].data.ptr);
    if (handler == nullptr) {
      uint64_t count;
      ssize_t r = read(wake_fd_, &count, sizeof count);
      (void)r;
      continue;
    }
    handler->OnFdEvent(events_[i].events);
  }
  RunDueTimers();
  RunPosted();
  graveyard_.clear();
}

}  // namespace flightdeck::health::internal
