#include "cli/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace recd::cli {

void Flags::Add(const std::string& name, const std::string& default_value,
                const std::string& help) {
  flags_[name] = Flag{default_value, help, false, false, {}};
  order_.push_back(name);
}

void Flags::AddList(const std::string& name, const std::string& help) {
  flags_[name] = Flag{"", help, true, false, {}};
  order_.push_back(name);
}

absl::Status Flags::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) return absl::InvalidArgumentError("unexpected argument " + a);
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) return absl::InvalidArgumentError("unknown flag --" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError("--" + name + ": needs a value");
      value = args[++i];
    }
    it->second.given = true;
    if (it->second.list) {
      it->second.values.push_back(value);
    } else {
      it->second.value = value;
    }
  }
  return absl::OkStatus();
}

std::string Flags::Get(const std::string& name) const { return flags_.at(name).value; }
bool Flags::Has(const std::string& name) const { return flags_.at(name).given; }
std::vector<std::string> Flags::List(const std::string& name) const {
  return flags_.at(name).values;
}

absl::Status Flags::GetInt(const std::string& name, int* out) const {
  const std::string& v = Get(name);
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < -2147483647L || x > 2147483647L) {
    return absl::InvalidArgumentError("--" + name + ": not an integer: \"" + v + "\"");
  }
  *out = static_cast<int>(x);
  return absl::OkStatus();
}

absl::Status Flags::GetDouble(const std::string& name, double* out) const {
  const std::string& v = Get(name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x)) {
    return absl::InvalidArgumentError("--" + name + ": not a finite number: \"" + v + "\"");
  }
  *out = x;
  return absl::OkStatus();
}

absl::Status Flags::GetIntList(const std::string& name, std::vector<int>* out) const {
  out->clear();
  std::stringstream ss(Get(name));
  std::string part;
  while (std::getline(ss, part, ',')) {
    char* end = nullptr;
    const long x = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || x < 1 || x > 100000) {
      return absl::InvalidArgumentError("--" + name + ": \"" + part +
                                        "\" is not an integer in 1..100000");
    }
    out->push_back(static_cast<int>(x));
  }
  if (out->empty()) return absl::InvalidArgumentError("--" + name + ": empty list");
  return absl::OkStatus();
}

std::string Flags::Usage() const {
  std::ostringstream out;
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    std::string left = "  --" + name + (f.list ? " V (repeatable)" : " V");
    out << left;
    for (size_t pad = left.size(); pad < 30; ++pad) out << ' ';
    out << " " << f.help;
    if (!f.list && !f.value.empty()) out << " [" << f.value << "]";
    out << "\n";
  }
  return out.str();
}

}  // namespace recd::cli
