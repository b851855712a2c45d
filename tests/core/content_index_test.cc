#include "core/content_index.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace recd::core {
namespace {

std::vector<uint32_t> Items(const ContentIndex& index, const std::string& key) {
  std::vector<uint32_t> out;
  for (const auto& e : *index.Newest(key)) out.push_back(e.item);
  return out;
}

TEST(ContentIndexTest, KeepsTheNewestPerKeyNewestFirst) {
  ContentIndex index(3);
  index.Add(1, 100, {"c:a"});
  index.Add(2, 300, {"c:a", "t:x"});
  index.Add(3, 200, {"c:a"});
  index.Add(4, 50, {"c:a"});  // older than everything kept
  index.Add(5, 400, {"t:x"});
  EXPECT_EQ(Items(index, "c:a"), (std::vector<uint32_t>{2, 3, 1}));
  EXPECT_EQ(Items(index, "t:x"), (std::vector<uint32_t>{5, 2}));
  EXPECT_EQ(Items(index, ContentIndex::kAll), (std::vector<uint32_t>{5, 2, 3}));
  EXPECT_TRUE(Items(index, "c:none").empty());
}

// The bulk path of start-up must publish exactly the lists that adding the
// same items one by one gives, ties (equal creation times) included.
TEST(ContentIndexTest, BulkLoadingGivesTheSameListsAsAdds) {
  std::mt19937 rng(3);
  ContentIndex one_by_one(20), bulk(20);
  bulk.StartLoading();
  const std::vector<std::string> labels = {"c:a", "c:b", "t:x", "t:y", "t:z"};
  for (uint32_t item = 0; item < 2000; ++item) {
    std::vector<std::string> keys;
    for (const auto& l : labels) {
      if (rng() % 3 == 0) keys.push_back(l);
    }
    const int64_t created = static_cast<int64_t>(rng() % 500);  // many ties
    one_by_one.Add(item, created, keys);
    bulk.Add(item, created, keys);
  }
  EXPECT_TRUE(Items(bulk, "c:a").empty()) << "nothing is published while loading";
  bulk.FinishLoading();
  for (const auto& key : {"c:a", "c:b", "t:x", "t:y", "t:z", ContentIndex::kAll}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(Items(bulk, key), Items(one_by_one, key));
    EXPECT_EQ(Items(bulk, key).size(), 20u);
  }
  // After loading, adds take the normal path again.
  bulk.Add(5000, 10000, {"c:a"});
  EXPECT_EQ(Items(bulk, "c:a").front(), 5000u);
}

}  // namespace
}  // namespace recd::core
