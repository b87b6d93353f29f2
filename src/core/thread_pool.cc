#include "core/thread_pool.h"

#include "core/log.h"

namespace cairn {

StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Start(Env* env, int threads,
                                                        const std::string& name) {
  std::unique_ptr<ThreadPool> pool(new ThreadPool());
  pool->threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    ThreadPool* self = pool.get();
    // On failure `pool` is destroyed on return, which stops the ones started.
    ASSIGN_OR_RETURN(
        std::unique_ptr<Thread> thread,
        env->StartThread(name + "-" + std::to_string(i), [self] { self->WorkerLoop(); }));
    pool->threads_.push_back(std::move(thread));
  }
  return pool;
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : threads_) t->Join();
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
