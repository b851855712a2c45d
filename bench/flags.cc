#include "bench/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <type_traits>
#include <variant>

namespace recd::bench {
namespace {

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || *end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool ParseInt(const std::string& text, int64_t* out) {
  double v;
  if (!ParseDouble(text, &v) || v != std::floor(v) || std::fabs(v) > 9e15) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, ',')) parts.push_back(part);
  return parts;
}

template <typename T>
std::string JoinList(const std::vector<T>& v) {
  std::ostringstream out;
  for (size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
  return out.str();
}

}  // namespace

void FlagSet::AddFlag(const std::string& name, Target target, const std::string& help) {
  std::string def = std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return *p;
        } else if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                             std::is_same_v<T, std::vector<double>>) {
          return JoinList(*p);
        } else {
          std::ostringstream out;
          out << *p;
          return out.str();
        }
      },
      target);
  flags_.push_back({name, target, help, def});
}

void FlagSet::Add(const std::string& n, int64_t* v, const std::string& h) { AddFlag(n, v, h); }
void FlagSet::Add(const std::string& n, int* v, const std::string& h) { AddFlag(n, v, h); }
void FlagSet::Add(const std::string& n, double* v, const std::string& h) { AddFlag(n, v, h); }
void FlagSet::Add(const std::string& n, std::string* v, const std::string& h) { AddFlag(n, v, h); }
void FlagSet::Add(const std::string& n, bool* v, const std::string& h) { AddFlag(n, v, h); }
void FlagSet::Add(const std::string& n, std::vector<int64_t>* v, const std::string& h) {
  AddFlag(n, v, h);
}
void FlagSet::Add(const std::string& n, std::vector<double>* v, const std::string& h) {
  AddFlag(n, v, h);
}

absl::Status FlagSet::Assign(const Flag& flag, const std::string& text) {
  const std::string bad = "--" + flag.name + ": cannot parse \"" + text + "\" as ";
  return std::visit(
      [&](auto* p) -> absl::Status {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p = text;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1") {
            *p = true;
          } else if (text == "false" || text == "0") {
            *p = false;
          } else {
            return absl::InvalidArgumentError(bad + "a bool (true|false)");
          }
        } else if constexpr (std::is_same_v<T, double>) {
          if (!ParseDouble(text, p)) return absl::InvalidArgumentError(bad + "a number");
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>) {
          int64_t v;
          if (!ParseInt(text, &v)) return absl::InvalidArgumentError(bad + "an integer");
          *p = static_cast<T>(v);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          p->clear();
          for (const auto& part : SplitComma(text)) {
            int64_t v;
            if (!ParseInt(part, &v)) return absl::InvalidArgumentError(bad + "a list of integers");
            p->push_back(v);
          }
        } else {
          p->clear();
          for (const auto& part : SplitComma(text)) {
            double v;
            if (!ParseDouble(part, &v)) return absl::InvalidArgumentError(bad + "a list of numbers");
            p->push_back(v);
          }
        }
        return absl::OkStatus();
      },
      flag.target);
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      return absl::OkStatus();
    }
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError("unexpected argument \"" + a + "\" (flags start with --)");
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const auto& f : flags_) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError("--" + name + ": unknown flag for " + command_);
    }
    if (!has_value) {
      if (std::holds_alternative<bool*>(flag->target)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError("--" + name + ": needs a value");
      }
    }
    if (auto st = Assign(*flag, value); !st.ok()) return st;
    set_.insert(name);
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::ostringstream out;
  out << "usage: " << command_ << " [flags]\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name;
    if (left.size() < 26) left.resize(26, ' ');
    out << left << " " << f.help;
    if (!f.default_text.empty()) out << " (default " << f.default_text << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace recd::bench
