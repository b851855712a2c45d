#include "core/huge_pages.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace recd::core {
namespace {

// A hint only: ranges without a whole 2 MiB page, null and empty ranges are
// no-ops, and advised memory reads back what was written, before and after.
TEST(HugePagesTest, AdvisedMemoryKeepsItsContents) {
  AdviseHugePages(nullptr, 0);
  AdviseHugePages(nullptr, size_t{64} << 20);
  int small[16] = {};
  AdviseHugePages(small, sizeof(small));

  constexpr size_t kWords = (size_t{8} << 20) / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> before(new uint64_t[kWords]);
  std::iota(before.get(), before.get() + kWords, uint64_t{1});
  AdviseHugePages(before.get(), kWords * sizeof(uint64_t));  // already written
  for (size_t i = 0; i < kWords; i += 4099) ASSERT_EQ(before[i], i + 1);

  std::unique_ptr<uint64_t[]> after(new uint64_t[kWords]);  // untouched yet
  AdviseHugePages(after.get(), kWords * sizeof(uint64_t));
  std::iota(after.get(), after.get() + kWords, uint64_t{7});
  for (size_t i = 0; i < kWords; i += 4099) ASSERT_EQ(after[i], i + 7);
}

}  // namespace
}  // namespace recd::core
