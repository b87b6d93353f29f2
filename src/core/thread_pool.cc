#include "core/thread_pool.h"

#include <pthread.h>

#include "core/log.h"

namespace cairn {

ThreadPool::ThreadPool(int threads, const std::string& name) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
    std::string thread_name = (name + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), thread_name.c_str());
  }
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.Signal();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && tasks_.empty()) cv_.Wait();
      if (tasks_.empty()) return;  // stopping_ and drained.
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    // A task must not throw (handlers answer errors); one that does is
    // logged and the worker goes on, instead of the process ending.
    try {
      task();
    } catch (const std::exception& e) {
      LogError("a worker task threw", {{"error", e.what()}});
    } catch (...) {
      LogError("a worker task threw a non-std exception");
    }
  }
}

}  // namespace cairn
