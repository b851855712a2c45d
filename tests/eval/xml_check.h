// A minimal well-formedness check for the SVG the eval report writes: tags
// balanced and properly nested, attributes quoted, entities known. Not a
// full XML parser; enough to catch broken output.
#pragma once

#include <string>
#include <vector>

namespace recd::eval::testing {

// Returns "" if `xml` is well formed (one root element, nothing but
// whitespace around it), else a description of the first problem.
inline std::string XmlProblem(const std::string& xml) {
  std::vector<std::string> stack;
  size_t i = 0;
  bool seen_root = false;
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_';
  };
  while (i < xml.size()) {
    if (xml[i] == '<') {
      if (xml.compare(i, 4, "<!--") == 0) {
        size_t end = xml.find("-->", i);
        if (end == std::string::npos) return "unterminated comment";
        i = end + 3;
        continue;
      }
      const bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
      size_t j = i + (closing ? 2 : 1);
      size_t name_start = j;
      while (j < xml.size() && is_name(xml[j])) ++j;
      std::string name = xml.substr(name_start, j - name_start);
      if (name.empty()) return "empty tag name at " + std::to_string(i);
      // Attributes: name="value" pairs until '>' or '/>'.
      bool self_closing = false;
      while (true) {
        while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
        if (j >= xml.size()) return "unterminated tag " + name;
        if (xml[j] == '>') {
          ++j;
          break;
        }
        if (xml[j] == '/' && j + 1 < xml.size() && xml[j + 1] == '>') {
          self_closing = true;
          j += 2;
          break;
        }
        if (closing) return "attribute in closing tag " + name;
        size_t a = j;
        while (j < xml.size() && is_name(xml[j])) ++j;
        if (a == j) return "bad attribute in " + name + " at " + std::to_string(j);
        if (j + 1 >= xml.size() || xml[j] != '=' || xml[j + 1] != '"') {
          return "unquoted attribute in " + name;
        }
        size_t end = xml.find('"', j + 2);
        if (end == std::string::npos) return "unterminated attribute in " + name;
        if (xml.substr(j + 2, end - j - 2).find('<') != std::string::npos)
          return "'<' in attribute";
        j = end + 1;
      }
      if (closing) {
        if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
        stack.pop_back();
      } else if (!self_closing) {
        if (stack.empty() && seen_root) return "second root element " + name;
        stack.push_back(name);
        seen_root = true;
      } else if (stack.empty()) {
        return "self-closing root";
      }
      i = j;
    } else {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(xml[i]))) {
        return "text outside the root element at " + std::to_string(i);
      }
      if (xml[i] == '&') {
        size_t end = xml.find(';', i);
        if (end == std::string::npos) return "bare &";
        std::string ent = xml.substr(i, end - i + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" &&
            ent != "&apos;") {
          return "unknown entity " + ent;
        }
      }
      if (xml[i] == '>') return "bare > in text";
      ++i;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!seen_root) return "no root element";
  return "";
}

}  // namespace recd::eval::testing
