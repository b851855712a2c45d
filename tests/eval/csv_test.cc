#include "eval/csv.h"

#include "eval/line_reader.h"
#include "gtest/gtest.h"
#include "tests/eval/file_util.h"
#include "tests/test_util.h"

namespace recd::eval {
namespace {

using Fields = std::vector<std::string>;

TEST(SplitCsvRecord, QuotedDelimitersEscapedQuotesAndEmptyFields) {
  Fields f;
  ASSERT_EQ(SplitCsvRecord(R"(a,"Marseille, France",,"say ""hi""",)", ',', &f), CsvParse::kOk);
  EXPECT_EQ(f, (Fields{"a", "Marseille, France", "", "say \"hi\"", ""}));
  ASSERT_EQ(SplitCsvRecord("", ',', &f), CsvParse::kOk);
  EXPECT_EQ(f, (Fields{""}));
  ASSERT_EQ(SplitCsvRecord("x\t\"y\tz\"", '\t', &f), CsvParse::kOk);
  EXPECT_EQ(f, (Fields{"x", "y\tz"}));
  // A quote inside an unquoted field is an ordinary character.
  ASSERT_EQ(SplitCsvRecord(R"(5" screen,b)", ',', &f), CsvParse::kOk);
  EXPECT_EQ(f, (Fields{"5\" screen", "b"}));
}

TEST(SplitCsvRecord, OpenQuoteIsIncompleteAndTextAfterQuoteIsBad) {
  Fields f;
  EXPECT_EQ(SplitCsvRecord(R"(a,"open)", ',', &f), CsvParse::kIncomplete);
  EXPECT_EQ(SplitCsvRecord(R"(a,"x"y,b)", ',', &f), CsvParse::kBadQuote);
}

TEST(CsvReader, JoinsLinesOfAQuotedFieldAndReportsStartLine) {
  recd::testing::TempDir dir;
  const std::string path = dir.Sub("t.csv");
  testing::WriteText(path, "h1,h2\n1,\"two\nlines\"\n3,x\n");
  auto lines = LineReader::Open(path);
  ASSERT_TRUE(lines.ok());
  CsvReader csv(lines->get(), ',');
  Fields f;
  ASSERT_TRUE(csv.Next(&f));
  ASSERT_TRUE(csv.Next(&f));
  EXPECT_EQ(f, (Fields{"1", "two\nlines"}));
  EXPECT_EQ(csv.line_number(), 2);
  ASSERT_TRUE(csv.Next(&f));
  EXPECT_EQ(f, (Fields{"3", "x"}));
  EXPECT_EQ(csv.line_number(), 4);
  EXPECT_FALSE(csv.Next(&f));
  EXPECT_TRUE(csv.status().ok());
}

TEST(CsvReader, UnclosedQuoteAtEndOfFileNamesFileAndLine) {
  recd::testing::TempDir dir;
  const std::string path = dir.Sub("bad.csv");
  testing::WriteText(path, "a,b\n\"never closed,x\ny\n");
  auto lines = LineReader::Open(path);
  ASSERT_TRUE(lines.ok());
  CsvReader csv(lines->get(), ',');
  Fields f;
  ASSERT_TRUE(csv.Next(&f));
  EXPECT_FALSE(csv.Next(&f));
  EXPECT_EQ(csv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(csv.status().message().find("bad.csv:2"), std::string::npos) << csv.status();
}

}  // namespace
}  // namespace recd::eval
