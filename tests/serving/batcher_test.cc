// Dynamic batching: requests that wait together are answered by one model
// call and get exactly what they would have got alone; requests that cannot
// share a call, bad requests, a full queue and a timeout are each answered
// on their own.
#include "serving/batcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "status_testing.h"

namespace cairn::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<float> Floats(const Tensor& t) {
  std::vector<float> out(t.data.size() / sizeof(float));
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

// Answers each element doubled ("doubled") and each row's sum ("sum"); a
// negative element is bad input. Can be held inside a call, so requests
// queue behind it.
class DoublingModel : public ServedModel {
 public:
  const ModelMetadata& metadata() const override { return metadata_; }
  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const override {
    {
      MutexLock lock(&mu_);
      ++entered_;
      entered_cv_.SignalAll();
      while (held_) cv_.Wait();
      calls_.push_back(inputs.front().shape[0]);
    }
    if (per_call_output_) return std::vector<Tensor>{Fp32Tensor("total", {1}, {1})};
    const Tensor& x = inputs.front();
    std::vector<float> values = Floats(x);
    std::vector<float> doubled;
    std::vector<float> sums;
    const size_t width = x.shape.size() > 1 ? static_cast<size_t>(x.shape[1]) : 1;
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] < 0) return InvalidArgument("input 'x': negative value");
      doubled.push_back(2 * values[i]);
      if (i % width == 0) sums.push_back(0);
      sums.back() += values[i];
    }
    std::vector<int64_t> shape = x.shape;
    return std::vector<Tensor>{Fp32Tensor("doubled", shape, doubled),
                               Fp32Tensor("sum", {x.shape[0]}, sums)};
  }
  size_t MemoryBytes() const override { return 0; }

  void Hold() {
    MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    MutexLock lock(&mu_);
    held_ = false;
    cv_.SignalAll();
  }
  // Waits until `n` calls have started.
  void AwaitEntered(int n) {
    MutexLock lock(&mu_);
    while (entered_ < n) entered_cv_.Wait();
  }
  std::vector<int64_t> calls() const {
    MutexLock lock(&mu_);
    return calls_;
  }
  bool per_call_output_ = false;

 private:
  ModelMetadata metadata_;
  mutable Mutex mu_;
  mutable CondVar cv_{&mu_};
  mutable CondVar entered_cv_{&mu_};
  mutable bool held_ GUARDED_BY(mu_) = false;
  mutable int entered_ GUARDED_BY(mu_) = 0;
  mutable std::vector<int64_t> calls_ GUARDED_BY(mu_);
};

// One request's answer, filled by BatchDone.
struct Answer {
  Mutex mu;
  CondVar cv{&mu};
  bool done = false;
  StatusOr<std::vector<Tensor>> out = Unavailable("not answered");
  BatchFacts facts;

  BatchDone Callback() {
    return [this](std::vector<Tensor>, StatusOr<std::vector<Tensor>> o, const BatchFacts& f) {
      MutexLock lock(&mu);
      out = std::move(o);
      facts = f;
      done = true;
      cv.SignalAll();
    };
  }
  void Await() {
    MutexLock lock(&mu);
    while (!done) cv.Wait();
  }
};

std::vector<Tensor> Rows(std::vector<float> values, int64_t width = 2) {
  return {Fp32Tensor("x", {static_cast<int64_t>(values.size()) / width, width}, values)};
}

class BatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto scheduler = BatchScheduler::Start(Env::Default(), 2);
    ASSERT_OK(scheduler.status());
    scheduler_ = std::move(*scheduler);
  }
  std::shared_ptr<Batcher> Make(BatchingPolicy policy, bool run_inline = true) {
    return std::make_shared<Batcher>(policy, model_, scheduler_.get(), Env::Default(), run_inline);
  }
  // Submits `inputs` from its own thread (an inline batcher runs the call
  // on the submitting thread).
  void SubmitAsync(const std::shared_ptr<Batcher>& b, std::vector<Tensor> inputs, Answer* a) {
    threads_.emplace_back([b, inputs = std::move(inputs), a] { b->Submit(inputs, a->Callback()); });
  }
  void TearDown() override {
    model_->Release();
    for (std::thread& t : threads_) t.join();
  }

  std::shared_ptr<DoublingModel> model_ = std::make_shared<DoublingModel>();
  std::unique_ptr<BatchScheduler> scheduler_;
  std::vector<std::thread> threads_;
};

TEST_F(BatcherTest, RequestsWaitingTogetherShareOneCallAndGetTheirOwnRows) {
  auto b = Make({.max_batch_rows = 64});
  // The first request runs at once and is held in the model; three more
  // queue behind it and form the next call.
  model_->Hold();
  Answer first, a, c, d;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  b->Submit(Rows({3, 4, 5, 6}), a.Callback());
  b->Submit(Rows({7, 8}), c.Callback());
  b->Submit(Rows({9, 10, 11, 12, 13, 14}), d.Callback());
  EXPECT_EQ(b->queued(), 3);
  model_->Release();
  for (Answer* x : {&first, &a, &c, &d}) x->Await();
  EXPECT_THAT(model_->calls(), ElementsAre(1, 6));  // rows per call

  ASSERT_OK(c.out.status());
  ASSERT_EQ(c.out->size(), 2u);
  EXPECT_THAT((*c.out)[0].shape, ElementsAre(1, 2));
  EXPECT_THAT(Floats((*c.out)[0]), ElementsAre(14, 16));
  EXPECT_THAT((*c.out)[1].shape, ElementsAre(1));
  EXPECT_THAT(Floats((*c.out)[1]), ElementsAre(15));
  ASSERT_OK(d.out.status());
  EXPECT_THAT(Floats((*d.out)[0]), ElementsAre(18, 20, 22, 24, 26, 28));
  EXPECT_THAT(Floats((*d.out)[1]), ElementsAre(19, 23, 27));
  EXPECT_THAT(Floats((*a.out)[1]), ElementsAre(7, 11));
  EXPECT_EQ(a.facts.batch_rows, 6);
  EXPECT_TRUE(a.facts.first);
  EXPECT_FALSE(d.facts.first);
  EXPECT_GT(a.facts.queue_nanos, 0);
}

TEST_F(BatcherTest, ABatchHoldsAtMostMaxRowsAndOnlyJoinableRequests) {
  auto b = Make({.max_batch_rows = 3});
  model_->Hold();
  Answer first, a, wide, c, d;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  b->Submit(Rows({1, 1, 1, 1}), a.Callback());     // 2 rows of width 2
  b->Submit(Rows({1, 1, 1}, 3), wide.Callback());  // width 3: another call
  b->Submit(Rows({2, 2}), c.Callback());           // 1 row: fills the first call to 3
  b->Submit(Rows({3, 3}), d.Callback());           // would make 4: next call
  model_->Release();
  for (Answer* x : {&first, &a, &wide, &c, &d}) x->Await();
  EXPECT_THAT(model_->calls(), ElementsAre(1, 3, 1, 1));
  for (Answer* x : {&a, &wide, &c, &d}) ASSERT_OK(x->out.status());
  EXPECT_THAT(Floats((*wide.out)[1]), ElementsAre(3));
  EXPECT_THAT(Floats((*d.out)[0]), ElementsAre(6, 6));
}

TEST_F(BatcherTest, RequestsJoinOnlyWhileTheCallStaysWithinTheByteCap) {
  // Three requests of 24 MiB each, far under the row cap: two share a call
  // (48 MiB), the third would make 72 MiB and runs next. A request larger
  // than the cap on its own still runs.
  const int64_t rows = (int64_t{24} << 20) / (2 * sizeof(float));
  auto b = Make({.max_batch_rows = 1 << 24, .queue_timeout_ms = 600'000});
  model_->Hold();
  Answer first, a, c, d, huge;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  for (Answer* x : {&a, &c, &d}) {
    b->Submit(Rows(std::vector<float>(static_cast<size_t>(rows) * 2, 1)), x->Callback());
  }
  model_->Release();
  for (Answer* x : {&first, &a, &c, &d}) x->Await();
  EXPECT_THAT(model_->calls(), ElementsAre(1, 2 * rows, rows));
  for (Answer* x : {&a, &c, &d}) ASSERT_OK(x->out.status());
  EXPECT_EQ((*d.out)[1].shape[0], rows);

  const int64_t over = (kMaxBatchBytes / (2 * sizeof(float))) + 1;
  b->Submit(Rows(std::vector<float>(static_cast<size_t>(over) * 2, 1)), huge.Callback());
  huge.Await();
  ASSERT_OK(huge.out.status());
  EXPECT_EQ((*huge.out)[1].shape[0], over);
}

TEST_F(BatcherTest, ABadRequestFailsAloneAndTheOthersInItsCallAreAnswered) {
  auto b = Make({.max_batch_rows = 64});
  model_->Hold();
  Answer first, good, bad, good2;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  b->Submit(Rows({1, 2}), good.Callback());
  b->Submit(Rows({-1, 2}), bad.Callback());
  b->Submit(Rows({5, 6}), good2.Callback());
  model_->Release();
  for (Answer* x : {&first, &good, &bad, &good2}) x->Await();
  EXPECT_THAT(bad.out.status(),
              testing::StatusIs(StatusCode::kInvalidArgument, HasSubstr("negative value")));
  ASSERT_OK(good.out.status());
  EXPECT_THAT(Floats((*good.out)[0]), ElementsAre(2, 4));
  ASSERT_OK(good2.out.status());
  EXPECT_THAT(Floats((*good2.out)[1]), ElementsAre(11));
  // The joined call failed, then each request ran alone.
  EXPECT_THAT(model_->calls(), ElementsAre(1, 3, 1, 1, 1));
}

TEST_F(BatcherTest, OutputsThatAreNotPerRowAreAnsweredRequestByRequest) {
  model_->per_call_output_ = true;
  auto b = Make({.max_batch_rows = 64});
  model_->Hold();
  Answer first, a, c;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  b->Submit(Rows({1, 2}), a.Callback());
  b->Submit(Rows({3, 4}), c.Callback());
  model_->Release();
  for (Answer* x : {&first, &a, &c}) x->Await();
  ASSERT_OK(a.out.status());
  EXPECT_THAT((*a.out)[0].shape, ElementsAre(1));
  EXPECT_THAT(model_->calls(), ElementsAre(1, 2, 1, 1));
}

TEST_F(BatcherTest, AFullQueueAndATimeoutAnswerUnavailableNamingTheSetting) {
  auto b = Make({.max_batch_rows = 64, .max_queue_requests = 2, .queue_timeout_ms = 20});
  model_->Hold();
  Answer first, a, c, over;
  SubmitAsync(b, Rows({1, 2}), &first);
  model_->AwaitEntered(1);
  b->Submit(Rows({1, 2}), a.Callback());
  b->Submit(Rows({1, 2}), c.Callback());
  b->Submit(Rows({1, 2}), over.Callback());  // answered at once
  ASSERT_TRUE(over.done);
  EXPECT_THAT(over.out.status(), testing::StatusIs(StatusCode::kUnavailable,
                                                   HasSubstr("batching.max_queue_requests")));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  model_->Release();
  for (Answer* x : {&first, &a, &c}) x->Await();
  ASSERT_OK(first.out.status());
  EXPECT_THAT(a.out.status(), testing::StatusIs(StatusCode::kUnavailable,
                                                HasSubstr("batching.queue_timeout_ms (20 ms)")));
  EXPECT_THAT(c.out.status(), testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(model_->calls(), ElementsAre(1));
}

TEST_F(BatcherTest, AQueueDelayGathersRequestsThatArriveWithinIt) {
  // Off the submitting threads: the timer runs the batch.
  auto b = Make({.max_batch_rows = 64, .max_queue_delay_us = 1'000'000, .queue_timeout_ms = 5000},
                /*run_inline=*/false);
  Answer a, c, d;
  b->Submit(Rows({1, 2}), a.Callback());
  b->Submit(Rows({3, 4}), c.Callback());
  b->Submit(Rows({5, 6}), d.Callback());
  EXPECT_FALSE(a.done);
  for (Answer* x : {&a, &c, &d}) x->Await();
  EXPECT_THAT(model_->calls(), ElementsAre(3));
  EXPECT_GE(a.facts.queue_nanos, 900'000'000);
  EXPECT_THAT(Floats((*d.out)[1]), ElementsAre(11));
}

TEST_F(BatcherTest, AFullBatchGoesWithoutWaitingForTheDelay) {
  auto b = Make({.max_batch_rows = 2, .max_queue_delay_us = 1'000'000, .queue_timeout_ms = 5000},
                /*run_inline=*/false);
  Answer a, c;
  const auto start = std::chrono::steady_clock::now();
  b->Submit(Rows({1, 2}), a.Callback());
  b->Submit(Rows({3, 4}), c.Callback());
  for (Answer* x : {&a, &c}) x->Await();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_THAT(model_->calls(), ElementsAre(2));
}

TEST_F(BatcherTest, StoppingTheSchedulerAnswersWhatWaits) {
  auto b = Make({.max_batch_rows = 64, .max_queue_delay_us = 1'000'000, .queue_timeout_ms = 5000},
                /*run_inline=*/false);
  Answer a;
  b->Submit(Rows({1, 2}), a.Callback());
  scheduler_.reset();  // fires the timer at once
  ASSERT_TRUE(a.done);
  ASSERT_OK(a.out.status());
}

TEST(RowsOfTest, RowsAreTheFirstDimensionEveryInputShares) {
  EXPECT_EQ(RowsOf({Fp32Tensor("a", {3, 2}, std::vector<float>(6)),
                    Fp32Tensor("b", {3}, std::vector<float>(3))}),
            3);
  EXPECT_EQ(RowsOf({Fp32Tensor("a", {3, 2}, std::vector<float>(6)),
                    Fp32Tensor("b", {2}, std::vector<float>(2))}),
            -1);
  EXPECT_EQ(RowsOf({Fp32Tensor("a", {}, std::vector<float>(1))}), -1);
  EXPECT_EQ(RowsOf({}), -1);
}

}  // namespace
}  // namespace cairn::serving
