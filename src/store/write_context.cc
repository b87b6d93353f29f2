#include "store/write_context.h"

namespace cairn::store {
namespace {

thread_local std::shared_ptr<const WriteContext> current_context;

}  // namespace

ScopedWriteContext::ScopedWriteContext(std::shared_ptr<const WriteContext> context)
    : previous_(std::move(current_context)) {
  current_context = std::move(context);
}

ScopedWriteContext::~ScopedWriteContext() { current_context = std::move(previous_); }

std::shared_ptr<const WriteContext> ScopedWriteContext::Current() { return current_context; }

}  // namespace cairn::store
