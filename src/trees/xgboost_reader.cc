#include "trees/xgboost_reader.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "trees/model_document.h"

namespace cairn::trees {

namespace {

// Category bit sets may use at most this many words per byte of model file,
// so a file naming huge category values cannot claim memory it did not pay for.
constexpr size_t kCategoryWordsPerByte = 16;
constexpr size_t kMinCategoryWords = size_t{1} << 20;
constexpr int64_t kMaxCategory = 1 << 24;  // as XGBoost: larger values never match

std::string Field(const std::string& path, std::string_view name) {
  return path + "." + std::string(name);
}

Status Invalid(const std::string& field, const std::string& what) {
  return InvalidArgument("XGBoost model: " + field + ": " + what);
}

StatusOr<const ModelValue*> Member(const ModelValue& object, std::string_view key,
                                   const std::string& path) {
  const ModelValue* v = object.Find(key);
  if (v == nullptr) return Invalid(Field(path, key), "missing");
  return v;
}

StatusOr<const ModelValue*> ObjectMember(const ModelValue& object, std::string_view key,
                                         const std::string& path) {
  ASSIGN_OR_RETURN(const ModelValue* v, Member(object, key, path));
  if (!v->IsObject()) return Invalid(Field(path, key), "expected an object");
  return v;
}

// XGBoost writes most parameters as strings ("5E-1", "3"); accept numbers too.
StatusOr<float> FloatParam(const ModelValue& v, const std::string& field) {
  if (v.kind() == ModelValue::Kind::kNumber) return v.number().as_float;
  if (v.kind() != ModelValue::Kind::kString)
    return Invalid(field, "expected a number or a numeric string");
  const std::string& s = v.text();
  float f = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
  if (ec != std::errc() || p != s.data() + s.size())
    return Invalid(field, "'" + s + "' is not a number");
  return f;
}

StatusOr<int64_t> IntParam(const ModelValue& v, const std::string& field) {
  if (v.kind() == ModelValue::Kind::kNumber) {
    double d = v.number().as_double;
    if (d != std::floor(d) || std::abs(d) > 1e15) return Invalid(field, "expected an integer");
    return static_cast<int64_t>(d);
  }
  if (v.kind() != ModelValue::Kind::kString)
    return Invalid(field, "expected an integer or an integer string");
  const std::string& s = v.text();
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec != std::errc() || p != s.data() + s.size())
    return Invalid(field, "'" + s + "' is not an integer");
  return i;
}

StatusOr<int64_t> OptionalIntParam(const ModelValue& object, std::string_view key,
                                   const std::string& path, int64_t fallback) {
  const ModelValue* v = object.Find(key);
  if (v == nullptr) return fallback;
  return IntParam(*v, Field(path, key));
}

// base_score: "5E-1" (XGBoost 1.x, 2.x), "[5E-1]" or "[5E-1,2E-1]" (3.1, one
// per target), or a JSON array.
StatusOr<std::vector<float>> BaseScores(const ModelValue& v, const std::string& field) {
  std::vector<float> out;
  if (v.kind() == ModelValue::Kind::kNumberArray) {
    for (const ModelNumber& n : v.numbers()) out.push_back(n.as_float);
  } else if (v.kind() == ModelValue::Kind::kString && !v.text().empty() &&
             v.text().front() == '[') {
    const std::string& s = v.text();
    if (s.back() != ']') return Invalid(field, "'" + s + "' is not a list of numbers");
    std::string_view body(s.data() + 1, s.size() - 2);
    while (!body.empty()) {
      size_t comma = body.find(',');
      std::string_view item = body.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      float f = 0;
      auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), f);
      if (ec != std::errc() || p != item.data() + item.size()) {
        return Invalid(field, "'" + s + "' is not a list of numbers");
      }
      out.push_back(f);
      if (comma == std::string_view::npos) break;
      body.remove_prefix(comma + 1);
    }
  } else {
    ASSIGN_OR_RETURN(float f, FloatParam(v, field));
    out.push_back(f);
  }
  if (out.empty()) return Invalid(field, "no value");
  return out;
}

StatusOr<const std::vector<ModelNumber>*> Numbers(const ModelValue& tree, std::string_view key,
                                                  const std::string& path, size_t expected) {
  ASSIGN_OR_RETURN(const ModelValue* v, Member(tree, key, path));
  if (v->kind() != ModelValue::Kind::kNumberArray)
    return Invalid(Field(path, key), "expected an array of numbers");
  if (expected != SIZE_MAX && v->numbers().size() != expected) {
    return Invalid(Field(path, key), std::to_string(v->numbers().size()) +
                                         " entries, num_nodes is " + std::to_string(expected));
  }
  return &v->numbers();
}

struct ObjectiveInfo {
  OutputTransform transform;
  enum class BaseScore { kIdentity, kLogit, kLog } base_score;
};

StatusOr<ObjectiveInfo> Objective(const std::string& name, const std::string& field) {
  using B = ObjectiveInfo::BaseScore;
  if (name == "binary:logistic" || name == "reg:logistic")
    return ObjectiveInfo{OutputTransform::kSigmoid, B::kLogit};
  if (name == "binary:logitraw") return ObjectiveInfo{OutputTransform::kIdentity, B::kIdentity};
  if (name == "binary:hinge") return ObjectiveInfo{OutputTransform::kHinge, B::kIdentity};
  if (name == "multi:softprob") return ObjectiveInfo{OutputTransform::kSoftmax, B::kIdentity};
  if (name == "multi:softmax") return ObjectiveInfo{OutputTransform::kArgmax, B::kIdentity};
  if (name == "count:poisson" || name == "reg:gamma" || name == "reg:tweedie" ||
      name == "survival:cox" || name == "survival:aft") {
    return ObjectiveInfo{OutputTransform::kExp, B::kLog};
  }
  if (name == "reg:squarederror" || name == "reg:linear" || name == "reg:squaredlogerror" ||
      name == "reg:pseudohubererror" || name == "reg:absoluteerror" ||
      name == "reg:quantileerror" || name.starts_with("rank:")) {
    return ObjectiveInfo{OutputTransform::kIdentity, B::kIdentity};
  }
  return Invalid(
      field,
      "objective '" + name +
          "' is not one the native evaluator knows (regression, binary, multi, count, survival, "
          "rank); serve it with the XGBoost engine");
}

StatusOr<float> BaseMargin(float base_score, ObjectiveInfo::BaseScore kind,
                           const std::string& field) {
  switch (kind) {
    case ObjectiveInfo::BaseScore::kIdentity:
      return base_score;
    case ObjectiveInfo::BaseScore::kLogit:
      if (!(base_score > 0.0f && base_score < 1.0f)) {
        return Invalid(
            field, "must be in (0, 1) for a logistic objective, is " + std::to_string(base_score));
      }
      return -std::log(1.0f / base_score - 1.0f);
    case ObjectiveInfo::BaseScore::kLog:
      if (!(base_score > 0.0f)) {
        return Invalid(
            field, "must be positive for a log-link objective, is " + std::to_string(base_score));
      }
      return std::log(base_score);
  }
  return base_score;
}

class EnsembleBuilder {
 public:
  EnsembleBuilder(TreeEnsemble::Parts* parts, size_t input_bytes)
      : parts_(parts),
        max_category_words_(std::max(kMinCategoryWords, input_bytes * kCategoryWordsPerByte)) {}

  Status AddTree(const ModelValue& tree, const std::string& path) {
    if (!tree.IsObject()) return Invalid(path, "expected an object");
    ASSIGN_OR_RETURN(const ModelValue* param, ObjectMember(tree, "tree_param", path));
    const std::string param_path = Field(path, "tree_param");
    ASSIGN_OR_RETURN(const ModelValue* num_nodes_v, Member(*param, "num_nodes", param_path));
    ASSIGN_OR_RETURN(int64_t num_nodes, IntParam(*num_nodes_v, Field(param_path, "num_nodes")));
    ASSIGN_OR_RETURN(int64_t leaf_vector,
                     OptionalIntParam(*param, "size_leaf_vector", param_path, 0));
    if (leaf_vector > 1) {
      return Unimplemented("XGBoost model: " + path +
                           " has vector leaves (multi_strategy=multi_output_tree); serve it with "
                           "the XGBoost engine");
    }
    if (num_nodes < 1 || num_nodes > int64_t{1} << 30) {
      return Invalid(Field(param_path, "num_nodes"),
                     "must be between 1 and 2^30, is " + std::to_string(num_nodes));
    }
    const auto n = static_cast<size_t>(num_nodes);
    ASSIGN_OR_RETURN(const auto* left, Numbers(tree, "left_children", path, n));
    ASSIGN_OR_RETURN(const auto* right, Numbers(tree, "right_children", path, n));
    ASSIGN_OR_RETURN(const auto* split_index, Numbers(tree, "split_indices", path, n));
    ASSIGN_OR_RETURN(const auto* condition, Numbers(tree, "split_conditions", path, n));
    ASSIGN_OR_RETURN(const auto* default_left, Numbers(tree, "default_left", path, n));
    const std::vector<ModelNumber>* split_type = nullptr;
    if (tree.Find("split_type") != nullptr) {
      ASSIGN_OR_RETURN(split_type, Numbers(tree, "split_type", path, n));
    }
    // Covers are optional (TreeSHAP needs them; prediction does not).
    const std::vector<ModelNumber>* covers = nullptr;
    if (tree.Find("sum_hessian") != nullptr) {
      ASSIGN_OR_RETURN(covers, Numbers(tree, "sum_hessian", path, n));
    } else {
      covers_complete_ = false;
    }
    std::vector<int32_t> category_set_of(n, -1);
    RETURN_IF_ERROR(ReadCategories(tree, path, n, split_type, &category_set_of));

    // Breadth-first from the root, children placed side by side. A node seen
    // twice means the links do not form a tree.
    std::vector<bool> seen(n, false);
    std::vector<std::pair<size_t, uint32_t>> queue;  // (node id in the file, position in nodes)
    const auto root = static_cast<uint32_t>(parts_->nodes.size());
    parts_->roots.push_back(root);
    parts_->nodes.push_back({});
    queue.emplace_back(0, root);
    seen[0] = true;
    for (size_t q = 0; q < queue.size(); ++q) {
      auto [id, pos] = queue[q];
      const double l = (*left)[id].as_double;
      const double r = (*right)[id].as_double;
      if (l == -1) {
        if (r != -1)
          return Invalid(Field(path, "right_children"),
                         "node " + std::to_string(id) + " has one child");
        parts_->nodes[pos] = {(*condition)[id].as_float, 0, 0};
        continue;
      }
      for (double child : {l, r}) {
        if (!(child >= 1 && child < static_cast<double>(n)) || child != std::floor(child) ||
            seen[static_cast<size_t>(child)]) {
          return Invalid(Field(path, child == l ? "left_children" : "right_children"),
                         "node " + std::to_string(id) + " links to " +
                             std::to_string(static_cast<int64_t>(child)) +
                             ", which is not a fresh node of this tree");
        }
        seen[static_cast<size_t>(child)] = true;
      }
      const double feature = (*split_index)[id].as_double;
      if (!(feature >= 0 && feature < parts_->num_features) || feature != std::floor(feature)) {
        return Invalid(Field(path, "split_indices"),
                       "node " + std::to_string(id) + " splits on feature " +
                           std::to_string(feature) + ", num_feature is " +
                           std::to_string(parts_->num_features));
      }
      if (parts_->nodes.size() + 2 > (size_t{1} << 32) - 1) return Invalid(path, "too many nodes");
      const auto left_pos = static_cast<uint32_t>(parts_->nodes.size());
      parts_->nodes.push_back({});
      parts_->nodes.push_back({});
      TreeEnsemble::Node node{(*condition)[id].as_float, static_cast<uint32_t>(feature), left_pos};
      if ((*default_left)[id].as_double != 0) node.feature |= TreeEnsemble::kDefaultLeft;
      if (category_set_of[id] >= 0) {
        node.feature |= TreeEnsemble::kCategorical;
        node.value = std::bit_cast<float>(static_cast<uint32_t>(category_set_of[id]));
      }
      parts_->nodes[pos] = node;
      queue.emplace_back(static_cast<size_t>(l), left_pos);
      queue.emplace_back(static_cast<size_t>(r), left_pos + 1);
    }
    parts_->covers.resize(parts_->nodes.size());
    if (covers != nullptr) {
      for (const auto& [id, pos] : queue) parts_->covers[pos] = (*covers)[id].as_float;
    }
    return Status::Ok();
  }

  // Every tree had covers (else explanations are not offered).
  bool covers_complete() const { return covers_complete_; }

 private:
  // Categorical splits: categories_nodes[k] has the categories
  // categories[segments[k] .. segments[k] + sizes[k]), which go right.
  Status ReadCategories(const ModelValue& tree, const std::string& path, size_t n,
                        const std::vector<ModelNumber>* split_type, std::vector<int32_t>* set_of) {
    if (tree.Find("categories_nodes") == nullptr) return Status::Ok();
    ASSIGN_OR_RETURN(const auto* nodes, Numbers(tree, "categories_nodes", path, SIZE_MAX));
    if (nodes->empty()) return Status::Ok();
    ASSIGN_OR_RETURN(const auto* segments,
                     Numbers(tree, "categories_segments", path, nodes->size()));
    ASSIGN_OR_RETURN(const auto* sizes, Numbers(tree, "categories_sizes", path, nodes->size()));
    ASSIGN_OR_RETURN(const auto* categories, Numbers(tree, "categories", path, SIZE_MAX));
    for (size_t k = 0; k < nodes->size(); ++k) {
      const double node = (*nodes)[k].as_double;
      const double begin = (*segments)[k].as_double;
      const double count = (*sizes)[k].as_double;
      if (!(node >= 0 && node < static_cast<double>(n)) || node != std::floor(node)) {
        return Invalid(Field(path, "categories_nodes"),
                       "entry " + std::to_string(k) + " is not a node of this tree");
      }
      if (!(begin >= 0 && count >= 0 && begin + count <= static_cast<double>(categories->size()))) {
        return Invalid(Field(path, "categories_segments"),
                       "entry " + std::to_string(k) + " reaches past the " +
                           std::to_string(categories->size()) + " categories");
      }
      if (split_type != nullptr && (*split_type)[static_cast<size_t>(node)].as_double != 1) {
        return Invalid(Field(path, "split_type"),
                       "node " + std::to_string(static_cast<int64_t>(node)) +
                           " has categories but is not a categorical split");
      }
      int64_t max_category = -1;
      for (size_t c = static_cast<size_t>(begin); c < static_cast<size_t>(begin + count); ++c) {
        const double v = (*categories)[c].as_double;
        if (v >= 0 && v < kMaxCategory)
          max_category = std::max(max_category, static_cast<int64_t>(v));
      }
      const size_t words = max_category < 0 ? 0 : static_cast<size_t>(max_category) / 32 + 1;
      if (parts_->category_bits.size() + words > max_category_words_) {
        return Invalid(Field(path, "categories"),
                       "category values too large for the size of the model file");
      }
      const auto first = static_cast<uint32_t>(parts_->category_bits.size());
      parts_->category_bits.resize(parts_->category_bits.size() + words, 0);
      for (size_t c = static_cast<size_t>(begin); c < static_cast<size_t>(begin + count); ++c) {
        const double v = (*categories)[c].as_double;
        if (!(v >= 0 && v < kMaxCategory)) continue;
        const auto category = static_cast<uint32_t>(v);
        parts_->category_bits[first + category / 32] |= 1u << (category % 32);
      }
      (*set_of)[static_cast<size_t>(node)] = static_cast<int32_t>(parts_->category_sets.size());
      parts_->category_sets.emplace_back(first, static_cast<uint32_t>(words));
    }
    return Status::Ok();
  }

  TreeEnsemble::Parts* parts_;
  size_t max_category_words_;
  bool covers_complete_ = true;
};

}  // namespace

ModelFileFormat DetectXGBoostFormat(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size() &&
         (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t'))
    ++i;
  if (i < bytes.size() && bytes[i] == '{') {
    size_t j = i + 1;
    while (j < bytes.size() &&
           (bytes[j] == ' ' || bytes[j] == '\n' || bytes[j] == '\r' || bytes[j] == '\t'))
      ++j;
    if (j < bytes.size() && (bytes[j] == '"' || bytes[j] == '}')) return ModelFileFormat::kJson;
    if (i == 0) return ModelFileFormat::kUbjson;
  }
  return ModelFileFormat::kLegacyBinary;
}

StatusOr<TreeEnsemble> ReadXGBoostModel(std::string_view bytes) {
  StatusOr<ModelValue> parsed = InvalidArgument("unreachable");
  switch (DetectXGBoostFormat(bytes)) {
    case ModelFileFormat::kJson:
      parsed = ParseJsonModel(bytes);
      break;
    case ModelFileFormat::kUbjson:
      parsed = ParseUbjsonModel(bytes);
      break;
    case ModelFileFormat::kLegacyBinary:
      return Unimplemented(
          "XGBoost model: the legacy binary format is read through the XGBoost library, not the "
          "native "
          "evaluator (xgboost::ConvertToJson); or re-save the model as .json or .ubj");
  }
  if (!parsed.ok()) return parsed.status();
  const ModelValue& root = *parsed;
  if (!root.IsObject()) return Invalid("(document)", "expected an object");
  ASSIGN_OR_RETURN(const ModelValue* learner, ObjectMember(root, "learner", ""));
  const std::string lp = "learner";

  TreeEnsemble::Parts parts;
  ASSIGN_OR_RETURN(const ModelValue* mparam, ObjectMember(*learner, "learner_model_param", lp));
  const std::string mp = Field(lp, "learner_model_param");
  ASSIGN_OR_RETURN(const ModelValue* num_feature_v, Member(*mparam, "num_feature", mp));
  ASSIGN_OR_RETURN(int64_t num_feature, IntParam(*num_feature_v, Field(mp, "num_feature")));
  ASSIGN_OR_RETURN(int64_t num_class, OptionalIntParam(*mparam, "num_class", mp, 0));
  ASSIGN_OR_RETURN(int64_t num_target, OptionalIntParam(*mparam, "num_target", mp, 1));
  if (num_feature < 0 || num_feature > (int64_t{1} << 30) - 1) {
    return Invalid(Field(mp, "num_feature"),
                   "must be between 0 and 2^30 - 1, is " + std::to_string(num_feature));
  }
  if (num_class < 0 || num_class > 1'000'000 || num_target < 1 || num_target > 1'000'000) {
    return Invalid(mp, "num_class and num_target must be between 0 and 1,000,000");
  }
  parts.num_features = static_cast<int>(num_feature);
  parts.num_groups = static_cast<int>(num_class > 0 ? num_class : num_target);

  ASSIGN_OR_RETURN(const ModelValue* objective, ObjectMember(*learner, "objective", lp));
  ASSIGN_OR_RETURN(const ModelValue* objective_name,
                   Member(*objective, "name", Field(lp, "objective")));
  if (objective_name->kind() != ModelValue::Kind::kString) {
    return Invalid(Field(lp, "objective.name"), "expected a string");
  }
  parts.objective = objective_name->text();
  ASSIGN_OR_RETURN(ObjectiveInfo info, Objective(parts.objective, Field(lp, "objective.name")));
  parts.transform = info.transform;

  ASSIGN_OR_RETURN(const ModelValue* base_score_v, Member(*mparam, "base_score", mp));
  ASSIGN_OR_RETURN(std::vector<float> base_scores,
                   BaseScores(*base_score_v, Field(mp, "base_score")));
  if (base_scores.size() != 1 && base_scores.size() != static_cast<size_t>(parts.num_groups)) {
    return Invalid(Field(mp, "base_score"), std::to_string(base_scores.size()) + " values for " +
                                                std::to_string(parts.num_groups) + " outputs");
  }
  for (int g = 0; g < parts.num_groups; ++g) {
    float score = base_scores[base_scores.size() == 1 ? 0 : static_cast<size_t>(g)];
    ASSIGN_OR_RETURN(float margin, BaseMargin(score, info.base_score, Field(mp, "base_score")));
    parts.base_margin.push_back(margin);
  }

  if (const ModelValue* names = learner->Find("feature_names");
      names != nullptr && names->kind() == ModelValue::Kind::kArray) {
    for (const ModelValue& name : names->items()) parts.feature_names.push_back(name.text());
  }

  ASSIGN_OR_RETURN(const ModelValue* booster, ObjectMember(*learner, "gradient_booster", lp));
  const std::string bp = Field(lp, "gradient_booster");
  ASSIGN_OR_RETURN(const ModelValue* booster_name, Member(*booster, "name", bp));
  const ModelValue* model = nullptr;
  std::string model_path;
  if (booster_name->text() == "gbtree") {
    ASSIGN_OR_RETURN(model, ObjectMember(*booster, "model", bp));
    model_path = Field(bp, "model");
  } else if (booster_name->text() == "dart") {
    ASSIGN_OR_RETURN(const ModelValue* inner, ObjectMember(*booster, "gbtree", bp));
    ASSIGN_OR_RETURN(model, ObjectMember(*inner, "model", Field(bp, "gbtree")));
    model_path = Field(bp, "gbtree.model");
    ASSIGN_OR_RETURN(const auto* weights, Numbers(*booster, "weight_drop", bp, SIZE_MAX));
    for (const ModelNumber& w : *weights) parts.weights.push_back(w.as_float);
  } else {
    return Unimplemented(
        "XGBoost model: booster '" + booster_name->text() +
        "' is not a tree booster the native evaluator runs (gbtree, dart); serve it with the "
        "XGBoost engine");
  }

  ASSIGN_OR_RETURN(const ModelValue* trees, Member(*model, "trees", model_path));
  if (trees->kind() != ModelValue::Kind::kArray &&
      !(trees->kind() == ModelValue::Kind::kNumberArray && trees->numbers().empty())) {
    return Invalid(Field(model_path, "trees"), "expected an array of trees");
  }
  ASSIGN_OR_RETURN(const auto* tree_info,
                   Numbers(*model, "tree_info", model_path, trees->items().size()));
  if (!parts.weights.empty() && parts.weights.size() != trees->items().size()) {
    return Invalid(Field(bp, "weight_drop"), std::to_string(parts.weights.size()) +
                                                 " weights for " +
                                                 std::to_string(trees->items().size()) + " trees");
  }
  EnsembleBuilder builder(&parts, bytes.size());
  for (size_t t = 0; t < trees->items().size(); ++t) {
    const double group = (*tree_info)[t].as_double;
    if (!(group >= 0 && group < parts.num_groups) || group != std::floor(group)) {
      return Invalid(Field(model_path, "tree_info"),
                     "tree " + std::to_string(t) + " has output group " + std::to_string(group) +
                         ", the model has " + std::to_string(parts.num_groups));
    }
    parts.groups.push_back(static_cast<uint32_t>(group));
    RETURN_IF_ERROR(
        builder.AddTree(trees->items()[t], Field(model_path, "trees[" + std::to_string(t) + "]")));
  }
  if (!builder.covers_complete()) parts.covers.clear();
  return TreeEnsemble(std::move(parts));
}

}  // namespace cairn::trees
