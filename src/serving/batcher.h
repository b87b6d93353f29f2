// Dynamic batching for one served model: requests that wait for the model
// are joined along their first dimension (rows) into one call, and the
// answers are split back per request, so each request gets exactly what it
// would have got alone (BatchingPolicy in deployment_spec.h says when a
// batch closes).
//
// Requests join a batch only when their inputs agree in everything but the
// row count (names, datatypes, the other dimensions); others wait for the
// next batch. A batch the model refuses, or whose outputs do not split by
// rows, is run again request by request, so one bad request fails alone.
//
// Who runs a batch: with no queue delay and a model that computes in place
// (the native engines), the thread that submits to an idle batcher runs it
// at once, and keeps running what queued meanwhile (no thread hand-off, so
// an idle server answers as fast as without batching); otherwise batches run
// on the scheduler's threads when they fill or their delay ends.
//
// Thread-safety: Submit may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/thread_pool.h"
#include "serving/deployment_spec.h"
#include "serving/served_model.h"

namespace cairn::serving {

// Runs batches off the request path: a timer for queue delays and a pool of
// threads. Shared by every batcher of a server.
class BatchScheduler {
 public:
  // Errors: Unavailable when the system refuses a thread.
  static StatusOr<std::unique_ptr<BatchScheduler>> Start(Env* env, int threads);
  // Runs every task already scheduled (timers fire at once), then joins.
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Runs `task` on a pool thread, soon.
  void Post(std::function<void()> task);
  // Runs `task` on a pool thread at Env::MonotonicNanos() `when_nanos`.
  void At(int64_t when_nanos, std::function<void()> task);
  // Being destroyed: timers fire early, so what waits on them runs now.
  bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }

 private:
  explicit BatchScheduler(Env* env) : env_(env) {}
  void TimerLoop();

  struct Timer {
    int64_t when;
    uint64_t order;
    std::function<void()> task;
    bool operator>(const Timer& other) const {
      return when != other.when ? when > other.when : order > other.order;
    }
  };
  Env* env_;
  Mutex mu_;
  CondVar cv_{&mu_};
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_ GUARDED_BY(mu_);
  uint64_t next_order_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<bool> stopping_flag_{false};
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Thread> timer_thread_;
};

// What one request's batch was.
struct BatchFacts {
  int64_t queue_nanos = 0;    // from Submit to the model call
  int64_t compute_nanos = 0;  // the model call
  int64_t batch_rows = 0;     // rows in the call that answered this request
  bool first = false;         // the first request of its call (count each call once)
};

// Answers one request: its inputs (handed back for logging), its outputs or
// why not, and how it was batched. Called exactly once, on whichever thread
// ran the batch (possibly inside Submit).
using BatchDone = std::function<void(
    std::vector<Tensor> inputs, StatusOr<std::vector<Tensor>> outputs, const BatchFacts& facts)>;

// Rows a request carries: the first dimension every input shares; -1 when
// the inputs share none (such a request runs alone).
int64_t RowsOf(const std::vector<Tensor>& inputs);

// The bytes of a request's elements. A joined call copies every request's
// inputs into one, so requests join only while the call stays within
// kMaxBatchBytes: a few large requests under max_batch_rows must not make
// one huge copy. A request alone runs whatever its size.
int64_t BytesOf(const std::vector<Tensor>& inputs);
inline constexpr int64_t kMaxBatchBytes = int64_t{64} << 20;

class Batcher : public std::enable_shared_from_this<Batcher> {
 public:
  // `run_inline`: the model computes in place (microseconds, no IO), so a
  // submitting thread may run it. `concurrency`: batches run at once.
  // REQUIRES: scheduler outlives every batch (Deployments owns both).
  Batcher(const BatchingPolicy& policy, std::shared_ptr<const ServedModel> model,
          BatchScheduler* scheduler, Env* env, bool run_inline, int concurrency = 1);
  ~Batcher();

  // Queues `inputs` for the model; `done` gets the answer. Unavailable
  // (503) when the queue is full or the request waited past the timeout.
  void Submit(std::vector<Tensor> inputs, BatchDone done);

  const BatchingPolicy& policy() const { return policy_; }
  const ServedModel* model() const { return model_.get(); }
  // Requests waiting now.
  int64_t queued() const;

 private:
  struct Item {
    std::vector<Tensor> inputs;
    int64_t rows = 1;   // -1: runs alone
    int64_t bytes = 0;  // the inputs' element bytes, for kMaxBatchBytes
    int64_t enqueued = 0;
    BatchDone done;
  };

  // Runs batches while there is one to run. REQUIRES: a running_ slot taken.
  void RunLoop();
  void OnTimer();
  // Whether the queue's oldest request should go now (full, or waited its
  // delay) at `now`.
  bool DueLocked(int64_t now) const REQUIRES(mu_);
  // Takes the next batch from the queue (compatible with the oldest
  // request, up to max_batch_rows), and the requests whose time ran out.
  void TakeLocked(int64_t now, std::vector<Item>* batch, std::vector<Item>* expired) REQUIRES(mu_);
  // When to arm the timer for the oldest request's delay, or -1 when a
  // timer that fires early enough is armed. Arm(when) then arms it, outside
  // the lock (the scheduler's lock is never taken under a batcher's).
  int64_t ArmLocked() REQUIRES(mu_);
  void Arm(int64_t when);
  void Run(std::vector<Item>& batch);
  void RunAlone(Item& item, int64_t start);

  const BatchingPolicy policy_;
  const std::shared_ptr<const ServedModel> model_;
  BatchScheduler* const scheduler_;
  Env* const env_;
  const bool run_inline_;
  const int concurrency_;
  mutable Mutex mu_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  int64_t queued_rows_ GUARDED_BY(mu_) = 0;
  int running_ GUARDED_BY(mu_) = 0;
  int64_t timer_at_ GUARDED_BY(mu_) = -1;  // when the armed timer fires; -1: none
};

}  // namespace cairn::serving
