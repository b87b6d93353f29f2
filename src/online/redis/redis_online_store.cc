#include "online/redis/redis_online_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"

namespace cairn::online {
namespace {

// Applies the write rule to each key of the batch: a record replaces the
// stored one unless the stored header (event, created) sorts after it. A key
// given twice is compared with the row already chosen for it, not with what
// was stored before the batch. Returns how many rows were written.
// One MGET and one MSET per batch: a script's calls into Redis cost more
// than its own work, so two calls per batch instead of two per key.
constexpr char kWriteScript[] = R"lua(
local existing = redis.call('MGET', unpack(KEYS))
local chosen = {}
local keys = {}
local written = 0
for i, key in ipairs(KEYS) do
  local old = chosen[key] or existing[i]
  local incoming = ARGV[i]
  if not old or string.sub(old, 1, 32) <= string.sub(incoming, 1, 32) then
    if not chosen[key] then keys[#keys + 1] = key end
    chosen[key] = incoming
    written = written + 1
  end
end
local updates = {}
for _, key in ipairs(keys) do
  updates[#updates + 1] = key
  updates[#updates + 1] = chosen[key]
end
if #updates > 0 then redis.call('MSET', unpack(updates)) end
return written
)lua";

constexpr size_t kKeysPerScript = 512;

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
};

StatusOr<RedisAddress> ParseRedisUri(const std::string& uri) {
  constexpr std::string_view kScheme = "redis://";
  Status bad =
      InvalidArgument("--online-store '" + uri +
                      "' is not a Redis URI; expected redis://[:password@]host[:port][/db]");
  if (uri.rfind(kScheme, 0) != 0) return bad;
  std::string rest = uri.substr(kScheme.size());
  RedisAddress a;
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    a.password = auth.find(':') != std::string::npos ? auth.substr(auth.find(':') + 1) : auth;
    rest = rest.substr(at + 1);
  }
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || end != db.data() + db.size()) return bad;
    }
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || end != port.data() + port.size()) return bad;
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) a.host = rest;
  return a;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

class RedisOnlineStore : public OnlineStore {
 public:
  explicit RedisOnlineStore(RedisAddress address) : address_(std::move(address)) {}

  ~RedisOnlineStore() override {
    {
      MutexLock lock(&reads_mu_);
      stopping_ = true;
    }
    reads_cv_.SignalAll();
    for (std::unique_ptr<Thread>& t : pipelines_) t->Join();
  }

  bool ReadsBlock() const override { return true; }

  std::string DisplayUri() const override {
    return "redis://" + address_.host + ":" + std::to_string(address_.port) + "/" +
           std::to_string(address_.db);
  }

  Status Connect() {
    ASSIGN_OR_RETURN(Context c, NewContext());
    Release(std::move(c));
    return Status::Ok();
  }

  StatusOr<WriteCounts> Write(std::string_view table, std::span<const OnlineWrite> rows) override {
    ASSIGN_OR_RETURN(Context c, Acquire());
    std::vector<std::string> keys;
    keys.reserve(rows.size());
    for (const OnlineWrite& row : rows) keys.push_back(StoreKey(table, row.key));
    std::vector<size_t> to_compare(rows.size());
    std::iota(to_compare.begin(), to_compare.end(), 0);
    WriteCounts counts;
    // A first load (no key of the sample stored) writes with MSETNX, which
    // costs Redis a fraction of the script; groups with a key that turns out
    // to exist go through the script after all, so the rule holds either
    // way. Not when a key repeats: MSETNX would keep its last row, not its
    // newest.
    ASSIGN_OR_RETURN(bool fresh, NoneStored(c.get(), keys));
    if (fresh && AllDistinct(keys)) {
      ASSIGN_OR_RETURN(to_compare, SetAbsent(c.get(), keys, rows, &counts.written));
    }
    ASSIGN_OR_RETURN(size_t replaced, CompareAndSet(c.get(), keys, rows, to_compare));
    counts.written += replaced;
    counts.kept_newer = rows.size() - counts.written;
    Release(std::move(c));
    return counts;
  }

  Status Read(std::string_view table, std::span<const std::string> keys,
              std::vector<std::optional<OnlineRecord>>* out) override {
    out->assign(keys.size(), std::nullopt);
    if (keys.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(Context c, Acquire());
    std::vector<std::string> store_keys;
    store_keys.reserve(keys.size());
    for (const std::string& k : keys) store_keys.push_back(StoreKey(table, k));
    if (Status sent = AppendMget(c.get(), store_keys); !sent.ok()) return sent;
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK) return ConnectionError(c.get());
    Reply reply(static_cast<redisReply*>(raw));
    RETURN_IF_ERROR(DecodeMget(*reply, keys.size(), out));
    Release(std::move(c));
    return Status::Ok();
  }

  // Reads of concurrent requests go out together: a pipelining thread takes
  // every read queued since its last round trip, sends them in one write on
  // its connection and reads the replies in order, so Redis parses many
  // commands per wake-up and no request holds a connection (or a thread)
  // while it waits. The callbacks (which build responses) run on that
  // thread; kPipelines of them take turns, so large responses are built in
  // parallel while the next round is on the wire.
  void ReadAsync(std::string_view table, std::vector<std::string> keys, ReadDone done) override {
    if (keys.empty()) {
      done(Status::Ok(), {});
      return;
    }
    for (std::string& k : keys) k = StoreKey(table, k);
    Status refused;
    ReadDone unanswered;
    {
      MutexLock lock(&reads_mu_);
      while (refused.ok() && pipelines_.size() < kPipelines) {
        StatusOr<std::unique_ptr<Thread>> thread = Env::Default()->StartThread(
            "redis-pipe-" + std::to_string(pipelines_.size()), [this] { PipelineReads(); });
        if (thread.ok()) {
          pipelines_.push_back(std::move(*thread));
        } else if (pipelines_.empty()) {
          refused = thread.status();  // none to answer: this read fails, the next tries again
        } else {
          break;  // one is enough to answer; more are tried next time
        }
      }
      if (refused.ok()) {
        queued_.push_back({std::move(keys), std::move(done)});
      } else {
        unanswered = std::move(done);
      }
    }
    if (unanswered) {  // outside the lock: the callback may read again
      unanswered(refused, {});
      return;
    }
    reads_cv_.Signal();
  }

  Status DropTable(std::string_view table) override {
    ASSIGN_OR_RETURN(Context c, Acquire());
    std::string pattern = "cairn:" + std::string(table) + ":*";
    std::string cursor = "0";
    do {
      Reply reply(static_cast<redisReply*>(redisCommand(
          c.get(), "SCAN %s MATCH %b COUNT 1000", cursor.c_str(), pattern.data(), pattern.size())));
      if (!reply) return ConnectionError(c.get());
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        return Unavailable("Redis answered SCAN unexpectedly");
      }
      cursor = std::string(reply->element[0]->str, reply->element[0]->len);
      redisReply* found = reply->element[1];
      if (found->elements > 0) {
        std::vector<const char*> argv = {"UNLINK"};
        std::vector<size_t> lengths = {6};
        for (size_t i = 0; i < found->elements; ++i) {
          argv.push_back(found->element[i]->str);
          lengths.push_back(found->element[i]->len);
        }
        Reply unlinked(static_cast<redisReply*>(
            redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
        if (!unlinked) return ConnectionError(c.get());
      }
    } while (cursor != "0");
    Release(std::move(c));
    return Status::Ok();
  }

 private:
  static std::string StoreKey(std::string_view table, std::string_view entity_key) {
    std::string key = "cairn:";
    key += table;
    key += ':';
    key += entity_key;
    return key;
  }

  static bool AllDistinct(const std::vector<std::string>& keys) {
    // Materialization writes keys in order, so this is one pass.
    if (std::adjacent_find(keys.begin(), keys.end(), std::greater_equal<>()) == keys.end()) {
      return true;
    }
    std::vector<std::string_view> sorted(keys.begin(), keys.end());
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
  }

  // True when none of the first keys is stored.
  StatusOr<bool> NoneStored(redisContext* c, const std::vector<std::string>& keys) {
    constexpr size_t kSample = 64;
    if (keys.empty()) return false;
    std::vector<const char*> argv = {"EXISTS"};
    std::vector<size_t> lengths = {6};
    for (size_t i = 0; i < keys.size() && i < kSample; ++i) {
      argv.push_back(keys[i].data());
      lengths.push_back(keys[i].size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) return ConnectionError(c);
    if (reply->type != REDIS_REPLY_INTEGER)
      return Unavailable("Redis answered EXISTS unexpectedly");
    return reply->integer == 0;
  }

  // Sends `command` for each of `count` items, pipelined and flushed as it
  // goes so Redis works while the rest is built, then hands each reply to
  // `take`. Every reply is read, so the connection stays usable after a
  // refused command; the first refusal is returned (and the connection
  // should then be dropped: after NOSCRIPT, a new one loads the script).
  template <typename BuildArgs, typename TakeReply>
  Status Pipeline(redisContext* c, size_t count, size_t flush_every, BuildArgs build,
                  TakeReply take) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (size_t i = 0; i < count; ++i) {
      argv.clear();
      lengths.clear();
      build(i, &argv, &lengths);
      if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
          REDIS_OK) {
        return ConnectionError(c);
      }
      if ((i + 1) % flush_every == 0 || i + 1 == count) {
        for (int done = 0; !done;) {
          if (redisBufferWrite(c, &done) != REDIS_OK) return ConnectionError(c);
        }
      }
    }
    Status refused = Status::Ok();
    for (size_t i = 0; i < count; ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return ConnectionError(c);
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        if (refused.ok())
          refused = Unavailable(std::string("Redis refused a write: ") + reply->str);
        continue;
      }
      take(i, *reply);
    }
    return refused;
  }

  // MSETNX for groups of kKeysPerScript rows; returns the rows of the groups
  // that were not written because some key of theirs was already stored
  // (MSETNX sets all of a group or none). One command per group instead of
  // a SET NX per row: Redis spends more on each command than on each key.
  StatusOr<std::vector<size_t>> SetAbsent(redisContext* c, const std::vector<std::string>& keys,
                                          std::span<const OnlineWrite> rows, size_t* written) {
    std::vector<size_t> stored;
    size_t groups = (rows.size() + kKeysPerScript - 1) / kKeysPerScript;
    auto group_rows = [&](size_t g) {
      size_t begin = g * kKeysPerScript;
      return std::pair(begin, std::min(rows.size(), begin + kKeysPerScript));
    };
    RETURN_IF_ERROR(Pipeline(
        c, groups, /*flush_every=*/1,
        [&](size_t g, std::vector<const char*>* argv, std::vector<size_t>* lengths) {
          *argv = {"MSETNX"};
          *lengths = {6};
          auto [begin, end] = group_rows(g);
          for (size_t i = begin; i < end; ++i) {
            argv->insert(argv->end(), {keys[i].data(), rows[i].stored.data()});
            lengths->insert(lengths->end(), {keys[i].size(), rows[i].stored.size()});
          }
        },
        [&](size_t g, const redisReply& reply) {
          auto [begin, end] = group_rows(g);
          if (reply.type == REDIS_REPLY_INTEGER && reply.integer == 1) {
            *written += end - begin;
          } else {
            for (size_t i = begin; i < end; ++i) stored.push_back(i);
          }
        }));
    return stored;
  }

  // Runs the write script over `which` rows, kKeysPerScript at a time;
  // returns how many it wrote.
  StatusOr<size_t> CompareAndSet(redisContext* c, const std::vector<std::string>& keys,
                                 std::span<const OnlineWrite> rows, std::span<const size_t> which) {
    std::string sha = ScriptSha();
    size_t batches = (which.size() + kKeysPerScript - 1) / kKeysPerScript;
    std::string count;
    size_t written = 0;
    RETURN_IF_ERROR(Pipeline(
        c, batches, /*flush_every=*/1,
        [&](size_t b, std::vector<const char*>* argv, std::vector<size_t>* lengths) {
          std::span<const size_t> batch = which.subspan(
              b * kKeysPerScript, std::min(kKeysPerScript, which.size() - b * kKeysPerScript));
          count = std::to_string(batch.size());
          *argv = {"EVALSHA", sha.c_str(), count.c_str()};
          *lengths = {7, sha.size(), count.size()};
          for (size_t i : batch) {
            argv->push_back(keys[i].data());
            lengths->push_back(keys[i].size());
          }
          for (size_t i : batch) {
            argv->push_back(rows[i].stored.data());
            lengths->push_back(rows[i].stored.size());
          }
        },
        [&](size_t, const redisReply& reply) { written += static_cast<size_t>(reply.integer); }));
    return written;
  }

  static constexpr size_t kPipelines = 2;

  struct QueuedRead {
    std::vector<std::string> keys;  // store keys
    ReadDone done;
  };

  static Status AppendMget(redisContext* c, const std::vector<std::string>& store_keys) {
    std::vector<const char*> argv = {"MGET"};
    std::vector<size_t> lengths = {4};
    for (const std::string& k : store_keys) {
      argv.push_back(k.data());
      lengths.push_back(k.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      return Unavailable("Redis: cannot queue MGET (out of memory)");
    }
    return Status::Ok();
  }

  static Status DecodeMget(const redisReply& reply, size_t keys,
                           std::vector<std::optional<OnlineRecord>>* out) {
    out->assign(keys, std::nullopt);
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != keys) {
      return Unavailable(reply.type == REDIS_REPLY_ERROR
                             ? std::string("Redis refused a read: ") + reply.str
                             : std::string("Redis answered MGET unexpectedly"));
    }
    for (size_t i = 0; i < keys; ++i) {
      redisReply* item = reply.element[i];
      if (item->type != REDIS_REPLY_STRING) continue;
      ASSIGN_OR_RETURN((*out)[i], DecodeStored(std::string_view(item->str, item->len)));
    }
    return Status::Ok();
  }

  // The pipelining thread (see ReadAsync). A connection that fails fails the
  // reads in flight on it and is replaced for the next round.
  void PipelineReads() {
    Context c;
    std::vector<QueuedRead> round;
    std::vector<std::optional<OnlineRecord>> records;
    for (;;) {
      {
        MutexLock lock(&reads_mu_);
        while (!stopping_ && queued_.empty()) reads_cv_.Wait();
        if (queued_.empty()) return;  // stopping, with nothing left to answer
        round.swap(queued_);
      }
      Status status = Status::Ok();
      if (c == nullptr) {
        StatusOr<Context> made = NewContext();
        if (made.ok()) {
          c = std::move(*made);
        } else {
          status = made.status();
        }
      }
      for (size_t i = 0; i < round.size() && status.ok(); ++i) {
        status = AppendMget(c.get(), round[i].keys);
      }
      for (int done = 0; status.ok() && !done;) {
        if (redisBufferWrite(c.get(), &done) != REDIS_OK) status = ConnectionError(c.get());
      }
      for (QueuedRead& read : round) {
        records.clear();
        Status answer = status;
        if (status.ok()) {
          void* raw = nullptr;
          if (redisGetReply(c.get(), &raw) != REDIS_OK) {
            status = answer = ConnectionError(c.get());
          } else {
            Reply reply(static_cast<redisReply*>(raw));
            answer = DecodeMget(*reply, read.keys.size(), &records);
          }
        }
        read.done(std::move(answer), std::move(records));
      }
      if (!status.ok()) c.reset();
      round.clear();
    }
  }

  Status ConnectionError(redisContext* c) const {
    // The context is dropped (not returned to the pool): its stream may hold
    // half a reply.
    return Unavailable("Redis at " + address_.host + ":" + std::to_string(address_.port) + ": " +
                       (c->errstr[0] != '\0' ? c->errstr : "connection lost"));
  }

  StatusOr<Context> NewContext() {
    timeval timeout{2, 0};
    Context c(redisConnectWithTimeout(address_.host.c_str(), address_.port, timeout));
    if (!c || c->err != 0) {
      return Unavailable("cannot reach Redis at " + address_.host + ":" +
                         std::to_string(address_.port) + ": " + (c ? c->errstr : "out of memory") +
                         "; is redis-server running (--online-store)?");
    }
    timeval command_timeout{10, 0};
    redisSetTimeout(c.get(), command_timeout);
    if (!address_.password.empty()) {
      Reply r(
          static_cast<redisReply*>(redisCommand(c.get(), "AUTH %s", address_.password.c_str())));
      if (!r || r->type == REDIS_REPLY_ERROR) return Unavailable("Redis refused the password");
    }
    if (address_.db != 0) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", address_.db)));
      if (!r || r->type == REDIS_REPLY_ERROR) {
        return Unavailable("Redis refused database " + std::to_string(address_.db));
      }
    }
    // Loading is idempotent; every new connection makes sure the script is
    // there (a restarted Redis has forgotten it).
    Reply loaded(static_cast<redisReply*>(redisCommand(c.get(), "SCRIPT LOAD %s", kWriteScript)));
    if (!loaded || loaded->type != REDIS_REPLY_STRING) {
      return Unavailable("Redis refused the write script (SCRIPT LOAD)");
    }
    MutexLock lock(&mu_);
    script_sha_ = std::string(loaded->str, loaded->len);
    return c;
  }

  std::string ScriptSha() {
    MutexLock lock(&mu_);
    return script_sha_;
  }

  StatusOr<Context> Acquire() {
    {
      MutexLock lock(&mu_);
      if (!idle_.empty()) {
        Context c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return NewContext();
  }

  void Release(Context c) {
    MutexLock lock(&mu_);
    if (idle_.size() < 64) idle_.push_back(std::move(c));
  }

  RedisAddress address_;
  Mutex mu_;
  std::vector<Context> idle_ GUARDED_BY(mu_);
  std::string script_sha_ GUARDED_BY(mu_);  // The same digest every time it is set.
  Mutex reads_mu_;
  CondVar reads_cv_{&reads_mu_};
  std::vector<QueuedRead> queued_ GUARDED_BY(reads_mu_);
  bool stopping_ GUARDED_BY(reads_mu_) = false;
  std::vector<std::unique_ptr<Thread>> pipelines_
      GUARDED_BY(reads_mu_);  // Started by the first ReadAsync.
};

}  // namespace

StatusOr<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const std::string& uri) {
  ASSIGN_OR_RETURN(RedisAddress address, ParseRedisUri(uri));
  auto store = std::make_unique<RedisOnlineStore>(std::move(address));
  RETURN_IF_ERROR(store->Connect());
  return std::unique_ptr<OnlineStore>(std::move(store));
}

void RegisterRedisOnlineStore(OnlineStoreRegistry* registry) {
  registry->Register("redis", OpenRedisOnlineStore);
}

}  // namespace cairn::online
