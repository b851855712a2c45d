#include "eval/text_table.h"

#include <algorithm>

namespace recd::eval {
namespace {

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count lead bytes only
  return n;
}

}  // namespace

std::string FormatTextTable(const std::vector<std::string>& header,
                            const std::vector<std::vector<std::string>>& rows,
                            const std::vector<size_t>& right_aligned) {
  size_t cols = header.size();
  for (const auto& r : rows) cols = std::max(cols, r.size());
  std::vector<size_t> width(cols, 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], Width(r[c]));
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto right = [&](size_t c) {
    return std::find(right_aligned.begin(), right_aligned.end(), c) != right_aligned.end();
  };
  std::string out;
  auto emit = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t c = 0; c < cols; ++c) {
      const std::string cell = c < r.size() ? r[c] : "";
      const std::string pad(width[c] - Width(cell), ' ');
      if (c > 0) line += "  ";
      line += right(c) ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(header);
  std::vector<std::string> rule;
  for (size_t c = 0; c < cols; ++c) rule.push_back(std::string(width[c], '-'));
  emit(rule);
  for (const auto& r : rows) emit(r);
  return out;
}

}  // namespace recd::eval
