#include "trees/tree_ensemble.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace cairn::trees {

namespace {
// Rows handled together per pass over the trees: a pass keeps one tree hot
// for the whole block (XGBoost's CPU predictor blocks by 64 rows too).
constexpr size_t kBlockRows = 64;

// XGBoost treats categories as valid below 2^24 (floats hold integers exactly
// up to there); anything else goes left, as an unmatched category does.
constexpr float kMaxCategory = 16777216.0f;
}  // namespace

TreeEnsemble::TreeEnsemble(Parts parts) : parts_(std::move(parts)) {
  has_categorical_ = !parts_.category_sets.empty();
  if (parts_.base_margin.empty())
    parts_.base_margin.assign(static_cast<size_t>(parts_.num_groups), 0.0f);
}

size_t TreeEnsemble::MemoryBytes() const {
  size_t bytes =
      sizeof(*this) + parts_.nodes.capacity() * sizeof(Node) +
      (parts_.roots.capacity() + parts_.groups.capacity() + parts_.category_bits.capacity()) * 4 +
      parts_.weights.capacity() * 4 + parts_.base_margin.capacity() * 4 +
      parts_.category_sets.capacity() * 8 + parts_.objective.capacity();
  for (const std::string& name : parts_.feature_names) bytes += sizeof(name) + name.capacity();
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
  if (!has_categorical_) {
    while (nodes[i].left != 0) {
      const Node& n = nodes[i];
      float x = row[n.feature & kFeatureMask];
      bool right = std::isnan(x) ? (n.feature & kDefaultLeft) == 0 : !(x < n.value);
      i = n.left + static_cast<uint32_t>(right);
    }
    return nodes[i].value;
  }
  while (nodes[i].left != 0) {
    const Node& n = nodes[i];
    i = n.left + static_cast<uint32_t>(GoesRight(n, row[n.feature & kFeatureMask]));
  }
  return nodes[i].value;
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
