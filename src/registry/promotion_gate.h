// PromotionGate: what must hold before a model version may move into a
// guarded stage (Production) or onto a guarded alias (champion). The
// registry asks its gate inside the transaction that would make the move,
// so a passing check and the move commit together. Governance implements it
// (policies with metric gates and approvals); without a gate every move is
// allowed, as in MLflow.
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/metadata_store.h"

namespace cairn::registry {

struct Promotion {
  std::string model;          // Registered model name.
  int64_t version = 0;        // The candidate.
  std::string target;         // "stage:Production" or "alias:champion".
  std::string candidate_run;  // The candidate's run id ("" if none).
  // What holds the target now (the newest version in the stage, or the
  // alias's version), if anything other than the candidate.
  std::optional<int64_t> incumbent;
  std::string incumbent_run;
  std::string user;  // Who asks ("" without authentication).
};

class PromotionGate {
 public:
  virtual ~PromotionGate() = default;
  // OK to move. Errors: PermissionDenied listing every unmet requirement and
  // how to meet it. May write (e.g. mark an approval used) in `db`.
  virtual Status Allow(store::SqlSession& db, const Promotion& promotion) = 0;
};

}  // namespace cairn::registry
