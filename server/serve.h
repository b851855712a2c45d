// `recd serve`: loads the config, applies the flags, opens the engine, seeds
// the demo catalog when asked, serves until SIGTERM/SIGINT, then shuts down
// gracefully.
#pragma once

#include <string>
#include <vector>

namespace recd::server {

// Returns the process exit code. args excludes "recd serve".
int RunServe(const std::vector<std::string>& args);

}  // namespace recd::server
