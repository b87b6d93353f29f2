// Transparent huge pages for large, freshly reserved buffers.
//
// Debian's kernels hand out 2 MiB pages only where a program asks
// (transparent_hugepage=madvise). A 100 MB column filled row by row otherwise
// takes 25,000 page faults of 4 kB, and on virtual machines a fault costs
// several microseconds: materialization spent a quarter of its time in them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>

namespace cairn {

// Asks the kernel to back the whole 2 MiB-aligned pages inside
// [data, data + bytes) with huge pages when they are first touched. Pages
// already touched are left as they are; small buffers (under 4 MiB) are
// ignored. Advice only: never fails, never changes what the memory holds.
void AdviseHugePages(const void* data, size_t bytes);

// v.reserve(n), then AdviseHugePages over the reserved space. For a buffer
// about to be filled in one go.
template <class Container>
void ReserveHuge(Container& v, size_t n) {
  v.reserve(n);
  AdviseHugePages(v.data(), v.capacity() * sizeof(*v.data()));
}

}  // namespace cairn
