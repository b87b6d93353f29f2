#include "offline/engine.h"

#include <duckdb.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>

namespace cairn::offline {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// Owns a duckdb_result.
class Result {
 public:
  Result() = default;
  ~Result() { duckdb_destroy_result(&result_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  duckdb_result* get() { return &result_; }

 private:
  duckdb_result result_{};
};

class Chunk {
 public:
  explicit Chunk(duckdb_data_chunk chunk) : chunk_(chunk) {}
  ~Chunk() {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  duckdb_data_chunk get() const { return chunk_; }

 private:
  duckdb_data_chunk chunk_;
};

std::string_view StringOf(duckdb_string_t& s) {
  return std::string_view(duckdb_string_t_data(&s), duckdb_string_t_length(s));
}

// The ColumnType a DuckDB type reads into; false when Table cannot hold it.
bool ColumnTypeOf(duckdb_type type, ColumnType* out) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
      *out = ColumnType::kBool;
      return true;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
      *out = ColumnType::kInt32;
      return true;
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
      *out = ColumnType::kInt64;
      return true;
    case DUCKDB_TYPE_FLOAT:
      *out = ColumnType::kFloat;
      return true;
    case DUCKDB_TYPE_DOUBLE:
      *out = ColumnType::kDouble;
      return true;
    case DUCKDB_TYPE_VARCHAR:
      *out = ColumnType::kString;
      return true;
    case DUCKDB_TYPE_BLOB:
      *out = ColumnType::kBytes;
      return true;
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      *out = ColumnType::kTimestamp;
      return true;
    default:
      return false;
  }
}

template <typename T>
void AppendInts(duckdb_vector vector, uint64_t* validity, idx_t rows, int64_t scale, Column* out) {
  const T* data = static_cast<const T*>(duckdb_vector_get_data(vector));
  for (idx_t i = 0; i < rows; ++i) {
    if (validity != nullptr && !duckdb_validity_row_is_valid(validity, i)) {
      out->AppendNull();
    } else {
      out->AppendInt(static_cast<int64_t>(data[i]) * scale);
    }
  }
}

template <typename T>
void AppendDoubles(duckdb_vector vector, uint64_t* validity, idx_t rows, Column* out) {
  const T* data = static_cast<const T*>(duckdb_vector_get_data(vector));
  for (idx_t i = 0; i < rows; ++i) {
    if (validity != nullptr && !duckdb_validity_row_is_valid(validity, i)) {
      out->AppendNull();
    } else {
      out->AppendDouble(static_cast<double>(data[i]));
    }
  }
}

void AppendVector(duckdb_type type, duckdb_vector vector, idx_t rows, Column* out) {
  uint64_t* validity = duckdb_vector_get_validity(vector);
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
      return AppendInts<bool>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_TINYINT:
      return AppendInts<int8_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_SMALLINT:
      return AppendInts<int16_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_INTEGER:
      return AppendInts<int32_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_UTINYINT:
      return AppendInts<uint8_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_USMALLINT:
      return AppendInts<uint16_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_UINTEGER:
      return AppendInts<uint32_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return AppendInts<int64_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_UBIGINT:
      return AppendInts<uint64_t>(vector, validity, rows, 1, out);
    case DUCKDB_TYPE_TIMESTAMP_S:
      return AppendInts<int64_t>(vector, validity, rows, 1'000'000, out);
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return AppendInts<int64_t>(vector, validity, rows, 1'000, out);
    case DUCKDB_TYPE_DATE:
      return AppendInts<int32_t>(vector, validity, rows, kMicrosPerDay, out);
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      const int64_t* data = static_cast<const int64_t*>(duckdb_vector_get_data(vector));
      for (idx_t i = 0; i < rows; ++i) {
        if (validity != nullptr && !duckdb_validity_row_is_valid(validity, i)) {
          out->AppendNull();
        } else {
          out->AppendInt(data[i] / 1000);
        }
      }
      return;
    }
    case DUCKDB_TYPE_FLOAT:
      return AppendDoubles<float>(vector, validity, rows, out);
    case DUCKDB_TYPE_DOUBLE:
      return AppendDoubles<double>(vector, validity, rows, out);
    default: {  // VARCHAR, BLOB
      auto* data = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
      for (idx_t i = 0; i < rows; ++i) {
        if (validity != nullptr && !duckdb_validity_row_is_valid(validity, i)) {
          out->AppendNull();
        } else {
          out->AppendString(StringOf(data[i]));
        }
      }
    }
  }
}

// cairn_column_<suffix>(): the function reading columns of this type.
std::string ColumnFunctionSuffix(ColumnType type) {
  std::string name(SqlTypeName(type));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

duckdb_type DuckTypeOf(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return DUCKDB_TYPE_BOOLEAN;
    case ColumnType::kInt32:
      return DUCKDB_TYPE_INTEGER;
    case ColumnType::kInt64:
      return DUCKDB_TYPE_BIGINT;
    case ColumnType::kFloat:
      return DUCKDB_TYPE_FLOAT;
    case ColumnType::kDouble:
      return DUCKDB_TYPE_DOUBLE;
    case ColumnType::kString:
      return DUCKDB_TYPE_VARCHAR;
    case ColumnType::kBytes:
      return DUCKDB_TYPE_BLOB;
    case ColumnType::kTimestamp:
      return DUCKDB_TYPE_TIMESTAMP_TZ;
  }
  return DUCKDB_TYPE_VARCHAR;
}

// Copies `count` rows of `column` into `vector`: value i is row source(i)
// of the column, null where source(i) is negative. `may_skip` says whether
// source can give a negative row.
template <typename Source>
void FillVector(const Column& column, Source source, bool may_skip, size_t count,
                duckdb_vector vector) {
  void* data = duckdb_vector_get_data(vector);
  if (column.HasNulls() || may_skip) {
    duckdb_vector_ensure_validity_writable(vector);
    uint64_t* validity = duckdb_vector_get_validity(vector);
    for (size_t i = 0; i < count; ++i) {
      int64_t r = source(i);
      duckdb_validity_set_row_validity(validity, i, r >= 0 && column.IsValid(r));
    }
  }
  // Rows that are null read index 0 of an empty column; use a safe stand-in.
  auto row = [&](size_t i) -> size_t {
    int64_t r = source(i);
    return r >= 0 ? static_cast<size_t>(r) : 0;
  };
  bool empty = column.size() == 0;
  if (empty) return;
  switch (column.type()) {
    case ColumnType::kBool:
      for (size_t i = 0; i < count; ++i) static_cast<bool*>(data)[i] = column.Int(row(i)) != 0;
      return;
    case ColumnType::kInt32:
      for (size_t i = 0; i < count; ++i) {
        static_cast<int32_t*>(data)[i] = static_cast<int32_t>(column.Int(row(i)));
      }
      return;
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      for (size_t i = 0; i < count; ++i) static_cast<int64_t*>(data)[i] = column.Int(row(i));
      return;
    case ColumnType::kFloat:
      for (size_t i = 0; i < count; ++i) {
        static_cast<float*>(data)[i] = static_cast<float>(column.Double(row(i)));
      }
      return;
    case ColumnType::kDouble:
      for (size_t i = 0; i < count; ++i) static_cast<double*>(data)[i] = column.Double(row(i));
      return;
    case ColumnType::kString:
    case ColumnType::kBytes:
      for (size_t i = 0; i < count; ++i) {
        int64_t r = source(i);
        if (r < 0 || !column.IsValid(r)) continue;
        std::string_view s = column.String(r);
        duckdb_vector_assign_string_element_len(vector, i, s.data(), s.size());
      }
      return;
  }
}

// Rows begin..begin+count of a virtual column: through its row map, if any.
void FillVirtual(const VirtualColumn& v, size_t begin, size_t count, duckdb_vector vector) {
  const Column& column = v.source->columns[v.column];
  if (v.rows == nullptr) {
    FillVector(
        column, [begin](size_t i) { return static_cast<int64_t>(begin + i); }, false, count,
        vector);
  } else {
    const int64_t* map = v.rows->data() + begin;
    FillVector(
        column, [map](size_t i) { return map[i]; }, true, count, vector);
  }
}

// The rows `rows[0..count)` of a virtual column (rows out of range read null).
void FillVirtualAt(const VirtualColumn& v, size_t size, const int64_t* rows, size_t count,
                   duckdb_vector vector) {
  const Column& column = v.source->columns[v.column];
  const int64_t* map = v.rows != nullptr ? v.rows->data() : nullptr;
  FillVector(
      column,
      [=](size_t i) -> int64_t {
        int64_t r = rows[i];
        if (r < 0 || static_cast<size_t>(r) >= size) return -1;
        return map != nullptr ? map[r] : r;
      },
      true, count, vector);
}

struct VirtualTable {
  std::vector<VirtualColumn> columns;
  size_t rows = 0;
};

// What a cairn_column_*() call reads: one column of a registered table. Holds
// its own reference, as the table scan's bind data does.
struct ColumnBinding {
  std::shared_ptr<const VirtualTable> table;
  size_t column = 0;
};

constexpr ColumnType kAllColumnTypes[] = {
    ColumnType::kBool,   ColumnType::kInt32,  ColumnType::kInt64, ColumnType::kFloat,
    ColumnType::kDouble, ColumnType::kString, ColumnType::kBytes, ColumnType::kTimestamp};

struct ScanState {
  size_t offset = 0;
};

void DestroyScanState(void* state) { delete static_cast<ScanState*>(state); }

// InvalidArgument carrying DuckDB's error. DuckDB appends the SQL text around
// the error position; users did not write that SQL, so only the first
// paragraph is theirs to read.
Status DuckDbError(const char* error) {
  std::string message = error != nullptr ? error : "DuckDB query failed";
  size_t context = message.find("\n\nLINE ");
  if (context != std::string::npos) message.resize(context);
  return InvalidArgument(message);
}

}  // namespace

struct Engine::Impl {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  std::map<std::string, std::shared_ptr<const VirtualTable>> virtual_tables;
  std::vector<std::shared_ptr<const void>> kept_alive;

  // cairn_table('name'): binds to a registered VirtualTable.
  static void Bind(duckdb_bind_info info) {
    auto* impl = static_cast<Impl*>(duckdb_bind_get_extra_info(info));
    duckdb_value parameter = duckdb_bind_get_parameter(info, 0);
    char* text = duckdb_get_varchar(parameter);
    std::string name = text != nullptr ? text : "";
    duckdb_free(text);
    duckdb_destroy_value(&parameter);
    auto it = impl->virtual_tables.find(name);
    if (it == impl->virtual_tables.end()) {
      duckdb_bind_set_error(info, ("no virtual table named '" + name + "'").c_str());
      return;
    }
    for (const VirtualColumn& c : it->second->columns) {
      duckdb_logical_type type =
          duckdb_create_logical_type(DuckTypeOf(c.source->columns[c.column].type()));
      duckdb_bind_add_result_column(info, c.name.c_str(), type);
      duckdb_destroy_logical_type(&type);
    }
    duckdb_bind_set_cardinality(info, it->second->rows, true);
    // The bind data holds its own reference: a re-registration mid-query
    // cannot free what is being read.
    auto* held = new std::shared_ptr<const VirtualTable>(it->second);
    duckdb_bind_set_bind_data(
        info, held, [](void* p) { delete static_cast<std::shared_ptr<const VirtualTable>*>(p); });
  }

  static void Init(duckdb_init_info info) {
    duckdb_init_set_init_data(info, new ScanState(), DestroyScanState);
    duckdb_init_set_max_threads(info, 1);
  }

  static void Scan(duckdb_function_info info, duckdb_data_chunk output) {
    const VirtualTable& table =
        **static_cast<std::shared_ptr<const VirtualTable>*>(duckdb_function_get_bind_data(info));
    auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
    size_t count = std::min<size_t>(duckdb_vector_size(), table.rows - state->offset);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      FillVirtual(table.columns[c], state->offset, count, duckdb_data_chunk_get_vector(output, c));
    }
    duckdb_data_chunk_set_size(output, count);
    state->offset += count;
  }

  Status RegisterTableFunction() {
    duckdb_table_function function = duckdb_create_table_function();
    duckdb_table_function_set_name(function, "cairn_table");
    duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_table_function_add_parameter(function, varchar);
    duckdb_destroy_logical_type(&varchar);
    duckdb_table_function_set_extra_info(function, this, nullptr);
    duckdb_table_function_set_bind(function, Bind);
    duckdb_table_function_set_init(function, Init);
    duckdb_table_function_set_function(function, Scan);
    duckdb_state registered = duckdb_register_table_function(conn, function);
    duckdb_destroy_table_function(&function);
    if (registered == DuckDBError) return Internal("DuckDB: cannot register cairn_table()");
    return Status::Ok();
  }

  // cairn_column_<type>('table', column, row): value `row` of column
  // `column` of a registered virtual table. Unlike cairn_table(), it runs
  // inside the scan of the table it is computed for, so DuckDB reads, joins
  // and writes in parallel and in order. Table and column must be constants.
  struct ColumnFunctionInfo {
    Impl* impl;
    ColumnType type;
  };

  static void BindColumn(duckdb_bind_info info) {
    auto* fn = static_cast<ColumnFunctionInfo*>(duckdb_scalar_function_bind_get_extra_info(info));
    duckdb_client_context context = nullptr;
    duckdb_scalar_function_get_client_context(info, &context);
    std::string error;
    std::string name;
    int64_t column = -1;
    for (idx_t a = 0; a < 2 && error.empty(); ++a) {
      duckdb_expression argument = duckdb_scalar_function_bind_get_argument(info, a);
      duckdb_value value = nullptr;
      duckdb_error_data folded = nullptr;
      if (!duckdb_expression_is_foldable(argument)) {
        error = "cairn_column: the table and column must be constants";
      } else if (folded = duckdb_expression_fold(context, argument, &value);
                 folded != nullptr && duckdb_error_data_has_error(folded)) {
        error = duckdb_error_data_message(folded);
      } else if (a == 0) {
        char* text = duckdb_get_varchar(value);
        name = text != nullptr ? text : "";
        duckdb_free(text);
      } else {
        column = duckdb_get_int64(value);
      }
      if (folded != nullptr) duckdb_destroy_error_data(&folded);
      if (value != nullptr) duckdb_destroy_value(&value);
      duckdb_destroy_expression(&argument);
    }
    duckdb_destroy_client_context(&context);
    std::shared_ptr<const VirtualTable> table;
    if (error.empty()) {
      auto it = fn->impl->virtual_tables.find(name);
      if (it == fn->impl->virtual_tables.end()) {
        error = "no virtual table named '" + name + "'";
      } else if (column < 0 || static_cast<size_t>(column) >= it->second->columns.size()) {
        error = "virtual table '" + name + "' has no column " + std::to_string(column);
      } else {
        const VirtualColumn& v = it->second->columns[column];
        if (v.source->columns[v.column].type() != fn->type) {
          error = "column " + std::to_string(column) + " of '" + name + "' is " +
                  std::string(SqlTypeName(v.source->columns[v.column].type()));
        }
        table = it->second;
      }
    }
    if (!error.empty()) {
      duckdb_scalar_function_bind_set_error(info, error.c_str());
      return;
    }
    duckdb_scalar_function_set_bind_data(
        info, new ColumnBinding{std::move(table), static_cast<size_t>(column)},
        [](void* p) { delete static_cast<ColumnBinding*>(p); });
    duckdb_scalar_function_set_bind_data_copy(
        info, [](void* p) -> void* { return new ColumnBinding(*static_cast<ColumnBinding*>(p)); });
  }

  static void ReadColumn(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
    const auto& binding =
        *static_cast<const ColumnBinding*>(duckdb_scalar_function_get_bind_data(info));
    idx_t count = duckdb_data_chunk_get_size(input);
    duckdb_vector rows = duckdb_data_chunk_get_vector(input, 2);
    const auto* row_ids = static_cast<const int64_t*>(duckdb_vector_get_data(rows));
    // A null row id reads as a row past the end: null.
    std::vector<int64_t> checked;
    if (uint64_t* validity = duckdb_vector_get_validity(rows); validity != nullptr) {
      checked.assign(row_ids, row_ids + count);
      for (idx_t i = 0; i < count; ++i) {
        if (!duckdb_validity_row_is_valid(validity, i)) checked[i] = -1;
      }
      row_ids = checked.data();
    }
    FillVirtualAt(binding.table->columns[binding.column], binding.table->rows, row_ids, count,
                  output);
  }

  std::vector<std::unique_ptr<ColumnFunctionInfo>> column_functions;

  Status RegisterColumnFunctions() {
    for (ColumnType type : kAllColumnTypes) {
      std::string name = "cairn_column_" + ColumnFunctionSuffix(type);
      column_functions.push_back(
          std::make_unique<ColumnFunctionInfo>(ColumnFunctionInfo{this, type}));
      duckdb_scalar_function function = duckdb_create_scalar_function();
      duckdb_scalar_function_set_name(function, name.c_str());
      for (duckdb_type parameter : {DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_BIGINT}) {
        duckdb_logical_type t = duckdb_create_logical_type(parameter);
        duckdb_scalar_function_add_parameter(function, t);
        duckdb_destroy_logical_type(&t);
      }
      duckdb_logical_type result = duckdb_create_logical_type(DuckTypeOf(type));
      duckdb_scalar_function_set_return_type(function, result);
      duckdb_destroy_logical_type(&result);
      duckdb_scalar_function_set_extra_info(function, column_functions.back().get(), nullptr);
      duckdb_scalar_function_set_bind(function, BindColumn);
      duckdb_scalar_function_set_function(function, ReadColumn);
      duckdb_state registered = duckdb_register_scalar_function(conn, function);
      duckdb_destroy_scalar_function(&function);
      if (registered == DuckDBError) return Internal("DuckDB: cannot register " + name + "()");
    }
    return Status::Ok();
  }

  ~Impl() {
    if (conn != nullptr) duckdb_disconnect(&conn);
    if (db != nullptr) duckdb_close(&db);
  }

  Status Run(std::string_view sql, Result* result) const {
    std::string text(sql);
    if (duckdb_query(conn, text.c_str(), result->get()) == DuckDBError) {
      return DuckDbError(duckdb_result_error(result->get()));
    }
    return Status::Ok();
  }

  // As Run, but DuckDB hands the rows over chunk by chunk as it makes them
  // instead of gathering the whole result first.
  Status RunStreaming(std::string_view sql, Result* result) const {
    std::string text(sql);
    duckdb_prepared_statement statement = nullptr;
    if (duckdb_prepare(conn, text.c_str(), &statement) == DuckDBError) {
      Status error = DuckDbError(duckdb_prepare_error(statement));
      duckdb_destroy_prepare(&statement);
      return error;
    }
    duckdb_pending_result pending = nullptr;
    if (duckdb_pending_prepared_streaming(statement, &pending) == DuckDBError) {
      Status error = DuckDbError(duckdb_pending_error(pending));
      duckdb_destroy_pending(&pending);
      duckdb_destroy_prepare(&statement);
      return error;
    }
    duckdb_state state = duckdb_execute_pending(pending, result->get());
    Status error =
        state == DuckDBError ? DuckDbError(duckdb_result_error(result->get())) : Status::Ok();
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&statement);
    return error;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Open(int threads) {
  auto impl = std::make_unique<Impl>();
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) return Internal("DuckDB: cannot create config");
  if (threads > 0) duckdb_set_config(config, "threads", std::to_string(threads).c_str());
  char* error = nullptr;
  duckdb_state opened = duckdb_open_ext(nullptr, &impl->db, config, &error);
  duckdb_destroy_config(&config);
  if (opened == DuckDBError) {
    std::string message = error != nullptr ? error : "unknown error";
    duckdb_free(error);
    return Internal("DuckDB failed to start: " + message);
  }
  if (duckdb_connect(impl->db, &impl->conn) == DuckDBError) {
    return Internal("DuckDB: cannot connect to the in-memory database");
  }
  RETURN_IF_ERROR(impl->RegisterTableFunction());
  RETURN_IF_ERROR(impl->RegisterColumnFunctions());
  auto engine = std::unique_ptr<Engine>(new Engine(std::move(impl)));
  // Cairn reads a timestamp without a zone as UTC everywhere; with DuckDB's
  // ICU time zones, casts between the two kinds would otherwise follow the
  // machine's zone. (Without ICU the setting is unknown and casts are UTC.)
  engine->Execute("SET TimeZone = 'UTC'").IgnoreError();
  return engine;
}

Status Engine::Execute(std::string_view sql) {
  Result result;
  return impl_->Run(sql, &result);
}

namespace {

// Copies a result's rows into a Table, reserving `expected_rows` up front.
StatusOr<Table> ReadResult(duckdb_result* result, size_t expected_rows) {
  idx_t column_count = duckdb_column_count(result);
  std::vector<duckdb_type> types(column_count);
  Table table;
  for (idx_t c = 0; c < column_count; ++c) {
    types[c] = duckdb_column_type(result, c);
    ColumnType type;
    std::string name = duckdb_column_name(result, c);
    if (!ColumnTypeOf(types[c], &type)) {
      return InvalidArgument("column '" + name +
                             "' has a type the feature store does not read; cast it to a "
                             "number, string, boolean or timestamp");
    }
    table.columns.emplace_back(std::move(name), type);
    table.columns.back().Reserve(expected_rows);  // strings: see below
  }
  for (bool first = true;; first = false) {
    Chunk chunk(duckdb_fetch_chunk(*result));
    if (chunk.get() == nullptr) break;
    idx_t rows = duckdb_data_chunk_get_size(chunk.get());
    if (rows == 0) break;
    for (idx_t c = 0; c < column_count; ++c) {
      AppendVector(types[c], duckdb_data_chunk_get_vector(chunk.get(), c), rows, &table.columns[c]);
      // The first chunk tells how long the strings run.
      if (first) table.columns[c].ReserveCharsFor(expected_rows);
    }
  }
  // A streamed result reports a failure met part-way (a bad cast) here.
  if (const char* error = duckdb_result_error(result); error != nullptr && *error != '\0') {
    return DuckDbError(error);
  }
  return table;
}

}  // namespace

StatusOr<Table> Engine::Query(std::string_view sql) {
  Result result;
  RETURN_IF_ERROR(impl_->Run(sql, &result));
  return ReadResult(result.get(), duckdb_row_count(result.get()));
}

StatusOr<Table> Engine::StreamQuery(std::string_view sql, size_t expected_rows) {
  Result result;
  RETURN_IF_ERROR(impl_->RunStreaming(sql, &result));
  return ReadResult(result.get(), expected_rows);
}

StatusOr<std::vector<ColumnInfo>> Engine::Describe(std::string_view sql) {
  ASSIGN_OR_RETURN(Table described, Query("DESCRIBE " + std::string(sql)));
  const Column* names = described.Find("column_name");
  const Column* types = described.Find("column_type");
  if (names == nullptr || types == nullptr) return Internal("DuckDB DESCRIBE returned no columns");
  std::vector<ColumnInfo> out;
  for (size_t i = 0; i < described.rows(); ++i) {
    out.push_back({std::string(names->String(i)), std::string(types->String(i))});
  }
  return out;
}

Status Engine::RegisterTable(const std::string& name, const std::shared_ptr<const Table>& table) {
  std::vector<VirtualColumn> columns;
  for (size_t c = 0; c < table->columns.size(); ++c) {
    columns.push_back({.name = table->columns[c].name(), .source = table, .column = c});
  }
  size_t rows = table->rows();
  return RegisterVirtualTable(name, std::move(columns), rows);
}

void Engine::KeepAlive(std::shared_ptr<const void> resource) {
  impl_->kept_alive.push_back(std::move(resource));
}

Status Engine::RegisterVirtualTable(const std::string& name, std::vector<VirtualColumn> columns,
                                    size_t rows) {
  for (const VirtualColumn& c : columns) {
    size_t length = c.rows != nullptr ? c.rows->size() : c.source->columns[c.column].size();
    if (length != rows) {
      return InvalidArgument("virtual column '" + c.name + "' has " + std::to_string(length) +
                             " rows, not " + std::to_string(rows));
    }
  }
  auto table = std::make_shared<VirtualTable>();
  table->columns = std::move(columns);
  table->rows = rows;
  impl_->virtual_tables[name] = std::move(table);
  return Status::Ok();
}

std::string VirtualColumnExpr(const std::string& table, size_t column, ColumnType type,
                              std::string_view row) {
  return "cairn_column_" + ColumnFunctionSuffix(type) + "(" + QuoteLiteral(table) + ", " +
         std::to_string(column) + ", " + std::string(row) + ")";
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace cairn::offline
