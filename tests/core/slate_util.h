// Helpers for tests that read core::Slate results (engine and sources tests).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/recommender.h"

namespace recd::core::test {

inline std::vector<std::string> Ids(const Slate& s) {
  std::vector<std::string> ids;
  for (const auto& it : s.items) ids.push_back(it.item_id);
  return ids;
}

inline bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

inline int IndexOf(const std::vector<std::string>& v, const std::string& x) {
  auto it = std::find(v.begin(), v.end(), x);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

inline const RankedItem* Find(const Slate& s, const std::string& id) {
  for (const auto& it : s.items) {
    if (it.item_id == id) return &it;
  }
  return nullptr;
}

inline const Contribution* ReasonOf(const RankedItem& item, const std::string& source) {
  for (const auto& c : item.reasons) {
    if (c.source == source) return &c;
  }
  return nullptr;
}

inline bool HasReason(const RankedItem& item, const std::string& source) {
  return ReasonOf(item, source) != nullptr;
}

}  // namespace recd::core::test
