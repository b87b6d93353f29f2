#include "online/redis/redis_online_store.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <mutex>
#include <vector>

namespace cairn::online {
namespace {

// Applies the write rule to each key of the batch: a record replaces the
// stored one unless the stored header (event, created) sorts after it.
// Returns how many were written.
constexpr char kWriteScript[] = R"lua(
local written = 0
for i, key in ipairs(KEYS) do
  local incoming = ARGV[i]
  local existing = redis.call('GETRANGE', key, 0, 31)
  if existing == '' or existing <= string.sub(incoming, 1, 32) then
    redis.call('SET', key, incoming)
    written = written + 1
  end
end
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
    std::string sha = ScriptSha();
    std::vector<std::string> keys;
    keys.reserve(rows.size());
    for (const OnlineWrite& row : rows) keys.push_back(StoreKey(table, row.key));
    // All batches are sent before any reply is read: one round trip's wait
    // for the whole write instead of one per batch.
    size_t batches = 0;
    for (size_t begin = 0; begin < rows.size(); begin += kKeysPerScript) {
      size_t n = std::min(kKeysPerScript, rows.size() - begin);
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      std::string count = std::to_string(n);
      argv = {"EVALSHA", sha.c_str(), count.c_str()};
      lengths = {7, sha.size(), count.size()};
      for (size_t i = 0; i < n; ++i) {
        argv.push_back(keys[begin + i].data());
        lengths.push_back(keys[begin + i].size());
      }
      for (size_t i = 0; i < n; ++i) {
        argv.push_back(rows[begin + i].stored.data());
        lengths.push_back(rows[begin + i].stored.size());
      }
      if (redisAppendCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return ConnectionError(c.get());
      }
      ++batches;
    }
    WriteCounts counts;
    Status refused = Status::Ok();
    for (size_t b = 0; b < batches; ++b) {  // every reply is read, so the connection stays usable
      void* raw = nullptr;
      if (redisGetReply(c.get(), &raw) != REDIS_OK) return ConnectionError(c.get());
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        if (refused.ok())
          refused = Unavailable(std::string("Redis refused a write: ") + reply->str);
        continue;
      }
      counts.written += static_cast<size_t>(reply->integer);
    }
    // A connection that saw an error is dropped: after NOSCRIPT (a flushed or
    // failed-over Redis) a new connection loads the script again.
    if (refused.ok()) Release(std::move(c));
    RETURN_IF_ERROR(refused);
    counts.kept_newer = rows.size() - counts.written;
    return counts;
  }

  Status Read(std::string_view table, std::span<const std::string> keys,
              std::vector<std::optional<OnlineRecord>>* out) override {
    out->assign(keys.size(), std::nullopt);
    if (keys.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(Context c, Acquire());
    std::vector<std::string> store_keys;
    std::vector<const char*> argv = {"MGET"};
    std::vector<size_t> lengths = {4};
    store_keys.reserve(keys.size());
    for (const std::string& k : keys) {
      store_keys.push_back(StoreKey(table, k));
      argv.push_back(store_keys.back().data());
      lengths.push_back(store_keys.back().size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) return ConnectionError(c.get());
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size()) {
      Release(std::move(c));
      return Unavailable("Redis answered MGET unexpectedly");
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      redisReply* item = reply->element[i];
      if (item->type != REDIS_REPLY_STRING) continue;
      StatusOr<OnlineRecord> record = DecodeStored(std::string_view(item->str, item->len));
      if (!record.ok()) {
        Release(std::move(c));
        return record.status();
      }
      (*out)[i] = std::move(*record);
    }
    Release(std::move(c));
    return Status::Ok();
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

  Status ConnectionError(redisContext* c) {
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
    std::lock_guard<std::mutex> lock(mu_);
    script_sha_ = std::string(loaded->str, loaded->len);
    return c;
  }

  std::string ScriptSha() {
    std::lock_guard<std::mutex> lock(mu_);
    return script_sha_;
  }

  StatusOr<Context> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        Context c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return NewContext();
  }

  void Release(Context c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < 64) idle_.push_back(std::move(c));
  }

  RedisAddress address_;
  std::mutex mu_;
  std::vector<Context> idle_;  // GUARDED_BY(mu_)
  std::string script_sha_;     // GUARDED_BY(mu_); the same digest every time it is set
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
