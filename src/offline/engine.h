// Engine: the offline engine, one in-memory DuckDB database. It reads Parquet
// and CSV files (with globs), runs the feature store's SQL (sources,
// transformations) and writes Parquet; Cairn's own kernels take the Tables it
// returns and hand their results back as virtual tables, read in place.
//
// duckdb.h stays inside engine.cc so that users of this header do not pay
// for it.
//
// Thread-safety: an Engine is used by one thread at a time; DuckDB itself
// runs each query on its own worker threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "offline/table.h"

namespace cairn::offline {

// A column DuckDB reads straight from Cairn's memory. Row r is row rows[r]
// of source->columns[column] (null where rows[r] < 0), or row r itself when
// `rows` is null: a gather that costs nothing until DuckDB reads it.
struct VirtualColumn {
  std::string name;
  std::shared_ptr<const Table> source;
  size_t column = 0;
  std::shared_ptr<const std::vector<int64_t>> rows;
};

struct ColumnInfo {
  std::string name;
  std::string sql_type;  // DuckDB's name, e.g. "BIGINT", "TIMESTAMP WITH TIME ZONE"
};

class Engine {
 public:
  // `threads` caps DuckDB's worker threads (0: one per core).
  // Errors: Internal when DuckDB cannot start.
  static StatusOr<std::unique_ptr<Engine>> Open(int threads = 0);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs trusted SQL (several statements allowed). Errors: InvalidArgument
  // carrying DuckDB's message (a missing file, a bad cast, a syntax error).
  Status Execute(std::string_view sql);

  // Runs one query and returns its whole result. Column types map onto
  // ColumnType (all integer widths, BOOLEAN, FLOAT, DOUBLE, VARCHAR, BLOB,
  // DATE and every TIMESTAMP kind); any other type is InvalidArgument naming
  // the column, so callers CAST in SQL.
  StatusOr<Table> Query(std::string_view sql);
  // As Query, for big results: DuckDB streams the rows instead of holding
  // them all before the copy (for 30 million rows, gigabytes of memory that
  // are touched for the first time, which costs more than the copy on a VM).
  // `expected_rows` sizes the columns.
  StatusOr<Table> StreamQuery(std::string_view sql, size_t expected_rows);

  // The result columns a query would have, without running it.
  StatusOr<std::vector<ColumnInfo>> Describe(std::string_view sql);

  // Makes `columns` (each `rows` long) readable in SQL as
  // cairn_table('name'), without copying them into DuckDB; the engine keeps
  // them alive until `name` is registered again or the engine is destroyed.
  // Scans run in row order on one thread, so POSITIONAL JOIN lines them up
  // with a table of the same order. Each column can also be read by row
  // number (VirtualColumnExpr), inside another table's parallel scan.
  // Errors: InvalidArgument when a column's row map is not `rows` long.
  Status RegisterVirtualTable(const std::string& name, std::vector<VirtualColumn> columns,
                              size_t rows);

  // RegisterVirtualTable of every column of `table`, under their own names.
  Status RegisterTable(const std::string& name, const std::shared_ptr<const Table>& table);

  // Keeps `resource` alive as long as the engine: what registered views
  // need while they may be read (a lock on the files they name).
  void KeepAlive(std::shared_ptr<const void> resource);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SQL for the value of column `column` (of type `type`) of virtual table
// `table` at row `row` (an SQL expression, e.g. "rowid"); null when the row
// is out of range or the value is null.
std::string VirtualColumnExpr(const std::string& table, size_t column, ColumnType type,
                              std::string_view row);

// SQL text for an identifier ("a""b") and a string literal ('it''s').
std::string QuoteIdentifier(std::string_view name);
std::string QuoteLiteral(std::string_view text);

}  // namespace cairn::offline
