// Transparent huge pages for the large, randomly read arrays (the HNSW
// graph, the catalog rows). At a million items every random read of them
// also missed the TLB: 4 KiB pages over hundreds of MiB are far more than
// the TLB covers, so each read first walked the page tables (more cache
// misses). A 2 MiB page covers 512 of them.
#pragma once

#include <cstddef>

namespace recd::core {

// Advises the kernel to back the whole 2 MiB pages inside [p, p + len) with
// transparent huge pages (madvise MADV_HUGEPAGE; honoured when THP is
// "always" or "madvise"). Call before the memory is first written: pages
// faulted in afterwards come huge. A hint: failures are ignored.
void AdviseHugePages(const void* p, size_t len);

}  // namespace recd::core
