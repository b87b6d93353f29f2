// LoginThrottle: what makes password guessing slow and cheap to refuse.
//
// Failed logins are counted per user name and per source address. After a
// few free failures each further attempt must wait: one second, doubling
// with every failure up to a cap, and the count is forgotten after a quiet
// window. Names are counted whether or not such a user exists, so a lockout
// says nothing about which names are real. A success clears the user's
// count; an address's count only decays, so one valid account cannot be
// used to reset the throttle on guesses at others.
//
// It also bounds the password hashing itself: argon2id costs ~100 ms and up
// to 64 MiB per check by design, so only `hash_slots` run at once, and only
// `hash_backlog` more may wait for a slot. Callers that must not block (the
// HTTP server's IO threads) reserve a place with TryAdmit before handing the
// check to a worker; when none is left the check is refused at once instead
// of piling up workers and memory.
//
// A verified credential is not affected by any of this: the authenticator
// re-checks a cached credential against the stored hash without hashing.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"

namespace cairn::auth {

struct LoginLimits {
  // Failures allowed before attempts must wait.
  int free_user_failures = 5;
  // Higher per address, with a shorter cap: many users may share one (NAT,
  // a reverse proxy, whose address is every client's), so an address
  // lockout must not shut them all out for long.
  int free_address_failures = 50;
  // The wait after the first failure past the free ones; doubles after each.
  int64_t first_delay_micros = 1'000'000;
  int64_t max_delay_micros = 300'000'000;         // 5 minutes, per user.
  int64_t max_address_delay_micros = 30'000'000;  // 30 seconds, per address.
  // A name or address without a failure for this long starts afresh.
  int64_t forget_after_micros = 900'000'000;  // 15 minutes.
  // Password hashes at once (argon2id: up to 64 MiB each).
  int hash_slots = 2;
  // Password checks that may wait for a slot beyond those running.
  int hash_backlog = 2;
  // Names or addresses tracked; beyond it the oldest quiet ones are dropped.
  size_t max_tracked = 100'000;
};

class LoginThrottle {
 public:
  // `env` (the clock) must outlive the throttle.
  LoginThrottle(Env* env, LoginLimits limits);

  // OK when `user` and `address` (either may be empty: not tracked) may try
  // a password now. Errors: Unauthenticated saying how long to wait.
  Status Check(std::string_view user, std::string_view address);
  void RecordFailure(std::string_view user, std::string_view address);
  // Clears the user's failures.
  void RecordSuccess(std::string_view user);

  // Reserves a place for one password check (running or waiting). Returns
  // false when hash_slots + hash_backlog are taken. Never blocks. Each true
  // return must be paired with one Leave().
  bool TryAdmit();
  void Leave();

  // Holds one hashing slot for its lifetime, waiting for one if needed.
  class HashSlot {
   public:
    explicit HashSlot(LoginThrottle& throttle);
    ~HashSlot();
    HashSlot(const HashSlot&) = delete;
    HashSlot& operator=(const HashSlot&) = delete;

   private:
    LoginThrottle& throttle_;
  };

  // Places taken by TryAdmit and not yet left (tests, metrics).
  int AdmittedForTest();

 private:
  struct Failures {
    int count = 0;
    int64_t last_micros = 0;
  };
  using FailureMap = std::unordered_map<std::string, Failures>;

  // Microseconds until `key` may try again (0: now).
  int64_t WaitMicros(const FailureMap& map, const std::string& key, int free_failures,
                     int64_t max_delay, int64_t now) const;
  void Count(FailureMap& map, const std::string& key, int64_t now);

  Env* env_;
  const LoginLimits limits_;

  Mutex mu_;
  FailureMap users_ GUARDED_BY(mu_);
  FailureMap addresses_ GUARDED_BY(mu_);
  int admitted_ GUARDED_BY(mu_) = 0;

  Mutex hash_mu_;
  CondVar hash_free_{&hash_mu_};
  int hashing_ GUARDED_BY(hash_mu_) = 0;
};

}  // namespace cairn::auth
