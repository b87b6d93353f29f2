#include "serving/batcher.h"

#include <algorithm>
#include <chrono>

namespace cairn::serving {

StatusOr<std::unique_ptr<BatchScheduler>> BatchScheduler::Start(Env* env, int threads) {
  std::unique_ptr<BatchScheduler> scheduler(new BatchScheduler(env));
  ASSIGN_OR_RETURN(scheduler->pool_, ThreadPool::Start(env, threads, "batch"));
  ASSIGN_OR_RETURN(scheduler->timer_thread_,
                   env->StartThread("batch-timer", [s = scheduler.get()] { s->TimerLoop(); }));
  return scheduler;
}

BatchScheduler::~BatchScheduler() {
  stopping_flag_.store(true, std::memory_order_release);
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (timer_thread_) timer_thread_->Join();
  pool_.reset();  // runs what the timer handed over, then joins
}

void BatchScheduler::Post(std::function<void()> task) { pool_->Post(std::move(task)); }

void BatchScheduler::At(int64_t when_nanos, std::function<void()> task) {
  MutexLock lock(&mu_);
  const bool earliest = timers_.empty() || when_nanos < timers_.top().when;
  timers_.push(Timer{when_nanos, next_order_++, std::move(task)});
  if (earliest) cv_.Signal();
}

void BatchScheduler::TimerLoop() {
  MutexLock lock(&mu_);
  while (true) {
    // Stopping, every timer fires now: the requests behind them are answered.
    while (!timers_.empty() && (stopping_ || timers_.top().when <= env_->MonotonicNanos())) {
      pool_->Post(timers_.top().task);
      timers_.pop();
    }
    if (stopping_) return;
    if (timers_.empty()) {
      cv_.Wait();
    } else {
      cv_.WaitFor(std::chrono::nanoseconds(timers_.top().when - env_->MonotonicNanos()));
    }
  }
}

int64_t RowsOf(const std::vector<Tensor>& inputs) {
  if (inputs.empty()) return -1;
  int64_t rows = -1;
  for (const Tensor& t : inputs) {
    if (t.shape.empty() || t.shape[0] < 1) return -1;
    if (rows >= 0 && t.shape[0] != rows) return -1;
    rows = t.shape[0];
  }
  return rows;
}

int64_t BytesOf(const std::vector<Tensor>& inputs) {
  int64_t bytes = 0;
  for (const Tensor& t : inputs) {
    bytes += static_cast<int64_t>(t.data.size());
    for (const std::string& element : t.bytes) bytes += static_cast<int64_t>(element.size());
  }
  return bytes;
}

namespace {

// Requests that may share a call: the same inputs but for their rows.
bool Joinable(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].datatype != b[i].datatype ||
        a[i].shape.size() != b[i].shape.size() ||
        !std::equal(a[i].shape.begin() + 1, a[i].shape.end(), b[i].shape.begin() + 1)) {
      return false;
    }
  }
  return true;
}

// Elements per row of `t` (its dimensions after the first).
size_t RowElements(const Tensor& t) {
  size_t n = 1;
  for (size_t d = 1; d < t.shape.size(); ++d) n *= static_cast<size_t>(t.shape[d]);
  return n;
}

// The outputs for rows [first, first + rows) of a batched call, or false
// when an output does not have one row per input row.
bool SliceRows(const std::vector<Tensor>& outputs, int64_t total_rows, int64_t first, int64_t rows,
               std::vector<Tensor>* out) {
  out->clear();
  for (const Tensor& t : outputs) {
    if (t.shape.empty() || t.shape[0] != total_rows) return false;
    const size_t per_row = RowElements(t);
    Tensor slice;
    slice.name = t.name;
    slice.datatype = t.datatype;
    slice.shape = t.shape;
    slice.shape[0] = rows;
    const size_t begin = static_cast<size_t>(first) * per_row;
    const size_t count = static_cast<size_t>(rows) * per_row;
    if (t.datatype == DataType::kBytes) {
      if (t.bytes.size() != static_cast<size_t>(total_rows) * per_row) return false;
      slice.bytes.assign(t.bytes.begin() + static_cast<ptrdiff_t>(begin),
                         t.bytes.begin() + static_cast<ptrdiff_t>(begin + count));
    } else {
      const size_t width = ElementSize(t.datatype);
      if (t.data.size() != static_cast<size_t>(total_rows) * per_row * width) return false;
      slice.data.assign(t.data, begin * width, count * width);
    }
    out->push_back(std::move(slice));
  }
  return true;
}

}  // namespace

Batcher::Batcher(const BatchingPolicy& policy, std::shared_ptr<const ServedModel> model,
                 BatchScheduler* scheduler, Env* env, bool run_inline, int concurrency)
    : policy_(policy),
      model_(std::move(model)),
      scheduler_(scheduler),
      env_(env),
      run_inline_(run_inline),
      concurrency_(std::max(1, concurrency)) {}

Batcher::~Batcher() {
  // Unreachable while requests wait (runners and timers hold the batcher),
  // but no request may go unanswered.
  std::deque<Item> left;
  {
    MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (Item& item : left) {
    item.done(std::move(item.inputs),
              Unavailable("the deployment was replaced while the request "
                          "waited in its batch queue; send it again"),
              {});
  }
}

int64_t Batcher::queued() const {
  MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

bool Batcher::DueLocked(int64_t now) const {
  return policy_.max_queue_delay_us == 0 || queued_rows_ >= policy_.max_batch_rows ||
         scheduler_->stopping() ||
         now - queue_.front().enqueued >= policy_.max_queue_delay_us * 1000;
}

int64_t Batcher::ArmLocked() {
  const int64_t when = queue_.front().enqueued + policy_.max_queue_delay_us * 1000;
  if (timer_at_ >= 0 && timer_at_ <= when) return -1;
  timer_at_ = when;
  return when;
}

void Batcher::Arm(int64_t when) {
  if (when >= 0) scheduler_->At(when, [self = shared_from_this()] { self->OnTimer(); });
}

void Batcher::Submit(std::vector<Tensor> inputs, BatchDone done) {
  Item item;
  item.rows = RowsOf(inputs);
  item.bytes = BytesOf(inputs);
  item.inputs = std::move(inputs);
  item.done = std::move(done);
  item.enqueued = env_->MonotonicNanos();
  bool full = false;
  bool run = false;
  int64_t arm = -1;
  {
    MutexLock lock(&mu_);
    full = static_cast<int64_t>(queue_.size()) >= policy_.max_queue_requests;
    if (!full) {
      const int64_t now = item.enqueued;
      queued_rows_ += std::max<int64_t>(item.rows, 1);
      queue_.push_back(std::move(item));
      if (running_ < concurrency_ && DueLocked(now)) {
        ++running_;
        run = true;
      } else if (running_ < concurrency_) {
        arm = ArmLocked();
      }
    }
  }
  Arm(arm);
  if (full) {
    // NOLINTNEXTLINE(bugprone-use-after-move): moved only when the queue had room
    item.done(std::move(item.inputs),
              Unavailable("the batch queue is full (" + std::to_string(policy_.max_queue_requests) +
                          " requests waiting); retry, or raise batching.max_queue_requests"),
              {});
    return;
  }
  if (!run) return;
  if (run_inline_) {
    RunLoop();
  } else {
    scheduler_->Post([self = shared_from_this()] { self->RunLoop(); });
  }
}

void Batcher::OnTimer() {
  int64_t arm = -1;
  bool due = false;
  {
    MutexLock lock(&mu_);
    timer_at_ = -1;
    if (queue_.empty() || running_ >= concurrency_) return;  // a runner takes them next
    due = DueLocked(env_->MonotonicNanos());
    if (due) {
      ++running_;
    } else {
      arm = ArmLocked();
    }
  }
  if (!due) return Arm(arm);
  RunLoop();
}

void Batcher::TakeLocked(int64_t now, std::vector<Item>* batch, std::vector<Item>* expired) {
  const int64_t timeout = policy_.queue_timeout_ms * 1'000'000;
  int64_t rows = 0;
  int64_t bytes = 0;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (now - it->enqueued > timeout) {
      queued_rows_ -= std::max<int64_t>(it->rows, 1);
      expired->push_back(std::move(*it));
      it = queue_.erase(it);
      continue;
    }
    bool joins = batch->empty();
    if (!joins && batch->front().rows > 0 && it->rows > 0 &&
        rows + it->rows <= policy_.max_batch_rows && bytes + it->bytes <= kMaxBatchBytes) {
      joins = Joinable(batch->front().inputs, it->inputs);
    }
    if (!joins) {
      if (rows >= policy_.max_batch_rows || bytes >= kMaxBatchBytes || batch->front().rows < 0) {
        break;
      }
      ++it;
      continue;
    }
    rows += std::max<int64_t>(it->rows, 1);
    bytes += it->bytes;
    queued_rows_ -= std::max<int64_t>(it->rows, 1);
    batch->push_back(std::move(*it));
    it = queue_.erase(it);
  }
}

void Batcher::RunLoop() {
  while (true) {
    std::vector<Item> batch;
    std::vector<Item> expired;
    int64_t arm = -1;
    {
      MutexLock lock(&mu_);
      if (queue_.empty()) {
        --running_;
        return;
      }
      const int64_t now = env_->MonotonicNanos();
      if (!DueLocked(now)) {
        // What queued meanwhile waits its delay for others to join.
        --running_;
        arm = ArmLocked();
      } else {
        TakeLocked(now, &batch, &expired);
      }
    }
    if (batch.empty() && expired.empty()) return Arm(arm);
    for (Item& item : expired) {
      item.done(std::move(item.inputs),
                Unavailable("the request waited more than batching.queue_timeout_ms (" +
                            std::to_string(policy_.queue_timeout_ms) +
                            " ms) for the model; the deployment is overloaded"),
                {});
    }
    if (!batch.empty()) Run(batch);
  }
}

void Batcher::RunAlone(Item& item, int64_t start) {
  BatchFacts facts;
  facts.queue_nanos = start - item.enqueued;
  facts.batch_rows = std::max<int64_t>(item.rows, 1);
  facts.first = true;
  StatusOr<std::vector<Tensor>> out = model_->Predict(item.inputs);
  facts.compute_nanos = env_->MonotonicNanos() - start;
  item.done(std::move(item.inputs), std::move(out), facts);
}

void Batcher::Run(std::vector<Item>& batch) {
  const int64_t start = env_->MonotonicNanos();
  if (batch.size() == 1) return RunAlone(batch.front(), start);
  // One call over every request's rows, input by input.
  std::vector<Tensor> joined = batch.front().inputs;
  int64_t total = batch.front().rows;
  for (size_t r = 1; r < batch.size(); ++r) {
    total += batch[r].rows;
    for (size_t i = 0; i < joined.size(); ++i) {
      const Tensor& part = batch[r].inputs[i];
      if (part.datatype == DataType::kBytes) {
        joined[i].bytes.insert(joined[i].bytes.end(), part.bytes.begin(), part.bytes.end());
      } else {
        joined[i].data += part.data;
      }
    }
  }
  for (Tensor& t : joined) t.shape[0] = total;
  StatusOr<std::vector<Tensor>> out = model_->Predict(joined);
  const int64_t computed = env_->MonotonicNanos();
  std::vector<std::vector<Tensor>> answers(batch.size());
  bool split = out.ok();
  for (int64_t r = 0, first = 0; split && r < static_cast<int64_t>(batch.size()); ++r) {
    split = SliceRows(*out, total, first, batch[r].rows, &answers[r]);
    first += batch[r].rows;
  }
  if (!split) {
    // A bad request fails alone; a model whose outputs are not per row
    // answers each request as it would alone.
    for (Item& item : batch) RunAlone(item, env_->MonotonicNanos());
    return;
  }
  for (size_t r = 0; r < batch.size(); ++r) {
    BatchFacts facts;
    facts.queue_nanos = start - batch[r].enqueued;
    facts.compute_nanos = computed - start;
    facts.batch_rows = total;
    facts.first = r == 0;
    batch[r].done(std::move(batch[r].inputs), std::move(answers[r]), facts);
  }
}

}  // namespace cairn::serving
