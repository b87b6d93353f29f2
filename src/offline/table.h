// Table: a columnar, in-memory result of the offline engine, and the input the
// feature store's own kernels (point-in-time join, statistics) work on.
//
// Values are widened on purpose so kernels handle few cases: every integer
// type, BOOLEAN and timestamps live in `ints` (timestamps as microseconds
// since the Unix epoch, UTC), FLOAT and DOUBLE in `doubles`, VARCHAR and BLOB
// as one character buffer with offsets. `type` keeps what the column is, so
// a table written back out has the types it came in with.
//
// Thread-safety: none; a Table is a value. Concurrent readers are fine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::offline {

enum class ColumnType { kBool, kInt32, kInt64, kFloat, kDouble, kString, kBytes, kTimestamp };

// "BOOLEAN", "INTEGER", ... : the DuckDB type a column is written back as.
std::string_view SqlTypeName(ColumnType type);

bool IsIntegerStorage(ColumnType type);  // kBool, kInt32, kInt64, kTimestamp
bool IsDoubleStorage(ColumnType type);   // kFloat, kDouble
bool IsStringStorage(ColumnType type);   // kString, kBytes

class Column {
 public:
  Column(std::string name, ColumnType type) : name_(std::move(name)), type_(type) {
    if (IsStringStorage(type_)) offsets_.push_back(0);
  }

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  ColumnType type() const { return type_; }
  size_t size() const { return size_; }

  // A null reads as 0, 0.0 or "".
  bool IsValid(size_t row) const { return valid_.empty() || valid_[row] != 0; }
  bool HasNulls() const { return !valid_.empty(); }
  int64_t Int(size_t row) const { return ints_[row]; }
  double Double(size_t row) const { return doubles_[row]; }
  std::string_view String(size_t row) const {
    return std::string_view(chars_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
  }
  const std::vector<int64_t>& ints() const { return ints_; }
  const std::vector<double>& doubles() const { return doubles_; }

  void Reserve(size_t rows);
  // For a string column: makes room for `rows` values as long, on average,
  // as those it holds (growing a 30 MB buffer by doubling copies and faults
  // in twice its size).
  void ReserveCharsFor(size_t rows);
  void AppendNull();
  void AppendInt(int64_t v);
  void AppendDouble(double v);
  void AppendString(std::string_view v);

 private:
  void MarkValid();

  std::string name_;
  ColumnType type_;
  size_t size_ = 0;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<uint64_t> offsets_;  // strings: size_ + 1 entries
  std::string chars_;
  std::vector<uint8_t> valid_;  // empty while every value is valid
};

struct Table {
  std::vector<Column> columns;
  size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
  // nullptr when there is no column of that name (exact match).
  const Column* Find(std::string_view name) const;
};

}  // namespace cairn::offline
