// A tree ensemble compiled for fast prediction: the native evaluator behind
// served XGBoost models.
//
// Nodes of all trees sit in one array, 12 bytes each, with every node's two
// children side by side (right = left + 1), so a step down a tree is one
// comparison and one add, and a whole 100-tree model of depth 6 stays in L2.
// Leaves point to themselves, so a tree can be walked a fixed number of steps
// (its depth) without a data-dependent branch; batches walk 8 rows at once
// through each tree, so 8 independent chains of loads overlap.
// Arithmetic follows XGBoost's CPU predictor exactly: a float sum starting at
// the base margin, trees added in order, dart trees scaled by their weight, the
// same comparisons for numeric, missing (NaN) and categorical values, so
// margins are bit-identical to XGBoost's.
//
// Immutable after construction; Predict may run on any number of threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cairn {
class ThreadPool;
}

namespace cairn::trees {

// How margins become predictions (XGBoost's objective families).
enum class OutputTransform {
  kIdentity,  // reg:squarederror and the other regressions, binary:logitraw, rank:*
  kSigmoid,   // binary:logistic, reg:logistic
  kExp,       // count:poisson, reg:gamma, reg:tweedie, survival:cox
  kHinge,     // binary:hinge: 1 when the margin is positive, else 0
  kSoftmax,   // multi:softprob: probabilities per class
  kArgmax,    // multi:softmax: the class index, as a float
};

class TreeEnsemble {
 public:
  // One node. A reader builds leaves with left == 0 (no node has the root as
  // a child); the constructor turns them into self-loops.
  struct Node {
    float value;       // split threshold, or the leaf's value
    uint32_t feature;  // feature index | kDefaultLeft | kCategorical | kSplit
    uint32_t left;     // index of the left child in nodes(); the right child is left + 1
  };
  static constexpr uint32_t kDefaultLeft = 1u << 31;
  static constexpr uint32_t kCategorical = 1u << 30;
  static constexpr uint32_t kSplit = 1u << 29;  // set by the constructor on every non-leaf
  static constexpr uint32_t kFeatureMask = kSplit - 1;

  // What a reader hands over to build an ensemble.
  struct Parts {
    int num_features = 0;
    int num_groups = 1;              // outputs per row: classes, targets, or 1
    std::vector<float> base_margin;  // per group, already in margin space
    OutputTransform transform = OutputTransform::kIdentity;
    std::vector<Node> nodes;
    std::vector<uint32_t> roots;          // first node of each tree
    std::vector<uint32_t> groups;         // output group of each tree
    std::vector<float> weights;           // per tree (dart); empty = all 1
    std::vector<uint32_t> category_bits;  // bit sets of categorical splits
    // For a categorical node, `value` holds (as bits) an index into
    // category_sets: {first word in category_bits, word count}.
    std::vector<std::pair<uint32_t, uint32_t>> category_sets;
    std::vector<std::string> feature_names;  // may be empty
    std::string objective;                   // as the model file names it
    // Per node, its training cover (XGBoost's sum_hessian): what TreeSHAP
    // weighs paths by. Empty when the file has none (no explanations).
    std::vector<float> covers;
  };

  explicit TreeEnsemble(Parts parts);

  int num_features() const { return parts_.num_features; }
  int num_groups() const { return parts_.num_groups; }
  size_t num_trees() const { return parts_.roots.size(); }
  size_t num_nodes() const { return parts_.nodes.size(); }
  OutputTransform transform() const { return parts_.transform; }
  int OutputsPerRow() const {
    return parts_.transform == OutputTransform::kArgmax ? 1 : parts_.num_groups;
  }
  const std::string& objective() const { return parts_.objective; }
  const std::vector<std::string>& feature_names() const { return parts_.feature_names; }
  // Bytes held by the compiled model (what a memory budget counts).
  size_t MemoryBytes() const;

  // Margins for `rows` (row-major, num_rows x num_features(), NaN = missing)
  // into `margins` (num_rows x num_groups()).
  // REQUIRES: rows.size() == num_rows * num_features(), margins.size() == num_rows * num_groups().
  void PredictMargins(std::span<const float> rows, size_t num_rows, std::span<float> margins) const;

  // As above, with batches of at least kParallelRows rows split across the
  // calling thread and `pool`'s threads (as XGBoost spreads a batch over its
  // threads); smaller batches, or a null pool, run on the calling thread.
  // Blocks until every part is done. Results are the same either way.
  static constexpr size_t kParallelRows = 256;
  void PredictMargins(std::span<const float> rows, size_t num_rows, std::span<float> margins,
                      ThreadPool* pool) const;

  // Whether PredictContributions can run (the model file had covers, and no
  // tree is deeper than kMaxExplainDepth).
  bool can_explain() const { return !mean_values_.empty(); }
  static constexpr uint32_t kMaxExplainDepth = 512;
  struct PathElement;  // TreeSHAP's path entry (tree_shap.cc)

  // Per-feature contributions to each row's margin (TreeSHAP), as XGBoost's
  // predict(pred_contribs=True) computes them, in float and in its order of
  // operations: for each row and group, num_features() values and then the
  // bias (the trees' expected values plus the base margin); a row's
  // contributions sum to its margin. Into `out` (num_rows x num_groups() x
  // (num_features() + 1)). REQUIRES: can_explain(); sizes as said.
  void PredictContributions(std::span<const float> rows, size_t num_rows,
                            std::span<float> out) const;

  // Margins turned into predictions in place, as XGBoost's objective does.
  // kArgmax leaves one value per row, in the first margins.size() / num_groups()
  // entries (OutputsPerRow() says how many a row has after Transform).
  // REQUIRES: margins.size() is a multiple of num_groups().
  void Transform(std::span<float> margins) const;

 private:
  float TreeValue(uint32_t root, const float* row) const;
  void TreeShap(const float* row, float* phi, uint32_t node, unsigned unique_depth,
                PathElement* parent_path, float parent_zero_fraction, float parent_one_fraction,
                int parent_feature) const;
  bool GoesRight(const Node& node, float x) const;
  void PredictNumericBlock(const float* rows, size_t num_rows, float* margins) const;
  template <bool kMayBeMissing>
  void PredictNumericBlockImpl(const float* rows, size_t num_rows, float* margins) const;

  Parts parts_;
  std::vector<uint32_t> depths_;    // steps from each tree's root to its deepest leaf
  std::vector<float> mean_values_;  // per node, its subtree's expected value (TreeSHAP)
  bool has_categorical_ = false;
};

}  // namespace cairn::trees
