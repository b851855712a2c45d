// Fixed-width text tables for terminals and logs.
#pragma once

#include <string>
#include <vector>

namespace recd::eval {

// Renders header + rows in columns padded to the widest cell (counted in
// UTF-8 code points), separated by two spaces, with a dashed rule under the
// header. Columns listed in right_aligned (0-based) are right-aligned, the
// others left-aligned. Missing cells are blank; every line ends in '\n' and
// carries no trailing spaces.
std::string FormatTextTable(const std::vector<std::string>& header,
                            const std::vector<std::vector<std::string>>& rows,
                            const std::vector<size_t>& right_aligned = {});

}  // namespace recd::eval
