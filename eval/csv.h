// RFC-4180 records: fields separated by one delimiter character, a field in
// double quotes may contain the delimiter, "" (an escaped quote) and line
// breaks. A quote inside an unquoted field is kept as an ordinary character.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "eval/line_reader.h"

namespace recd::eval {

enum class CsvParse {
  kOk,          // *fields holds the record
  kIncomplete,  // the text ends inside a quoted field: append the next line
  kBadQuote,    // text between a closing quote and the next delimiter
};

// Splits one record's text into *fields (cleared first).
CsvParse SplitCsvRecord(absl::string_view text, char delim, std::vector<std::string>* fields);

// Reads records from a LineReader, joining lines while a quoted field is
// open. Not thread-safe.
class CsvReader {
 public:
  // REQUIRES: lines outlives this reader.
  CsvReader(LineReader* lines, char delim) : lines_(lines), delim_(delim) {}

  // Reads the next record. Returns false at the end, or on an error, which
  // status() then holds: INVALID_ARGUMENT "path:line: ..." for a bad quote
  // or a quoted field still open at the end of the file, or the reader's own
  // error.
  bool Next(std::vector<std::string>* fields);

  const absl::Status& status() const { return status_; }
  // Line on which the record last returned starts.
  int64_t line_number() const { return record_line_; }
  // "path:line" of the record last returned.
  std::string Where() const;

 private:
  LineReader* lines_;
  char delim_;
  std::string text_;
  int64_t record_line_ = 0;
  absl::Status status_;
};

}  // namespace recd::eval
