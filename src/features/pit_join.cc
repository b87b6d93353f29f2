#include "features/pit_join.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>

#include "core/env.h"
#include "core/huge_pages.h"

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

uint64_t HashBytes(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = Mix(h ^ word);
  }
  uint64_t tail = 0;
  if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return Mix(h ^ tail ^ (static_cast<uint64_t>(bytes.size() - i) << 56));
}

// A row's key tuple as bytes that are equal exactly when the keys are: a
// lone key is its value's bytes; several are each written with its length
// first, so ("a|b", "c") and ("a", "b|c") stay apart.
class KeyEncoder {
 public:
  explicit KeyEncoder(const std::vector<const Column*>& keys) : keys_(keys) {
    for (const Column* c : keys) any_nulls_ = any_nulls_ || c->HasNulls();
  }

  // False when a key is null (such rows never match).
  bool Encode(size_t row, std::string_view* out) {
    if (any_nulls_) {
      for (const Column* c : keys_) {
        if (!c->IsValid(row)) return false;
      }
    }
    if (keys_.size() == 1) {
      const Column* c = keys_[0];
      if (offline::IsStringStorage(c->type())) {
        *out = c->String(row);
      } else {
        *out = std::string_view(reinterpret_cast<const char*>(&c->ints()[row]), sizeof(int64_t));
      }
      return true;
    }
    buffer_.clear();
    for (const Column* c : keys_) {
      if (offline::IsStringStorage(c->type())) {
        std::string_view s = c->String(row);
        uint32_t length = static_cast<uint32_t>(s.size());
        buffer_.append(reinterpret_cast<const char*>(&length), sizeof(length));
        buffer_.append(s);
      } else {
        buffer_.append(reinterpret_cast<const char*>(&c->ints()[row]), sizeof(int64_t));
      }
    }
    *out = buffer_;
    return true;
  }

 private:
  const std::vector<const Column*>& keys_;
  bool any_nulls_ = false;
  std::string buffer_;
};

// Open-addressing map from an encoded key to its group: the group's rows are
// [begin, end) of the sorted feature rows. Keys up to 16 bytes live in the
// slot itself, so a probe usually touches one cache line.
class KeyGroups {
 public:
  KeyGroups() : slots_(1024), mask_(1023) {}

  // The group of `key`, created when new.
  int32_t Insert(uint64_t h, std::string_view key) {
    // At most half full: probes stay short, and the table stays as small as
    // the number of distinct keys allows (it is what probes miss cache on).
    if ((slot_of_group_.size() + 1) * 2 > slots_.size()) Grow();
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.group < 0) {
        s.hash = h;
        s.group = static_cast<int32_t>(slot_of_group_.size());
        s.length = static_cast<uint32_t>(key.size());
        if (key.size() <= sizeof(s.inline_key)) {
          if (!key.empty()) std::memcpy(s.inline_key, key.data(), key.size());
        } else {
          uint64_t offset = arena_.size();
          arena_.append(key);
          std::memcpy(s.inline_key, &offset, sizeof(offset));
        }
        slot_of_group_.push_back(i);
        return s.group;
      }
      if (s.hash == h && Equals(s, key)) return s.group;
    }
  }

  void Prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

  // The slot holding `key`, or nullptr.
  struct Slot;
  const Slot* Find(uint64_t h, std::string_view key) const {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.group < 0) return nullptr;
      if (s.hash == h && Equals(s, key)) return &s;
    }
  }

  void SetRange(int32_t group, uint32_t begin, uint32_t end) {
    Slot& s = slots_[slot_of_group_[group]];
    s.begin = begin;
    s.end = end;
  }

  size_t size() const { return slot_of_group_.size(); }

 private:
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>();
    ReserveHuge(slots_, old.size() * 2);  // tens of MB of fresh pages otherwise
    slots_.resize(old.size() * 2);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.group < 0) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].group >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
      slot_of_group_[s.group] = i;
    }
  }

 public:
  struct Slot {
    uint64_t hash = 0;
    int32_t group = -1;
    uint32_t length = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
    char inline_key[16] = {};
  };

 private:
  bool Equals(const Slot& s, std::string_view key) const {
    if (s.length != key.size()) return false;
    if (key.empty()) return true;
    if (key.size() <= sizeof(s.inline_key)) {
      return std::memcmp(s.inline_key, key.data(), key.size()) == 0;
    }
    uint64_t offset;
    std::memcpy(&offset, s.inline_key, sizeof(offset));
    return std::memcmp(arena_.data() + offset, key.data(), key.size()) == 0;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<size_t> slot_of_group_;
  std::string arena_;  // keys longer than a slot holds
};

// Runs fn(begin, end) over [0, n) split among up to `threads` threads. A
// part whose thread the system refuses runs on the calling thread: slower,
// never a failed request.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  threads = std::max(1, std::min<int>(threads, static_cast<int>(n / 65536) + 1));
  if (threads == 1) return fn(size_t{0}, n);
  std::vector<std::unique_ptr<Thread>> workers;
  size_t step = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    size_t begin = std::min(n, t * step);
    size_t end = std::min(n, begin + step);
    StatusOr<std::unique_ptr<Thread>> worker =
        Env::Default()->StartThread("pit-join", [=] { fn(begin, end); });
    if (worker.ok()) {
      workers.push_back(std::move(*worker));
    } else {
      fn(begin, end);
    }
  }
  for (std::unique_ptr<Thread>& w : workers) w->Join();
}

}  // namespace

StatusOr<std::vector<int64_t>> PointInTimeJoin(const PitJoinInput& in,
                                               const PitJoinOptions& options) {
  if (in.entity_keys.size() != in.feature_keys.size() || in.entity_ts == nullptr ||
      in.feature_ts == nullptr) {
    return InvalidArgument("point-in-time join needs matching key columns and timestamps");
  }
  for (size_t k = 0; k < in.entity_keys.size(); ++k) {
    if (offline::IsDoubleStorage(in.entity_keys[k]->type()) ||
        offline::IsDoubleStorage(in.feature_keys[k]->type())) {
      return InvalidArgument("join key '" + in.entity_keys[k]->name() +
                             "' is a floating-point number; join keys are integers or strings");
    }
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

  // 1. Group visible feature rows by key. Keys are hashed in parallel
  //    first, so the (single-threaded) inserts can prefetch their slots a
  //    few rows ahead: the table outgrows the cache, and each insert would
  //    otherwise wait on a miss.
  std::vector<uint64_t> feature_hash(feature_rows);
  std::vector<uint8_t> visible(feature_rows);
  ParallelFor(feature_rows, options.threads, [&](size_t r_begin, size_t r_end) {
    KeyEncoder encoder(in.feature_keys);
    for (size_t row = r_begin; row < r_end; ++row) {
      std::string_view key;
      bool cut_off = options.created_cutoff_micros && created != nullptr &&
                     (!created->IsValid(row) || created->Int(row) > *options.created_cutoff_micros);
      visible[row] = in.feature_ts->IsValid(row) && !cut_off && encoder.Encode(row, &key);
      if (visible[row]) feature_hash[row] = HashBytes(key);
    }
  });
  KeyGroups groups;
  KeyEncoder feature_keys(in.feature_keys);
  std::vector<int32_t> group_of(feature_rows, -1);
  constexpr size_t kAhead = 8;
  for (size_t row = 0; row < feature_rows; ++row) {
    if (row + kAhead < feature_rows) groups.Prefetch(feature_hash[row + kAhead]);
    if (!visible[row]) continue;
    std::string_view key;
    feature_keys.Encode(row, &key);
    group_of[row] = groups.Insert(feature_hash[row], key);
  }

  // 2. Lay rows out group by group (a counting sort), each group ordered by
  //    (event ts, created ts, row): the last row at or before t is the answer.
  //    Each row's time sits beside its index, so a probe's binary search and
  //    its answer share cache lines.
  std::vector<uint32_t> begin(groups.size() + 1, 0);
  for (int32_t g : group_of) {
    if (g >= 0) ++begin[g + 1];
  }
  for (size_t g = 0; g < groups.size(); ++g) begin[g + 1] += begin[g];
  std::vector<uint32_t> fill(begin.begin(), begin.end() - 1);
  struct TimedRow {
    int64_t ts;
    int64_t row;
  };
  std::vector<TimedRow> sorted(begin.back());
  for (size_t row = 0; row < feature_rows; ++row) {
    if (group_of[row] >= 0) {
      sorted[fill[group_of[row]]++] = {in.feature_ts->Int(row), static_cast<int64_t>(row)};
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    groups.SetRange(static_cast<int32_t>(g), begin[g], begin[g + 1]);
  }
  ParallelFor(groups.size(), options.threads, [&](size_t g_begin, size_t g_end) {
    for (size_t g = g_begin; g < g_end; ++g) {
      auto first = sorted.begin() + begin[g];
      auto last = sorted.begin() + begin[g + 1];
      if (last - first > 1) {
        std::sort(first, last, [&](const TimedRow& a, const TimedRow& b) {
          if (a.ts != b.ts) return a.ts < b.ts;
          int64_t ca = created_at(a.row), cb = created_at(b.row);
          if (ca != cb) return ca < cb;
          return a.row < b.row;
        });
      }
    }
  });

  // 3. Probe each entity row: a hash lookup and a binary search in its group.
  //    Rows go in batches, in stages: hash and prefetch each slot, then find
  //    each slot and prefetch its group's rows, then search. The table and
  //    the rows are far bigger than the cache, and waiting on one miss at a
  //    time dominates.
  std::vector<int64_t> match;
  ReserveHuge(match, entity_rows);
  match.resize(entity_rows, kNoMatch);
  ParallelFor(entity_rows, options.threads, [&](size_t e_begin, size_t e_end) {
    constexpr size_t kBatch = 16;
    KeyEncoder entity_keys(in.entity_keys);
    uint64_t hashes[kBatch];
    bool usable[kBatch];
    const KeyGroups::Slot* slots[kBatch];
    for (size_t base = e_begin; base < e_end; base += kBatch) {
      size_t n = std::min(kBatch, e_end - base);
      for (size_t j = 0; j < n; ++j) {
        std::string_view key;
        usable[j] = in.entity_ts->IsValid(base + j) && entity_keys.Encode(base + j, &key);
        if (usable[j]) {
          hashes[j] = HashBytes(key);
          groups.Prefetch(hashes[j]);
        }
      }
      for (size_t j = 0; j < n; ++j) {
        slots[j] = nullptr;
        if (!usable[j]) continue;
        std::string_view key;
        entity_keys.Encode(base + j, &key);
        slots[j] = groups.Find(hashes[j], key);
        if (slots[j] != nullptr) __builtin_prefetch(&sorted[slots[j]->begin]);
      }
      for (size_t j = 0; j < n; ++j) {
        const KeyGroups::Slot* slot = slots[j];
        if (slot == nullptr) continue;
        size_t row = base + j;
        int64_t t = in.entity_ts->Int(row);
        auto first = sorted.begin() + slot->begin;
        auto last = sorted.begin() + slot->end;
        auto after =
            std::upper_bound(first, last, t, [](int64_t v, const TimedRow& r) { return v < r.ts; });
        if (after == first) continue;
        const TimedRow& chosen = *(after - 1);
        if (options.ttl_micros > 0 && chosen.ts < t - options.ttl_micros) continue;
        match[row] = chosen.row;
      }
    }
  });
  return match;
}

}  // namespace cairn::features
