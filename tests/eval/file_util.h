// File helpers for the eval tests: tiny fixtures written into a temp dir.
#pragma once

#include <zlib.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace recd::eval::testing {

inline void WriteText(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

// Writes content gzip-compressed with zlib.
inline void WriteGz(const std::string& path, const std::string& content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << path;
  ASSERT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace recd::eval::testing
