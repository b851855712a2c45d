#include "eval/line_reader.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/eval/file_util.h"
#include "tests/test_util.h"

namespace recd::eval {
namespace {

std::vector<std::string> ReadAll(const std::string& path, absl::Status* status) {
  auto r = LineReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  std::vector<std::string> out;
  if (!r.ok()) return out;
  absl::string_view line;
  while ((*r)->Next(&line)) out.emplace_back(line.data(), line.size());
  *status = (*r)->status();
  return out;
}

TEST(LineReader, PlainAndGzipGiveTheSameLines) {
  recd::testing::TempDir dir;
  std::string big;
  for (int i = 0; i < 30000; ++i) big += "line " + std::to_string(i) + "\r\n";  // > one chunk
  big += "last without newline";
  testing::WriteText(dir.Sub("a.txt"), big);
  testing::WriteGz(dir.Sub("a.txt.gz"), big);
  absl::Status s1, s2;
  std::vector<std::string> plain = ReadAll(dir.Sub("a.txt"), &s1);
  std::vector<std::string> gz = ReadAll(dir.Sub("a.txt.gz"), &s2);
  EXPECT_TRUE(s1.ok());
  EXPECT_TRUE(s2.ok());
  ASSERT_EQ(plain.size(), 30001u);
  EXPECT_EQ(plain, gz);
  EXPECT_EQ(plain[12345], "line 12345");  // "\r" stripped
  EXPECT_EQ(plain.back(), "last without newline");
}

TEST(LineReader, TruncatedGzipIsAnError) {
  recd::testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "row " + std::to_string(i * 7919) + "\n";
  const std::string path = dir.Sub("t.gz");
  testing::WriteGz(path, text);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  absl::Status status;
  std::vector<std::string> lines = ReadAll(path, &status);
  EXPECT_LT(lines.size(), 20000u);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("t.gz"), std::string::npos) << status;
}

TEST(LineReader, MissingFileIsNotFound) {
  recd::testing::TempDir dir;
  auto r = LineReader::Open(dir.Sub("nope.txt"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LineReader::Open(dir.path()).status().code(), absl::StatusCode::kInvalidArgument);
  testing::WriteText(dir.Sub("x.dat.gz"), "");
  auto found = FindPlainOrGz(dir.Sub("x.dat"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, dir.Sub("x.dat.gz"));
  EXPECT_EQ(FindPlainOrGz(dir.Sub("y.dat")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recd::eval
