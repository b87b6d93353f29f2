#include "features/pit_join.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <string_view>
#include <thread>

namespace cairn::features {
namespace {

using offline::Column;

constexpr int64_t kNoMatch = -1;

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser: cheap, spreads low-entropy ids
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hashes row `row` of the key columns; false when any key is null.
bool HashKeys(const std::vector<const Column*>& keys, size_t row, uint64_t* out) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const Column* c : keys) {
    if (!c->IsValid(row)) return false;
    uint64_t part = offline::IsStringStorage(c->type())
                        ? std::hash<std::string_view>{}(c->String(row))
                        : static_cast<uint64_t>(c->Int(row));
    h = Mix(h ^ Mix(part));
  }
  *out = h;
  return true;
}

bool KeysEqual(const std::vector<const Column*>& a, size_t row_a,
               const std::vector<const Column*>& b, size_t row_b) {
  for (size_t k = 0; k < a.size(); ++k) {
    if (offline::IsStringStorage(a[k]->type())) {
      if (a[k]->String(row_a) != b[k]->String(row_b)) return false;
    } else if (a[k]->Int(row_a) != b[k]->Int(row_b)) {
      return false;
    }
  }
  return true;
}

// Open-addressing map from a key tuple to a group id; each group remembers
// one feature row holding its key.
class KeyGroups {
 public:
  KeyGroups(const std::vector<const Column*>& keys, size_t expected) : keys_(keys) {
    size_t capacity = 16;
    while (capacity < expected * 2) capacity <<= 1;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }

  // The group of feature row `row` with hash `h`, created when new.
  int32_t Insert(uint64_t h, size_t row) {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.group < 0) {
        s = {h, static_cast<int32_t>(representatives_.size())};
        representatives_.push_back(row);
        return s.group;
      }
      if (s.hash == h && KeysEqual(keys_, representatives_[s.group], keys_, row)) return s.group;
    }
  }

  // The group whose key equals row `row` of `probe`, or -1.
  int32_t Find(uint64_t h, const std::vector<const Column*>& probe, size_t row) const {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.group < 0) return -1;
      if (s.hash == h && KeysEqual(probe, row, keys_, representatives_[s.group])) return s.group;
    }
  }

  size_t size() const { return representatives_.size(); }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t group = -1;
  };
  const std::vector<const Column*>& keys_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<size_t> representatives_;
};

template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  threads = std::max(1, std::min<int>(threads, static_cast<int>(n / 65536) + 1));
  if (threads == 1) return fn(size_t{0}, n);
  std::vector<std::thread> workers;
  size_t step = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    size_t begin = std::min(n, t * step);
    size_t end = std::min(n, begin + step);
    workers.emplace_back([=] { fn(begin, end); });
  }
  for (std::thread& w : workers) w.join();
}

}  // namespace

StatusOr<std::vector<int64_t>> PointInTimeJoin(const PitJoinInput& in,
                                               const PitJoinOptions& options) {
  if (in.entity_keys.size() != in.feature_keys.size() || in.entity_keys.empty() ||
      in.entity_ts == nullptr || in.feature_ts == nullptr) {
    return InvalidArgument("point-in-time join needs matching key columns and timestamps");
  }
  for (size_t k = 0; k < in.entity_keys.size(); ++k) {
    if (offline::IsStringStorage(in.entity_keys[k]->type()) !=
        offline::IsStringStorage(in.feature_keys[k]->type())) {
      return InvalidArgument("join key '" + in.entity_keys[k]->name() +
                             "' is a string on one side and a number on the other");
    }
  }
  const size_t feature_rows = in.feature_ts->size();
  const size_t entity_rows = in.entity_ts->size();
  const Column* created = in.feature_created;
  auto created_at = [created](size_t row) {
    return created != nullptr && created->IsValid(row) ? created->Int(row)
                                                       : std::numeric_limits<int64_t>::min();
  };

  // 1. Group visible feature rows by key.
  KeyGroups groups(in.feature_keys, feature_rows);
  std::vector<int32_t> group_of(feature_rows, -1);
  for (size_t row = 0; row < feature_rows; ++row) {
    if (!in.feature_ts->IsValid(row)) continue;
    if (options.created_cutoff_micros && created != nullptr &&
        (!created->IsValid(row) || created->Int(row) > *options.created_cutoff_micros)) {
      continue;
    }
    uint64_t h;
    if (!HashKeys(in.feature_keys, row, &h)) continue;
    group_of[row] = groups.Insert(h, row);
  }

  // 2. Lay rows out group by group (a counting sort), each group ordered by
  //    (event ts, created ts, row): the last row at or before t is the answer.
  std::vector<size_t> begin(groups.size() + 1, 0);
  for (int32_t g : group_of) {
    if (g >= 0) ++begin[g + 1];
  }
  for (size_t g = 0; g < groups.size(); ++g) begin[g + 1] += begin[g];
  std::vector<size_t> fill(begin.begin(), begin.end() - 1);
  std::vector<int64_t> order(begin.back());
  for (size_t row = 0; row < feature_rows; ++row) {
    if (group_of[row] >= 0) order[fill[group_of[row]]++] = static_cast<int64_t>(row);
  }
  std::vector<int64_t> sorted_ts(order.size());
  ParallelFor(groups.size(), options.threads, [&](size_t g_begin, size_t g_end) {
    for (size_t g = g_begin; g < g_end; ++g) {
      auto first = order.begin() + begin[g];
      auto last = order.begin() + begin[g + 1];
      if (last - first > 1) {
        std::sort(first, last, [&](int64_t a, int64_t b) {
          int64_t ta = in.feature_ts->Int(a), tb = in.feature_ts->Int(b);
          if (ta != tb) return ta < tb;
          int64_t ca = created_at(a), cb = created_at(b);
          if (ca != cb) return ca < cb;
          return a < b;
        });
      }
      for (size_t i = begin[g]; i < begin[g + 1]; ++i) sorted_ts[i] = in.feature_ts->Int(order[i]);
    }
  });

  // 3. Probe each entity row: a hash lookup and a binary search in its group.
  std::vector<int64_t> match(entity_rows, kNoMatch);
  ParallelFor(entity_rows, options.threads, [&](size_t e_begin, size_t e_end) {
    for (size_t row = e_begin; row < e_end; ++row) {
      if (!in.entity_ts->IsValid(row)) continue;
      uint64_t h;
      if (!HashKeys(in.entity_keys, row, &h)) continue;
      int32_t g = groups.Find(h, in.entity_keys, row);
      if (g < 0) continue;
      int64_t t = in.entity_ts->Int(row);
      auto first = sorted_ts.begin() + begin[g];
      auto last = sorted_ts.begin() + begin[g + 1];
      auto after = std::upper_bound(first, last, t);
      if (after == first) continue;
      size_t chosen = static_cast<size_t>(after - sorted_ts.begin()) - 1;
      if (options.ttl_micros > 0 && sorted_ts[chosen] < t - options.ttl_micros) continue;
      match[row] = order[chosen];
    }
  });
  return match;
}

}  // namespace cairn::features
