#include "eval/text_table.h"

#include "gtest/gtest.h"

namespace recd::eval {
namespace {

TEST(FormatTextTable, PadsColumnsAndAlignsNumbersRight) {
  const std::string t = FormatTextTable({"name", "k", "nDCG"},
                                        {{"ann", "10", "0.4750"}, {"popular", "5", "0.1"}}, {1, 2});
  EXPECT_EQ(t,
            "name      k    nDCG\n"
            "-------  --  ------\n"
            "ann      10  0.4750\n"
            "popular   5     0.1\n");
}

TEST(FormatTextTable, CountsUtf8CodePointsAndFillsMissingCells) {
  const std::string t = FormatTextTable({"a", "b"}, {{"caf\xc3\xa9", "1"}, {"x"}});
  EXPECT_EQ(t,
            "a     b\n"
            "----  -\n"
            "caf\xc3\xa9  1\n"
            "x\n");
}

}  // namespace
}  // namespace recd::eval
