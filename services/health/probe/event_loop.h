#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

// The probe engine's one event loop: epoll for sockets, a timer heap for deadlines, and a task
// queue that other threads post to (woken through an eventfd). Everything but Post() runs on
// the loop's own thread.
namespace flightdeck::health::internal {

using SteadyTime = std::chrono::steady_clock::time_point;

class FdHandler {
 public:
  virtual ~FdHandler() = default;
  virtual void OnFdEvent(uint32_t events) = 0;
};

class EventLoop {
 public:
  EventLoop();  // throws std::system_error when epoll or eventfd cannot be created
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Any thread.
  void Post(std::function<void()> task);

  // Registers or re-arms `fd` (level-triggered). False when epoll refuses the descriptor.
  bool Watch(int fd, uint32_t events, FdHandler* handler);
  void Unwatch(int fd);

  using TimerId = uint64_t;
  TimerId AddTimer(SteadyTime when, std::function<void()> fire);
  void CancelTimer(TimerId id);

  // Handlers whose events may still sit in the current epoll batch are freed after it.
  void DeleteLater(std::unique_ptr<FdHandler> handler);

  // Waits for sockets, posted tasks or the earliest timer (at most `max_wait`), then runs
  // what is ready.
  void RunOnce(std::chrono::milliseconds max_wait);
  // Runs the posted tasks now (used when stopping).
  void RunPosted();

 private:
  void RunDueTimers();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> running_;

  using TimerEntry = std::pair<SteadyTime, TimerId>;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_ = 1;

  std::vector<std::unique_ptr<FdHandler>> graveyard_;
  std::vector<epoll_event> events_;
};

}  // namespace flightdeck::health::internal
