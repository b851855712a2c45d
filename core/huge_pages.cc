#include "core/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace recd::core {

void AdviseHugePages(const void* p, size_t len) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + len) & ~(kHuge - 1);
  if (p == nullptr || end <= begin) return;
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace recd::core
