#include "core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace recd::core {

absl::Status IoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir);
  const bool synced = ::fsync(fd) == 0;
  absl::Status s = synced ? absl::OkStatus() : IoError("cannot fsync directory", dir);
  ::close(fd);
  return s;
}

absl::Status SyncParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  return SyncDir(slash == std::string::npos ? "." : path.substr(0, slash + 1));
}

absl::Status SyncAndClose(File f, const std::string& path) {
  if (std::fflush(f.get()) != 0) return IoError("cannot write", path);
  if (::fsync(fileno(f.get())) != 0) return IoError("cannot fsync", path);
  if (std::fclose(f.release()) != 0) return IoError("cannot close", path);
  return absl::OkStatus();
}

}  // namespace recd::core
