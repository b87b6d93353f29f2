#include "auth/login_throttle.h"

#include <algorithm>

namespace cairn::auth {

LoginThrottle::LoginThrottle(Env* env, LoginLimits limits) : env_(env), limits_(limits) {}

int64_t LoginThrottle::WaitMicros(const FailureMap& map, const std::string& key, int free_failures,
                                  int64_t max_delay, int64_t now) const {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  const Failures& f = it->second;
  if (now - f.last_micros >= limits_.forget_after_micros || f.count < free_failures) return 0;
  // Doubling per failure past the free ones; the shift is capped so it
  // cannot overflow before the maximum applies.
  int doublings = std::min(f.count - free_failures, 30);
  int64_t delay = std::min(limits_.first_delay_micros << doublings, max_delay);
  return std::max<int64_t>(0, f.last_micros + delay - now);
}

Status LoginThrottle::Check(std::string_view user, std::string_view address) {
  int64_t now = env_->MonotonicNanos() / 1000;
  int64_t user_wait = 0;
  int64_t address_wait = 0;
  {
    MutexLock lock(&mu_);
    if (!user.empty()) {
      user_wait = WaitMicros(users_, std::string(user), limits_.free_user_failures,
                             limits_.max_delay_micros, now);
    }
    if (!address.empty()) {
      address_wait = WaitMicros(addresses_, std::string(address), limits_.free_address_failures,
                                limits_.max_address_delay_micros, now);
    }
  }
  if (user_wait == 0 && address_wait == 0) return Status::Ok();
  int64_t wait = std::max(user_wait, address_wait);
  std::string who = user_wait >= address_wait ? "for user '" + std::string(user) + "'"
                                              : "from address " + std::string(address);
  int64_t seconds = (wait + 999'999) / 1'000'000;
  return Unauthenticated("Too many failed logins " + who + "; retry in " + std::to_string(seconds) +
                         (seconds == 1 ? " second" : " seconds") +
                         " (an API token, MLFLOW_TRACKING_TOKEN, is not throttled).");
}

void LoginThrottle::Count(FailureMap& map, const std::string& key, int64_t now) {
  if (map.size() >= limits_.max_tracked && map.find(key) == map.end()) {
    // Drop what is quiet anyway; if a flood of names still fills the map,
    // start over rather than grow without bound (hashing stays bounded by
    // the slots either way).
    std::erase_if(map, [&](const auto& entry) {
      return now - entry.second.last_micros >= limits_.forget_after_micros;
    });
    if (map.size() >= limits_.max_tracked) map.clear();
  }
  Failures& f = map[key];
  if (now - f.last_micros >= limits_.forget_after_micros) f.count = 0;
  ++f.count;
  f.last_micros = now;
}

void LoginThrottle::RecordFailure(std::string_view user, std::string_view address) {
  int64_t now = env_->MonotonicNanos() / 1000;
  MutexLock lock(&mu_);
  if (!user.empty()) Count(users_, std::string(user), now);
  if (!address.empty()) Count(addresses_, std::string(address), now);
}

void LoginThrottle::RecordSuccess(std::string_view user) {
  MutexLock lock(&mu_);
  users_.erase(std::string(user));
}

bool LoginThrottle::TryAdmit() {
  MutexLock lock(&mu_);
  if (admitted_ >= limits_.hash_slots + limits_.hash_backlog) return false;
  ++admitted_;
  return true;
}

void LoginThrottle::Leave() {
  MutexLock lock(&mu_);
  if (admitted_ > 0) --admitted_;
}

int LoginThrottle::AdmittedForTest() {
  MutexLock lock(&mu_);
  return admitted_;
}

LoginThrottle::HashSlot::HashSlot(LoginThrottle& throttle) : throttle_(throttle) {
  MutexLock lock(&throttle_.hash_mu_);
  while (throttle_.hashing_ >= throttle_.limits_.hash_slots) throttle_.hash_free_.Wait();
  ++throttle_.hashing_;
}

LoginThrottle::HashSlot::~HashSlot() {
  {
    MutexLock lock(&throttle_.hash_mu_);
    --throttle_.hashing_;
  }
  throttle_.hash_free_.Signal();
}

}  // namespace cairn::auth
