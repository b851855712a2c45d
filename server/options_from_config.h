// Converts the config proto into the engine's plain options, once, at start.
#pragma once

#include "core/demo.h"
#include "core/options.h"
#include "recd/v1/config.pb.h"

namespace recd::server {

core::EngineOptions EngineOptionsFromConfig(const recd::v1::config::Config& c);
core::DemoOptions DemoOptionsFromConfig(const recd::v1::config::Config& c);

}  // namespace recd::server
