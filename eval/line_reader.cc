#include "eval/line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace recd::eval {
namespace {

constexpr size_t kChunk = 1 << 16;

gzFile AsGz(void* p) { return static_cast<gzFile>(p); }

}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, expected a file"));
  }
  // gzopen reads non-gzip content transparently as plain bytes.
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot open: ", errno != 0 ? std::strerror(errno) : "zlib error"));
  }
  gzbuffer(gz, 1 << 17);
  return std::unique_ptr<LineReader>(new LineReader(path, gz));
}

LineReader::LineReader(std::string path, void* gz) : path_(std::move(path)), gz_(gz) {}

LineReader::~LineReader() {
  if (gz_ != nullptr) gzclose(AsGz(gz_));
}

std::string LineReader::Where() const { return absl::StrCat(path_, ":", line_number_); }

bool LineReader::Fill() {
  if (eof_ || !status_.ok()) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  size_t old = buf_.size();
  buf_.resize(old + kChunk);
  int n = gzread(AsGz(gz_), buf_.data() + old, kChunk);
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(AsGz(gz_), &err);
    buf_.resize(old);
    status_ = absl::InvalidArgumentError(
        absl::StrCat(path_, ": read error after line ", line_number_, ": ", msg));
    return false;
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    eof_ = true;
    // A gzip stream cut short reads as a clean end of file; gzerror tells.
    int err = Z_OK;
    const char* msg = gzerror(AsGz(gz_), &err);
    if (err != Z_OK && err != Z_STREAM_END) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ": corrupt compressed data after line ", line_number_, ": ", msg));
    }
    return false;
  }
  return true;
}

bool LineReader::Next(absl::string_view* line) {
  while (true) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line_.assign(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      break;
    }
    if (!Fill()) {
      if (!status_.ok() || pos_ >= buf_.size()) return false;
      // Last line without a trailing newline.
      line_.assign(buf_, pos_, std::string::npos);
      pos_ = buf_.size();
      break;
    }
  }
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  ++line_number_;
  *line = line_;
  return true;
}

absl::StatusOr<std::string> FindPlainOrGz(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  std::string gz = path + ".gz";
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  return absl::NotFoundError(absl::StrCat(path, ": no such file (nor ", gz, ")"));
}

}  // namespace recd::eval
