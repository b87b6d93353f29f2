#include "trees/tree_ensemble.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

#include "core/mutex.h"
#include "core/thread_pool.h"

namespace cairn::trees {

namespace {
// Rows handled together per pass over the trees: a pass keeps one tree hot
// for the whole block (XGBoost's CPU predictor blocks by 64 rows too).
constexpr size_t kBlockRows = 64;

// XGBoost treats categories as valid below 2^24 (floats hold integers exactly
// up to there); anything else goes left, as an unmatched category does.
constexpr float kMaxCategory = 16777216.0f;

// Rows walked through a tree together (independent load chains that overlap).
constexpr size_t kLanes = 8;

// Trees deeper than this are walked with a branch per node instead of a fixed
// number of steps (a degenerate chain would make every row pay its length).
constexpr uint32_t kMaxLockstepDepth = 48;
}  // namespace

TreeEnsemble::TreeEnsemble(Parts parts) : parts_(std::move(parts)) {
  has_categorical_ = !parts_.category_sets.empty();
  if (parts_.base_margin.empty()) {
    parts_.base_margin.assign(static_cast<size_t>(parts_.num_groups), 0.0f);
  }
  // Leaves become self-loops and splits get kSplit; each tree's depth is
  // measured. Children always come after their parent (readers place them
  // so), so one forward pass per tree sees every parent before its children.
  std::vector<uint32_t> depth(parts_.nodes.size(), 0);
  depths_.reserve(parts_.roots.size());
  for (size_t t = 0; t < parts_.roots.size(); ++t) {
    const uint32_t begin = parts_.roots[t];
    const auto end = static_cast<uint32_t>(t + 1 < parts_.roots.size() ? parts_.roots[t + 1]
                                                                       : parts_.nodes.size());
    uint32_t deepest = 0;
    for (uint32_t i = begin; i < end; ++i) {
      Node& n = parts_.nodes[i];
      if (n.left == 0) {
        n.left = i;
        n.feature = 0;
        deepest = std::max(deepest, depth[i]);
      } else {
        n.feature |= kSplit;
        depth[n.left] = depth[n.left + 1] = depth[i] + 1;
      }
    }
    depths_.push_back(deepest);
  }
  // TreeSHAP's expected values, bottom-up (children come after parents),
  // in XGBoost's float arithmetic. Trees deeper than kMaxExplainDepth are
  // not explained: the path tables grow with the square of the depth.
  const bool shallow =
      std::all_of(depths_.begin(), depths_.end(), [](uint32_t d) { return d <= kMaxExplainDepth; });
  if (parts_.covers.size() == parts_.nodes.size() && !parts_.nodes.empty() && shallow) {
    mean_values_.resize(parts_.nodes.size());
    for (size_t i = parts_.nodes.size(); i-- > 0;) {
      const Node& n = parts_.nodes[i];
      if ((n.feature & kSplit) == 0) {
        mean_values_[i] = n.value;
        continue;
      }
      float result = mean_values_[n.left] * parts_.covers[n.left];
      result += mean_values_[n.left + 1] * parts_.covers[n.left + 1];
      result /= parts_.covers[i];
      mean_values_[i] = result;
    }
  } else {
    parts_.covers.clear();
  }
}

size_t TreeEnsemble::MemoryBytes() const {
  auto held = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  size_t bytes = sizeof(*this) + held(parts_.nodes) + held(parts_.roots) + held(parts_.groups) +
                 held(parts_.category_bits) + held(parts_.weights) + held(parts_.base_margin) +
                 held(parts_.category_sets) + held(depths_) + held(parts_.covers) +
                 held(mean_values_) + parts_.objective.capacity();
  for (const std::string& name : parts_.feature_names)
    bytes += sizeof(std::string) + name.capacity();
  return bytes;
}

bool TreeEnsemble::GoesRight(const Node& node, float x) const {
  if (std::isnan(x)) return (node.feature & kDefaultLeft) == 0;
  if ((node.feature & kCategorical) == 0) return !(x < node.value);
  // Categorical: right when x is one of the split's categories.
  if (x < 0.0f || x >= kMaxCategory) return false;
  auto category = static_cast<uint32_t>(static_cast<int32_t>(x));
  const auto& [first, words] = parts_.category_sets[std::bit_cast<uint32_t>(node.value)];
  uint32_t word = category / 32;
  if (word >= words) return false;
  return (parts_.category_bits[first + word] >> (category % 32)) & 1u;
}

float TreeEnsemble::TreeValue(uint32_t root, const float* row) const {
  const Node* nodes = parts_.nodes.data();
  uint32_t i = root;
  while (nodes[i].left != i) {
    const Node& n = nodes[i];
    i = n.left + static_cast<uint32_t>(GoesRight(n, row[n.feature & kFeatureMask]));
  }
  return nodes[i].value;
}

namespace {
// One step down a tree without a branch: right when x >= threshold, or when
// x is missing and the default is not left; a leaf (no kSplit) stays put.
// Without missing values in the block, the NaN test is left out.
template <bool kMayBeMissing>
inline uint32_t Step(const TreeEnsemble::Node* nodes, uint32_t i, const float* row) {
  const TreeEnsemble::Node& n = nodes[i];
  const float x = row[n.feature & TreeEnsemble::kFeatureMask];
  uint32_t right = static_cast<uint32_t>(!(x < n.value));
  if constexpr (kMayBeMissing) right ^= static_cast<uint32_t>(std::isnan(x)) & (n.feature >> 31);
  return n.left + (right & (n.feature >> 29) & 1u);
}

bool AnyMissing(const float* values, size_t count) {
  bool missing = false;
  for (size_t i = 0; i < count; ++i) missing |= std::isnan(values[i]);
  return missing;
}
}  // namespace

void TreeEnsemble::PredictNumericBlock(const float* rows, size_t num_rows, float* margins) const {
  if (AnyMissing(rows, num_rows * static_cast<size_t>(parts_.num_features))) {
    PredictNumericBlockImpl<true>(rows, num_rows, margins);
  } else {
    PredictNumericBlockImpl<false>(rows, num_rows, margins);
  }
}

// Numeric-only ensembles, walked a fixed number of steps per tree (its
// depth) so no step waits on a branch: kLanes rows at a time through each
// tree, and the rows left over one at a time through kLanes trees at once.
// Leaves are added in tree order per row, as XGBoost does, so results are
// bit-identical.
template <bool kMayBeMissing>
void TreeEnsemble::PredictNumericBlockImpl(const float* rows, size_t num_rows,
                                           float* margins) const {
  const Node* nodes = parts_.nodes.data();
  const auto features = static_cast<size_t>(parts_.num_features);
  const auto groups = static_cast<size_t>(parts_.num_groups);
  const bool weighted = !parts_.weights.empty();
  const size_t num_trees = parts_.roots.size();
  const size_t lockstep_rows = num_rows - num_rows % kLanes;
  auto add = [&](size_t row, size_t tree, float leaf) {
    margins[row * groups + parts_.groups[tree]] += weighted ? leaf * parts_.weights[tree] : leaf;
  };
  size_t t = 0;
  // Without missing values, two trees at a time: 16 independent chains of
  // loads in flight (with the missing-value test, the extra registers cost more
  // than the overlap gains).
  for (; !kMayBeMissing && t + 1 < num_trees; t += 2) {
    const uint32_t root_a = parts_.roots[t];
    const uint32_t root_b = parts_.roots[t + 1];
    const uint32_t depth = std::max(depths_[t], depths_[t + 1]);
    if (depth > kMaxLockstepDepth) break;
    for (size_t r = 0; r < lockstep_rows; r += kLanes) {
      uint32_t a[kLanes];
      uint32_t b[kLanes];
      const float* row[kLanes];
      for (size_t k = 0; k < kLanes; ++k) {
        a[k] = root_a;
        b[k] = root_b;
        row[k] = rows + (r + k) * features;
      }
      for (uint32_t d = 0; d < depth; ++d) {
        for (size_t k = 0; k < kLanes; ++k) {
          a[k] = Step<kMayBeMissing>(nodes, a[k], row[k]);
          b[k] = Step<kMayBeMissing>(nodes, b[k], row[k]);
        }
      }
      for (size_t k = 0; k < kLanes; ++k) {
        add(r + k, t, nodes[a[k]].value);
        add(r + k, t + 1, nodes[b[k]].value);
      }
    }
  }
  for (; t < num_trees; ++t) {
    const uint32_t root = parts_.roots[t];
    const uint32_t depth = depths_[t];
    for (size_t r = 0; r < lockstep_rows; r += kLanes) {
      uint32_t at[kLanes];
      const float* row[kLanes];
      for (size_t k = 0; k < kLanes; ++k) {
        at[k] = root;
        row[k] = rows + (r + k) * features;
      }
      if (depth <= kMaxLockstepDepth) {
        for (uint32_t d = 0; d < depth; ++d) {
          for (size_t k = 0; k < kLanes; ++k) at[k] = Step<kMayBeMissing>(nodes, at[k], row[k]);
        }
        for (size_t k = 0; k < kLanes; ++k) add(r + k, t, nodes[at[k]].value);
      } else {
        for (size_t k = 0; k < kLanes; ++k)
          add(r + k, t, TreeValue(root, rows + (r + k) * features));
      }
    }
  }
  for (size_t r = lockstep_rows; r < num_rows; ++r) {
    const float* row = rows + r * features;
    for (size_t first = 0; first < num_trees; first += kLanes) {
      const size_t lanes = std::min(kLanes, num_trees - first);
      uint32_t depth = 0;
      for (size_t k = 0; k < lanes; ++k) depth = std::max(depth, depths_[first + k]);
      if (lanes < kLanes || depth > kMaxLockstepDepth) {
        for (size_t k = 0; k < lanes; ++k)
          add(r, first + k, TreeValue(parts_.roots[first + k], row));
        continue;
      }
      uint32_t at[kLanes];
      for (size_t k = 0; k < kLanes; ++k) at[k] = parts_.roots[first + k];
      for (uint32_t d = 0; d < depth; ++d) {
        for (size_t k = 0; k < kLanes; ++k) at[k] = Step<kMayBeMissing>(nodes, at[k], row);
      }
      for (size_t k = 0; k < kLanes; ++k) add(r, first + k, nodes[at[k]].value);
    }
  }
}

void TreeEnsemble::PredictMargins(std::span<const float> rows, size_t num_rows,
                                  std::span<float> margins) const {
  const auto features = static_cast<size_t>(parts_.num_features);
  const auto groups = static_cast<size_t>(parts_.num_groups);
  assert(rows.size() == num_rows * features);
  assert(margins.size() == num_rows * groups);
  for (size_t r = 0; r < num_rows; ++r) {
    std::copy(parts_.base_margin.begin(), parts_.base_margin.end(), margins.begin() + r * groups);
  }
  const bool weighted = !parts_.weights.empty();
  for (size_t block = 0; block < num_rows; block += kBlockRows) {
    const size_t end = std::min(num_rows, block + kBlockRows);
    if (!has_categorical_) {
      PredictNumericBlock(rows.data() + block * features, end - block,
                          margins.data() + block * groups);
      continue;
    }
    for (size_t t = 0; t < parts_.roots.size(); ++t) {
      const uint32_t root = parts_.roots[t];
      const size_t group = parts_.groups[t];
      if (weighted) {
        const float weight = parts_.weights[t];
        for (size_t r = block; r < end; ++r) {
          margins[r * groups + group] += TreeValue(root, rows.data() + r * features) * weight;
        }
      } else {
        for (size_t r = block; r < end; ++r) {
          margins[r * groups + group] += TreeValue(root, rows.data() + r * features);
        }
      }
    }
  }
}

void TreeEnsemble::PredictMargins(std::span<const float> rows, size_t num_rows,
                                  std::span<float> margins, ThreadPool* pool) const {
  if (pool == nullptr || num_rows < kParallelRows) {
    PredictMargins(rows, num_rows, margins);
    return;
  }
  const auto features = static_cast<size_t>(parts_.num_features);
  const auto groups = static_cast<size_t>(parts_.num_groups);
  const size_t parts = static_cast<size_t>(pool->size()) + 1;
  // Whole blocks per part, so every part walks trees with full lanes.
  const size_t blocks = (num_rows + kBlockRows - 1) / kBlockRows;
  const size_t rows_per_part = (blocks + parts - 1) / parts * kBlockRows;
  Mutex mu;
  CondVar done(&mu);
  size_t pending = 0;
  auto run = [&](size_t begin) {
    const size_t n = std::min(rows_per_part, num_rows - begin);
    PredictMargins(rows.subspan(begin * features, n * features), n,
                   margins.subspan(begin * groups, n * groups));
  };
  for (size_t begin = rows_per_part; begin < num_rows; begin += rows_per_part) {
    {
      MutexLock lock(&mu);
      ++pending;
    }
    pool->Post([&, begin] {
      run(begin);
      MutexLock lock(&mu);
      if (--pending == 0) done.SignalAll();
    });
  }
  run(0);
  MutexLock lock(&mu);
  while (pending > 0) done.Wait();
}

void TreeEnsemble::Transform(std::span<float> margins) const {
  const auto groups = static_cast<size_t>(parts_.num_groups);
  switch (parts_.transform) {
    case OutputTransform::kIdentity:
      return;
    case OutputTransform::kSigmoid:
      for (float& m : margins) m = 1.0f / (1.0f + std::exp(-m));
      return;
    case OutputTransform::kExp:
      for (float& m : margins) m = std::exp(m);
      return;
    case OutputTransform::kHinge:
      for (float& m : margins) m = m > 0.0f ? 1.0f : 0.0f;
      return;
    case OutputTransform::kSoftmax:
      for (size_t r = 0; r + groups <= margins.size(); r += groups) {
        float* row = margins.data() + r;
        float max = row[0];
        for (size_t g = 1; g < groups; ++g) max = std::fmax(row[g], max);
        double sum = 0;  // XGBoost sums the exponentials in double
        for (size_t g = 0; g < groups; ++g) {
          row[g] = std::exp(row[g] - max);
          sum += row[g];
        }
        for (size_t g = 0; g < groups; ++g) row[g] /= static_cast<float>(sum);
      }
      return;
    case OutputTransform::kArgmax: {
      // One value per row: the first class with the largest margin.
      size_t out = 0;
      for (size_t r = 0; r + groups <= margins.size(); r += groups) {
        size_t best = 0;
        for (size_t g = 1; g < groups; ++g) {
          if (margins[r + g] > margins[r + best]) best = g;
        }
        margins[out++] = static_cast<float>(best);
      }
      return;
    }
  }
}

}  // namespace cairn::trees
