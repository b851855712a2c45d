// A small "--name value" / "--name=value" flag reader for the offline
// commands. Every flag is declared with its help text; unknown flags and
// bad values are errors that name the flag.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace recd::cli {

class Flags {
 public:
  // Declares a flag with a default ("" for none) and help text.
  void Add(const std::string& name, const std::string& default_value, const std::string& help);
  // Declares a repeatable flag (each use appends).
  void AddList(const std::string& name, const std::string& help);

  // Parses args; INVALID_ARGUMENT naming the flag for an unknown flag or a
  // missing value. "-h"/"--help" sets help().
  [[nodiscard]] absl::Status Parse(const std::vector<std::string>& args);
  bool help() const { return help_; }

  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const;  // given on the command line
  std::vector<std::string> List(const std::string& name) const;
  // Typed getters: INVALID_ARGUMENT "--name: ..." when the value is not one.
  [[nodiscard]] absl::Status GetInt(const std::string& name, int* out) const;
  [[nodiscard]] absl::Status GetDouble(const std::string& name, double* out) const;
  // Comma-separated integers ("1,5,10").
  [[nodiscard]] absl::Status GetIntList(const std::string& name, std::vector<int>* out) const;

  std::string Usage() const;

 private:
  struct Flag {
    std::string value;
    std::string help;
    bool list = false;
    bool given = false;
    std::vector<std::string> values;
  };
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  bool help_ = false;
};

}  // namespace recd::cli
