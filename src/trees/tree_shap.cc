// TreeSHAP (Lundberg, Erion and Lee, "Consistent Individualized Feature
// Attribution for Tree Ensembles", Algorithm 2) over the compiled layout.
// The arithmetic is XGBoost's, operation for operation and in float, so the
// contributions equal predict(pred_contribs=True): the same products in the
// same order, the same divisions, the same accumulation per tree and then
// into the row (times the dart weight), the base margin added last.
#include <algorithm>
#include <vector>

#include "trees/tree_ensemble.h"

namespace cairn::trees {

// One feature on the path from the root: the share of training rows that
// went this way (zero fraction), whether the explained row did (one
// fraction), and the permutation weight.
struct TreeEnsemble::PathElement {
  int feature_index = 0;
  float zero_fraction = 0;
  float one_fraction = 0;
  float pweight = 0;
};

namespace {

using PathElement = TreeEnsemble::PathElement;

void ExtendPath(PathElement* path, unsigned depth, float zero_fraction, float one_fraction,
                int feature_index) {
  path[depth].feature_index = feature_index;
  path[depth].zero_fraction = zero_fraction;
  path[depth].one_fraction = one_fraction;
  path[depth].pweight = (depth == 0 ? 1.0f : 0.0f);
  for (int i = static_cast<int>(depth) - 1; i >= 0; i--) {
    path[i + 1].pweight +=
        one_fraction * path[i].pweight * static_cast<float>(i + 1) / static_cast<float>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * static_cast<float>(depth - i) /
                      static_cast<float>(depth + 1);
  }
}

void UnwindPath(PathElement* path, unsigned depth, unsigned path_index) {
  const float one_fraction = path[path_index].one_fraction;
  const float zero_fraction = path[path_index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = path[i].pweight;
      path[i].pweight = next_one_portion * static_cast<float>(depth + 1) /
                        static_cast<float>((i + 1) * one_fraction);
      next_one_portion = tmp - path[i].pweight * zero_fraction * static_cast<float>(depth - i) /
                                   static_cast<float>(depth + 1);
    } else {
      path[i].pweight = (path[i].pweight * static_cast<float>(depth + 1)) /
                        static_cast<float>(zero_fraction * static_cast<float>(depth - i));
    }
  }
  for (unsigned i = path_index; i < depth; ++i) {
    path[i].feature_index = path[i + 1].feature_index;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

float UnwoundPathSum(const PathElement* path, unsigned depth, unsigned path_index) {
  const float one_fraction = path[path_index].one_fraction;
  const float zero_fraction = path[path_index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  float total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = next_one_portion * static_cast<float>(depth + 1) /
                        static_cast<float>((i + 1) * one_fraction);
      total += tmp;
      next_one_portion =
          path[i].pweight -
          tmp * zero_fraction * (static_cast<float>(depth - i) / static_cast<float>(depth + 1));
    } else if (zero_fraction != 0) {
      total += (path[i].pweight / zero_fraction) /
               (static_cast<float>(depth - i) / static_cast<float>(depth + 1));
    }
  }
  return total;
}

}  // namespace

void TreeEnsemble::TreeShap(const float* row, float* phi, uint32_t node_index,
                            unsigned unique_depth, PathElement* parent_path,
                            float parent_zero_fraction, float parent_one_fraction,
                            int parent_feature) const {
  const Node& node = parts_.nodes[node_index];
  // This node's copy of the path, after the parent's in the table.
  PathElement* path = parent_path + unique_depth + 1;
  std::copy(parent_path, parent_path + unique_depth + 1, path);
  ExtendPath(path, unique_depth, parent_zero_fraction, parent_one_fraction, parent_feature);

  if ((node.feature & kSplit) == 0) {
    for (unsigned i = 1; i <= unique_depth; ++i) {
      const float w = UnwoundPathSum(path, unique_depth, i);
      const PathElement& el = path[i];
      phi[el.feature_index] += w * (el.one_fraction - el.zero_fraction) * node.value * 1.0f;
    }
    return;
  }
  const uint32_t split_index = node.feature & kFeatureMask;
  const uint32_t hot = node.left + static_cast<uint32_t>(GoesRight(node, row[split_index]));
  const uint32_t cold = hot == node.left ? node.left + 1 : node.left;
  const float w = parts_.covers[node_index];
  const float hot_zero_fraction = parts_.covers[hot] / w;
  const float cold_zero_fraction = parts_.covers[cold] / w;
  float incoming_zero_fraction = 1;
  float incoming_one_fraction = 1;

  // A feature split on again: undo its earlier extension and redo it here.
  unsigned path_index = 0;
  for (; path_index <= unique_depth; ++path_index) {
    if (static_cast<unsigned>(path[path_index].feature_index) == split_index) break;
  }
  if (path_index != unique_depth + 1) {
    incoming_zero_fraction = path[path_index].zero_fraction;
    incoming_one_fraction = path[path_index].one_fraction;
    UnwindPath(path, unique_depth, path_index);
    unique_depth -= 1;
  }
  TreeShap(row, phi, hot, unique_depth + 1, path, hot_zero_fraction * incoming_zero_fraction,
           incoming_one_fraction, static_cast<int>(split_index));
  TreeShap(row, phi, cold, unique_depth + 1, path, cold_zero_fraction * incoming_zero_fraction, 0,
           static_cast<int>(split_index));
}

void TreeEnsemble::PredictContributions(std::span<const float> rows, size_t num_rows,
                                        std::span<float> out) const {
  const auto num_features = static_cast<size_t>(parts_.num_features);
  const size_t columns = num_features + 1;
  const auto groups = static_cast<size_t>(parts_.num_groups);
  std::fill(out.begin(), out.end(), 0.0f);
  std::vector<float> tree_contribs(columns);
  std::vector<PathElement> path_table;
  for (size_t r = 0; r < num_rows; ++r) {
    const float* row = rows.data() + r * num_features;
    for (size_t g = 0; g < groups; ++g) {
      float* contribs = out.data() + (r * groups + g) * columns;
      for (size_t t = 0; t < parts_.roots.size(); ++t) {
        if (parts_.groups[t] != g) continue;
        std::fill(tree_contribs.begin(), tree_contribs.end(), 0.0f);
        const uint32_t root = parts_.roots[t];
        tree_contribs[num_features] += mean_values_[root];
        const size_t max_depth = depths_[t] + 2;
        path_table.assign(max_depth * (max_depth + 1) / 2, PathElement{});
        TreeShap(row, tree_contribs.data(), root, 0, path_table.data(), 1, 1, -1);
        const float weight = parts_.weights.empty() ? 1.0f : parts_.weights[t];
        for (size_t c = 0; c < columns; ++c) contribs[c] += tree_contribs[c] * weight;
      }
      contribs[num_features] += parts_.base_margin[g];
    }
  }
}

}  // namespace cairn::trees
