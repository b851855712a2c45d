// Command-line flags of a bench scenario: `--name value` or `--name=value`;
// a bool flag alone means true (`--sweep`), or `--sweep=false`. Numbers
// accept exponents ("1e6"); lists are comma-separated ("16,32").
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"

namespace recd::bench {

class FlagSet {
 public:
  // `command` names the scenario in the usage text ("recd bench ann").
  explicit FlagSet(std::string command) : command_(std::move(command)) {}

  // Registers a flag bound to *value, whose current content is the default.
  // REQUIRES: `value` outlives Parse; names are unique.
  void Add(const std::string& name, int64_t* value, const std::string& help);
  void Add(const std::string& name, int* value, const std::string& help);
  void Add(const std::string& name, double* value, const std::string& help);
  void Add(const std::string& name, std::string* value, const std::string& help);
  void Add(const std::string& name, bool* value, const std::string& help);
  void Add(const std::string& name, std::vector<int64_t>* value, const std::string& help);
  void Add(const std::string& name, std::vector<double>* value, const std::string& help);

  // Sets the registered flags from `args`. INVALID_ARGUMENT naming the flag
  // for an unknown flag, a missing value or a value of the wrong type.
  // "--help"/"-h" sets help_requested() and stops.
  [[nodiscard]] absl::Status Parse(const std::vector<std::string>& args);

  // Whether `name` was given on the command line (not just defaulted).
  bool IsSet(const std::string& name) const { return set_.count(name) > 0; }
  bool help_requested() const { return help_; }

  // The flags with their help and defaults.
  std::string Usage() const;

 private:
  using Target = std::variant<int64_t*, int*, double*, std::string*, bool*, std::vector<int64_t>*,
                              std::vector<double>*>;
  struct Flag {
    std::string name;
    Target target;
    std::string help;
    std::string default_text;
  };
  void AddFlag(const std::string& name, Target target, const std::string& help);
  absl::Status Assign(const Flag& flag, const std::string& text);

  std::string command_;
  std::vector<Flag> flags_;
  std::set<std::string> set_;
  bool help_ = false;
};

// Assigns `smoke_value` to *value unless the flag `name` was given: scenarios
// shrink their defaults with this under --smoke.
template <typename T>
void SmokeDefault(const FlagSet& flags, const std::string& name, T* value, T smoke_value) {
  if (!flags.IsSet(name)) *value = std::move(smoke_value);
}

}  // namespace recd::bench
