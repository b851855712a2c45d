#include "eval/csv.h"

#include "absl/strings/str_cat.h"

namespace recd::eval {

CsvParse SplitCsvRecord(absl::string_view text, char delim, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    field.clear();
    if (i < n && text[i] == '"') {
      // Quoted field: up to the closing quote; "" is a literal quote.
      ++i;
      while (true) {
        if (i >= n) return CsvParse::kIncomplete;
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(text[i++]);
      }
      if (i < n && text[i] != delim) return CsvParse::kBadQuote;
    } else {
      while (i < n && text[i] != delim) field.push_back(text[i++]);
    }
    fields->push_back(field);
    if (i >= n) return CsvParse::kOk;
    ++i;  // the delimiter; a trailing one yields a last empty field
  }
}

bool CsvReader::Next(std::vector<std::string>* fields) {
  absl::string_view line;
  if (!lines_->Next(&line)) {
    status_ = lines_->status();
    return false;
  }
  record_line_ = lines_->line_number();
  text_.assign(line.data(), line.size());
  while (true) {
    switch (SplitCsvRecord(text_, delim_, fields)) {
      case CsvParse::kOk:
        return true;
      case CsvParse::kBadQuote:
        status_ = absl::InvalidArgumentError(
            absl::StrCat(Where(), ": malformed CSV: text after a closing quote"));
        return false;
      case CsvParse::kIncomplete:
        if (!lines_->Next(&line)) {
          status_ = lines_->status().ok()
                        ? absl::InvalidArgumentError(absl::StrCat(
                              Where(),
                              ": malformed CSV: quoted field not closed before the end "
                              "of the file"))
                        : lines_->status();
          return false;
        }
        text_.push_back('\n');
        text_.append(line.data(), line.size());
        break;
    }
  }
}

std::string CsvReader::Where() const { return absl::StrCat(lines_->path(), ":", record_line_); }

}  // namespace recd::eval
