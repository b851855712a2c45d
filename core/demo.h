// A generated demo catalog and synthetic users' history, so that a first
// Recommend on a fresh data dir returns a personal list. Items
// "demo-item-<n>" belong to a few categories whose members have nearby
// vectors; users "demo-user-<n>" prefer one or two categories.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "core/engine.h"

namespace recd::core {

struct DemoOptions {
  int items = 3000;
  int users = 200;
  uint64_t seed = 42;
};

// Upserts the items and tracks the events through the engine (so they are
// logged and folded like any others), then waits for the fold-in. Blocking:
// call at start-up only.
[[nodiscard]] absl::Status SeedDemo(Engine& engine, const DemoOptions& options);

}  // namespace recd::core
