// Names of the candidate sources (and the stages that add items), shared by
// ranking, impressions, attribution and metrics. Config names are these.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace recd::core {

enum class Source : uint8_t {
  kAnn,
  kCovisit,
  kContent,
  kTrending,
  kPopular,
  kContinuation,
  kFresh,    // fallback: newest eligible items when the sources run short
  kExplore,  // exploration stage
  kCount
};
inline constexpr int kNumSources = static_cast<int>(Source::kCount);
inline constexpr std::array<std::string_view, kNumSources> kSourceNames = {
    "ann", "covisit", "content", "trending", "popular", "continuation", "fresh", "explore"};

inline std::string_view SourceName(Source s) { return kSourceNames[static_cast<int>(s)]; }
inline std::optional<Source> SourceFromName(std::string_view name) {
  for (int i = 0; i < kNumSources; ++i) {
    if (kSourceNames[i] == name) return static_cast<Source>(i);
  }
  return std::nullopt;
}

}  // namespace recd::core
