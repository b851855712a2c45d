// Strict loader for the recd configuration file (schema:
// proto/recd/v1/config.proto, reference: config/README.md).
//
// The YAML file is laid over DefaultConfig() with protobuf reflection: a
// nested message given in the file is merged key by key, a map or list given
// in the file replaces the default one as a whole. Unknown keys, values of
// the wrong type and values out of range are INVALID_ARGUMENT errors whose
// message starts with the field's dotted path, e.g.
//   "limits.max_k: expected an integer, got "abc" (line 3, column 10)"
//   "surfaces.home.source_weights.ann: must be finite and >= 0, got -1"
//
// All functions are thread-safe (no shared state) and never throw.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "recd/v1/config.pb.h"

namespace recd::config {

using recd::v1::config::Config;

// Candidate sources a surface may blend (the keys allowed in
// Surface.source_weights). A new source is added here and nowhere else in
// config/.
inline constexpr std::array<std::string_view, 6> kKnownSources = {
    "ann", "covisit", "content", "trending", "popular", "continuation"};

// Every field at the default documented in config.proto (and listed in
// config/recd.yaml). The result passes Validate().
Config DefaultConfig();

// Overlays `yaml_text` onto DefaultConfig(), then runs Validate(). An empty
// text, a text holding only comments, or a `~` document yields the defaults.
// Returns INVALID_ARGUMENT on a YAML syntax error (with line and column), an
// unknown or duplicate key, a value of the wrong type, or a failed Validate().
[[nodiscard]] absl::StatusOr<Config> ParseYaml(std::string_view yaml_text);

// Reads `path` and calls ParseYaml(). Returns NOT_FOUND if the file does not
// exist, INVALID_ARGUMENT if it cannot be read or does not parse; every
// message starts with `path`.
[[nodiscard]] absl::StatusOr<Config> LoadFile(const std::string& path);

// Checks every range documented in config.proto. Returns OK or
// INVALID_ARGUMENT listing every violation ("; "-separated), each starting
// with the field's dotted path.
[[nodiscard]] absl::Status Validate(const Config& c);

}  // namespace recd::config
