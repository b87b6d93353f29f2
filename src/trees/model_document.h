// A parsed model file, JSON or UBJSON (Universal Binary JSON, which XGBoost
// writes for `.ubj`): one tree of values with the same shape for both, so a
// model reader is written once.
//
// Numbers keep both their float and double readings, each rounded once from
// the source (a JSON decimal goes straight to float, never through double),
// because tree files store float32 thresholds and leaf values that must come
// back bit-identical. Arrays holding only numbers are stored flat.
//
// Parsing is bounded: nesting deeper than kMaxModelDepth and counts larger
// than the bytes left are refused, so a hostile file costs at most memory
// proportional to its size. Values are immutable after parsing; concurrent
// readers are safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace cairn::trees {

inline constexpr int kMaxModelDepth = 64;

struct ModelNumber {
  double as_double = 0;
  float as_float = 0;
};

class ModelValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kNumberArray, kObject };

  Kind kind() const { return kind_; }
  bool IsObject() const { return kind_ == Kind::kObject; }

  // The member named `key` of an object, or nullptr (also when not an object).
  const ModelValue* Find(std::string_view key) const;
  const std::vector<std::pair<std::string, ModelValue>>& members() const { return members_; }
  // Elements of an array that is not all numbers.
  const std::vector<ModelValue>& items() const { return items_; }
  // Elements of an all-number array (also an empty array).
  const std::vector<ModelNumber>& numbers() const { return numbers_; }
  const ModelNumber& number() const { return number_; }
  const std::string& text() const { return text_; }
  bool boolean() const { return boolean_; }

  static ModelValue Null() { return ModelValue(Kind::kNull); }
  static ModelValue Bool(bool b);
  static ModelValue Number(ModelNumber n);
  static ModelValue String(std::string s);
  static ModelValue Object() { return ModelValue(Kind::kObject); }
  // An empty array; it stays a number array until a non-number is appended.
  static ModelValue Array() { return ModelValue(Kind::kNumberArray); }

  // REQUIRES: kind() is kArray or kNumberArray.
  void Append(ModelValue v);
  void AppendNumber(ModelNumber n);
  // REQUIRES: IsObject().
  void AddMember(std::string key, ModelValue v) {
    members_.emplace_back(std::move(key), std::move(v));
  }

 private:
  explicit ModelValue(Kind kind) : kind_(kind) {}

  Kind kind_;
  bool boolean_ = false;
  ModelNumber number_;
  std::string text_;
  std::vector<ModelValue> items_;
  std::vector<ModelNumber> numbers_;
  std::vector<std::pair<std::string, ModelValue>> members_;
};

// Parses JSON text. InvalidArgument names the byte offset and what was wrong.
StatusOr<ModelValue> ParseJsonModel(std::string_view text);

// Parses UBJSON (draft 12, with the optimized `$type#count` containers
// XGBoost writes). InvalidArgument names the byte offset and what was wrong.
StatusOr<ModelValue> ParseUbjsonModel(std::string_view bytes);

}  // namespace cairn::trees
