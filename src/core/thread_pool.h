// ThreadPool: a fixed set of threads running posted tasks in FIFO order.
//
// Used where work may block (database commits, file IO) so that event-loop
// threads never do. Destruction runs every task already posted, then joins.
//
// Thread-safety: Post() may be called from any thread, including pool threads.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"

namespace cairn {

class ThreadPool {
 public:
  // Starts `threads` threads through `env`, named "<name>-<i>". Errors:
  // Unavailable when the system refuses one (the others are stopped).
  // REQUIRES: threads >= 1.
  static StatusOr<std::unique_ptr<ThreadPool>> Start(Env* env, int threads,
                                                     const std::string& name = "pool");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  ThreadPool() = default;
  void WorkerLoop();

  Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Thread>> threads_;
};

}  // namespace cairn
