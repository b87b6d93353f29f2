#include "offline/table.h"

#include "core/huge_pages.h"

namespace cairn::offline {

std::string_view SqlTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return "BOOLEAN";
    case ColumnType::kInt32:
      return "INTEGER";
    case ColumnType::kInt64:
      return "BIGINT";
    case ColumnType::kFloat:
      return "FLOAT";
    case ColumnType::kDouble:
      return "DOUBLE";
    case ColumnType::kString:
      return "VARCHAR";
    case ColumnType::kBytes:
      return "BLOB";
    case ColumnType::kTimestamp:
      return "TIMESTAMPTZ";
  }
  return "VARCHAR";
}

bool IsIntegerStorage(ColumnType type) {
  return type == ColumnType::kBool || type == ColumnType::kInt32 || type == ColumnType::kInt64 ||
         type == ColumnType::kTimestamp;
}
bool IsDoubleStorage(ColumnType type) {
  return type == ColumnType::kFloat || type == ColumnType::kDouble;
}
bool IsStringStorage(ColumnType type) {
  return type == ColumnType::kString || type == ColumnType::kBytes;
}

void Column::Reserve(size_t rows) {
  if (IsIntegerStorage(type_)) ReserveHuge(ints_, rows);
  if (IsDoubleStorage(type_)) ReserveHuge(doubles_, rows);
  if (IsStringStorage(type_)) ReserveHuge(offsets_, rows + 1);
}

void Column::ReserveCharsFor(size_t rows) {
  if (!IsStringStorage(type_) || size_ == 0 || rows <= size_) return;
  size_t per_row = chars_.size() / size_ + 1;
  ReserveHuge(chars_, per_row * rows + per_row * rows / 8);
}

void Column::MarkValid() {
  if (!valid_.empty()) valid_.push_back(1);
}

void Column::AppendNull() {
  if (valid_.empty()) valid_.assign(size_, 1);
  valid_.push_back(0);
  if (IsIntegerStorage(type_)) ints_.push_back(0);
  if (IsDoubleStorage(type_)) doubles_.push_back(0);
  if (IsStringStorage(type_)) offsets_.push_back(chars_.size());
  ++size_;
}

void Column::AppendInt(int64_t v) {
  MarkValid();
  ints_.push_back(v);
  ++size_;
}

void Column::AppendDouble(double v) {
  MarkValid();
  doubles_.push_back(v);
  ++size_;
}

void Column::AppendString(std::string_view v) {
  MarkValid();
  chars_.append(v);
  offsets_.push_back(chars_.size());
  ++size_;
}

const Column* Table::Find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

}  // namespace cairn::offline
