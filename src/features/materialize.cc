#include "features/materialize.h"

#include <algorithm>
#include <future>
#include <set>

#include "core/huge_pages.h"
#include "core/sha256.h"
#include "features/offline_source.h"
#include "features/online_codec.h"

namespace cairn::features {
namespace {

using offline::Column;
using offline::QuoteIdentifier;
using offline::Table;

constexpr int64_t kMicrosPerSecond = 1'000'000;

// REQUIRES: the key is not null at `row`.
Status AppendKey(const Field& key, const Column& column, size_t row, std::string* out) {
  if (offline::IsStringStorage(column.type()))
    return AppendKeyString(key.type, column.String(row), out);
  return AppendKeyInt(key.type, column.Int(row), out);
}

// A source row in the order rows are written: by entity key as the store
// orders keys (bytewise), then newest first, so the first row of each key is
// the one to keep. The key's first 16 bytes, big-endian, settle most
// comparisons without touching the key arena.
struct RowOrder {
  uint64_t prefix_high;
  uint64_t prefix_low;
  int64_t ts;
  int64_t created;  // INT64_MIN when null: sorts below any time
  uint64_t key_at;
  uint32_t key_size;
  uint32_t row;
};

uint64_t BigEndianWord(std::string_view bytes, size_t at) {
  uint64_t word = 0;
  for (size_t i = 0; i < 8; ++i) {
    word <<= 8;
    if (at + i < bytes.size()) word |= static_cast<unsigned char>(bytes[at + i]);
  }
  return word;
}

// Sorts `rows` into write order; keys live in `arena`.
void SortForWriting(std::vector<RowOrder>& rows, std::string_view arena) {
  std::sort(rows.begin(), rows.end(), [arena](const RowOrder& a, const RowOrder& b) {
    if (a.prefix_high != b.prefix_high) return a.prefix_high < b.prefix_high;
    if (a.prefix_low != b.prefix_low) return a.prefix_low < b.prefix_low;
    if (a.key_size > 16 || b.key_size > 16) {
      int c = arena.substr(a.key_at, a.key_size).compare(arena.substr(b.key_at, b.key_size));
      if (c != 0) return c < 0;
    } else if (a.key_size != b.key_size) {
      return a.key_size < b.key_size;  // equal prefixes: the shorter key is a prefix
    }
    if (a.ts != b.ts) return a.ts > b.ts;
    if (a.created != b.created) return a.created > b.created;
    return a.row < b.row;
  });
}

// One column's values for a batch of rows, in the batch's order.
class BatchColumn {
 public:
  void Gather(const Column& column, std::span<const RowOrder> rows) {
    kind_ = offline::IsIntegerStorage(column.type())  ? 'i'
            : offline::IsDoubleStorage(column.type()) ? 'd'
                                                      : 's';
    valid_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) valid_[i] = column.IsValid(rows[i].row);
    if (kind_ == 'i') {
      words_.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) words_[i] = column.Int(rows[i].row);
    } else if (kind_ == 'd') {
      doubles_.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) doubles_[i] = column.Double(rows[i].row);
    } else {
      strings_.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) strings_[i] = column.String(rows[i].row);
    }
  }

  // At most how many bytes Append writes for the batch: a tag and 8 bytes
  // per number, a tag, a 4-byte length and the bytes per string.
  size_t MaxEncodedSize() const {
    if (kind_ != 's') return valid_.size() * 9;
    size_t total = 0;
    for (std::string_view s : strings_) total += 5 + s.size();
    return total;
  }

  void Append(size_t i, std::string* out) const {
    if (!valid_[i]) {
      AppendNullValue(out);
    } else if (kind_ == 'i') {
      AppendIntValue(words_[i], out);
    } else if (kind_ == 'd') {
      AppendDoubleValue(doubles_[i], out);
    } else {
      AppendStringValue(strings_[i], out);
    }
  }

 private:
  char kind_ = 'i';
  std::vector<uint8_t> valid_;
  std::vector<int64_t> words_;
  std::vector<double> doubles_;
  std::vector<std::string_view> strings_;
};

StatusOr<ViewMaterialization> MaterializeView(offline::Engine& engine, const FeatureRepo& repo,
                                              const FeatureView& view, online::OnlineStore& store,
                                              const MaterializeRequest& request, int64_t start,
                                              int64_t end) {
  ViewMaterialization result{.view = view.name, .start_micros = start, .end_micros = end};
  std::vector<Field> keys = JoinKeys(repo, view);
  std::vector<std::string> features;
  for (const Field& f : view.schema) features.push_back(f.name);
  ASSIGN_OR_RETURN(ViewScan scan, BuildViewScan(engine, repo, view, keys, features));

  // DuckDB reads the window (in parallel); the latest row per entity is
  // chosen here, by the sort that also puts the rows in the store's order:
  // one sort instead of DuckDB's window function and then another.
  std::string sql = scan.sql + " WHERE " + scan.ts_expr + " BETWEEN " + std::to_string(start) +
                    " AND " + std::to_string(end);
  StatusOr<Table> rows = engine.Query(sql);
  if (!rows.ok()) {
    return InvalidArgument("feature view '" + view.name + "': " + rows.status().message());
  }
  if (rows->rows() > UINT32_MAX) {
    return ResourceExhausted("feature view '" + view.name +
                             "': more than 2^32 rows in the window; "
                             "materialize shorter windows");
  }
  std::vector<const Column*> key_columns;
  for (const Field& key : keys) key_columns.push_back(rows->Find(key.name));
  const Column* ts = rows->Find("__cairn_ts");
  const Column* created = scan.has_created ? rows->Find("__cairn_created") : nullptr;
  std::vector<const Column*> value_columns;
  for (size_t i = 0; i < features.size(); ++i) {
    value_columns.push_back(rows->Find("__cairn_f" + std::to_string(i)));
  }

  std::string key_arena;
  std::vector<RowOrder> order;
  ReserveHuge(order, rows->rows());
  for (size_t row = 0; row < rows->rows(); ++row) {
    size_t key_at = key_arena.size();
    bool null_key = false;
    for (size_t k = 0; k < keys.size() && !null_key; ++k) {
      null_key = !key_columns[k]->IsValid(row);  // a row without its entity cannot be served
      if (null_key) break;
      Status appended = AppendKey(keys[k], *key_columns[k], row, &key_arena);
      if (!appended.ok()) {
        return InvalidArgument("feature view '" + view.name + "', join key '" + keys[k].name +
                               "': " + appended.message());
      }
    }
    if (null_key) {
      key_arena.resize(key_at);
      continue;
    }
    // The first key tells how long keys run (as long as it, give or take).
    if (order.empty()) ReserveHuge(key_arena, (key_arena.size() + 1) * rows->rows() * 9 / 8);
    std::string_view key = std::string_view(key_arena).substr(key_at);
    order.push_back(
        {.prefix_high = BigEndianWord(key, 0),
         .prefix_low = BigEndianWord(key, 8),
         .ts = ts->Int(row),
         .created = created != nullptr && created->IsValid(row) ? created->Int(row) : INT64_MIN,
         .key_at = key_at,
         .key_size = static_cast<uint32_t>(key.size()),
         .row = static_cast<uint32_t>(row)});
  }
  SortForWriting(order, key_arena);
  // Keep the first (newest) row of each key.
  auto key_of = [&](const RowOrder& r) {
    return std::string_view(key_arena).substr(r.key_at, r.key_size);
  };
  size_t kept = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (kept == 0 || key_of(order[i]) != key_of(order[kept - 1])) order[kept++] = order[i];
  }
  order.resize(kept);
  result.rows = order.size();

  // Records are encoded a batch at a time, on a second thread while the
  // store writes the batch before, so memory holds two batches of them.
  struct Batch {
    size_t begin = 0;
    std::string records;
    std::vector<size_t> ends;
  };
  auto encode = [&](size_t begin) {
    Batch batch{.begin = begin};
    size_t stop = std::min(order.size(), begin + request.batch_rows);
    // Rows come in key order, scattered over the columns. Gathering one
    // column at a time keeps the random reads inside one array (few TLB
    // misses); reading all columns row by row was three times slower.
    std::vector<BatchColumn> gathered(value_columns.size());
    for (size_t c = 0; c < value_columns.size(); ++c) {
      gathered[c].Gather(*value_columns[c], std::span(order).subspan(begin, stop - begin));
    }
    batch.ends.reserve(stop - begin);
    size_t record_bytes = (stop - begin) * online::kStoredHeaderSize;
    for (const BatchColumn& c : gathered) record_bytes += c.MaxEncodedSize();
    // Reserved whole, and on huge pages: grown by doubling, the records
    // were copied and faulted in twice over.
    ReserveHuge(batch.records, record_bytes);
    for (size_t i = begin; i < stop; ++i) {
      const RowOrder& r = order[i];
      online::AppendStoredHeader(r.ts, r.created == INT64_MIN ? 0 : r.created, &batch.records);
      for (const BatchColumn& c : gathered) c.Append(i - begin, &batch.records);
      batch.ends.push_back(batch.records.size());
    }
    return batch;
  };
  const std::string table = OnlineTable(repo.project, view);
  std::vector<online::OnlineWrite> writes;
  std::future<Batch> next = std::async(std::launch::async, encode, 0);
  for (size_t begin = 0; begin < order.size() || begin == 0; begin += request.batch_rows) {
    Batch batch = next.get();
    if (begin + request.batch_rows < order.size()) {
      next = std::async(std::launch::async, encode, begin + request.batch_rows);
    }
    writes.clear();
    for (size_t i = 0; i < batch.ends.size(); ++i) {
      size_t at = i == 0 ? 0 : batch.ends[i - 1];
      writes.push_back({key_of(order[begin + i]),
                        std::string_view(batch.records).substr(at, batch.ends[i] - at)});
    }
    // On an error, `next` finishes encoding before it is destroyed.
    ASSIGN_OR_RETURN(online::WriteCounts counts, store.Write(table, writes));
    result.written += counts.written;
    result.kept_newer += counts.kept_newer;
    if (request.progress)
      request.progress(view.name, result.written + result.kept_newer, result.rows);
    if (order.empty()) break;
  }
  return result;
}

}  // namespace

std::vector<std::string> OnlineTablesLeftBehind(const FeatureRepo& before,
                                                const FeatureRepo& after) {
  std::set<std::string> kept;
  for (const FeatureView& view : after.feature_views) {
    if (view.online) kept.insert(OnlineTable(after.project, view));
  }
  std::vector<std::string> left;
  for (const FeatureView& view : before.feature_views) {
    std::string table = OnlineTable(before.project, view);
    if (view.online && !kept.contains(table)) left.push_back(std::move(table));
  }
  return left;
}

std::string OnlineTable(const std::string& project, const FeatureView& view) {
  std::string schema;
  for (const Field& f : view.schema) {
    schema += f.name;
    schema += ':';
    schema += ValueTypeName(f.type);
    schema += ';';
  }
  return project + "/" + view.name + "/" + Sha256Hex(schema).substr(0, 12);
}

StatusOr<std::vector<ViewMaterialization>> Materialize(offline::Engine& engine,
                                                       const FeatureRepo& repo,
                                                       FeatureRegistry& registry,
                                                       online::OnlineStore& store,
                                                       const MaterializeRequest& request) {
  std::vector<const FeatureView*> views;
  if (request.views.empty()) {
    for (const FeatureView& v : repo.feature_views) {
      if (v.online) views.push_back(&v);
    }
  } else {
    for (const std::string& name : request.views) {
      const FeatureView* v = repo.FindFeatureView(name);
      if (v == nullptr) {
        return NotFound("no feature view named '" + name + "' in project '" + repo.project + "'");
      }
      if (!v->online) {
        return InvalidArgument("feature view '" + name +
                               "' has online: false; set online: true and apply to serve it");
      }
      views.push_back(v);
    }
  }
  std::vector<ViewMaterialization> results;
  for (const FeatureView* view : views) {
    int64_t start = request.start_micros;
    if (request.incremental) {
      ASSIGN_OR_RETURN(std::optional<int64_t> last,
                       registry.LastMaterializedEnd(repo.project, view->name));
      start = last.has_value()        ? *last
              : view->ttl_seconds > 0 ? request.end_micros - view->ttl_seconds * kMicrosPerSecond
                                      : INT64_MIN / 2;
    }
    if (start > request.end_micros) {
      return InvalidArgument("materialization window of '" + view->name +
                             "' starts after it ends; the end must be after the start");
    }
    ASSIGN_OR_RETURN(ViewMaterialization done, MaterializeView(engine, repo, *view, store, request,
                                                               start, request.end_micros));
    if (request.stats != nullptr && done.rows > 0) {
      ASSIGN_OR_RETURN(ViewStats stats, ComputeViewStats(engine, repo, *view, request.env, start,
                                                         request.end_micros));
      RETURN_IF_ERROR(request.stats->Save(stats));
    }
    RETURN_IF_ERROR(registry.RecordMaterialization(
        repo.project, {.view = view->name,
                       .start_micros = start,
                       .end_micros = request.end_micros,
                       .rows = static_cast<int64_t>(done.written + done.kept_newer)}));
    results.push_back(done);
  }
  return results;
}

}  // namespace cairn::features
