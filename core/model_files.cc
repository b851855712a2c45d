#include "core/model_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/checksum.h"
#include "core/file_util.h"
#include "core/hnsw_index.h"

namespace recd::core {
namespace {

using recd::v1::records::LabelVectors;
using recd::v1::records::ModelManifest;

constexpr char kVectorsMagic[8] = {'R', 'E', 'C', 'D', 'V', 'E', 'C', 'S'};
constexpr uint32_t kVectorsFormat = 1;
constexpr size_t kVectorsHeader = 32;
constexpr size_t kIoBuffer = 1 << 20;

std::string Join(const std::string& dir, const char* name) { return dir + "/" + name; }

absl::Status DataLoss(const std::string& path, const std::string& why) {
  return absl::DataLossError(absl::StrCat("model file ", path, ": ", why));
}

// A FILE* that checksums everything written through it.
class SummingWriter {
 public:
  SummingWriter(std::FILE* f) : f_(f) {}
  bool Write(const void* data, size_t len) {
    sum_.Update(data, len);
    return std::fwrite(data, 1, len, f_) == len;
  }
  uint64_t checksum() const { return sum_.Finish(); }

 private:
  std::FILE* f_;
  Checksum sum_;
};

absl::StatusOr<File> Create(const std::string& path) {
  File f(std::fopen(path.c_str(), "wbe"));
  if (f == nullptr) return IoError("cannot create", path);
  std::setvbuf(f.get(), nullptr, _IOFBF, kIoBuffer);
  return f;
}

absl::Status WriteVectors(const ModelData& m, const std::string& path, uint64_t* checksum) {
  auto f = Create(path);
  if (!f.ok()) return f.status();
  SummingWriter w(f->get());
  char header[kVectorsHeader] = {};
  std::memcpy(header, kVectorsMagic, 8);
  const uint32_t dim = static_cast<uint32_t>(m.manifest.dim());
  const uint64_t count = m.item_ids.size();
  std::memcpy(header + 8, &kVectorsFormat, 4);
  std::memcpy(header + 12, &dim, 4);
  std::memcpy(header + 16, &count, 8);
  bool ok = w.Write(header, sizeof header);
  for (const auto& id : m.item_ids) {
    const auto len = static_cast<uint32_t>(id.size());
    ok = ok && w.Write(&len, 4) && w.Write(id.data(), id.size());
  }
  ok = ok && w.Write(m.vectors.data(), m.vectors.size() * sizeof(float));
  if (!ok) return IoError("cannot write", path);
  *checksum = w.checksum();
  return SyncAndClose(std::move(*f), path);
}

absl::Status WriteBytes(const std::string& bytes, const std::string& path, uint64_t* checksum) {
  auto f = Create(path);
  if (!f.ok()) return f.status();
  SummingWriter w(f->get());
  if (!w.Write(bytes.data(), bytes.size())) return IoError("cannot write", path);
  if (checksum != nullptr) *checksum = w.checksum();
  return SyncAndClose(std::move(*f), path);
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  File f(std::fopen(path.c_str(), "rbe"));
  if (f == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no model file ", path));
    return IoError("cannot open", path);
  }
  std::string out;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, got);
  if (std::ferror(f.get())) return IoError("cannot read", path);
  return out;
}

// The MANIFEST file: the serialized manifest, then the u64 checksum of those
// bytes (the manifest cannot hold its own checksum).
std::string ManifestBytes(const ModelManifest& mf) {
  std::string bytes = mf.SerializeAsString();
  Checksum sum;
  sum.Update(bytes.data(), bytes.size());
  const uint64_t checksum = sum.Finish();
  bytes.append(reinterpret_cast<const char*>(&checksum), sizeof checksum);
  return bytes;
}

bool AllFinite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

absl::Status ReadVectors(const std::string& path, const ModelManifest& mf, bool keep,
                         ModelData* m) {
  File f(std::fopen(path.c_str(), "rbe"));
  if (f == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no model file ", path));
    return IoError("cannot open", path);
  }
  std::setvbuf(f.get(), nullptr, _IOFBF, kIoBuffer);
  Checksum sum;
  auto read = [&](void* out, size_t len) {
    if (!ReadExact(f.get(), out, len)) return false;
    sum.Update(out, len);
    return true;
  };
  char header[kVectorsHeader];
  if (!read(header, sizeof header)) return DataLoss(path, "truncated header");
  if (std::memcmp(header, kVectorsMagic, 8) != 0) return DataLoss(path, "bad magic");
  uint32_t format, dim;
  uint64_t count;
  std::memcpy(&format, header + 8, 4);
  std::memcpy(&dim, header + 12, 4);
  std::memcpy(&count, header + 16, 8);
  if (format != kVectorsFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("model file ", path, ": vectors format ", format, " is not ", kVectorsFormat));
  }
  if (static_cast<int64_t>(dim) != mf.dim() || count != mf.items()) {
    return DataLoss(path, absl::StrCat(count, " x ", dim, " vectors, manifest says ", mf.items(),
                                       " x ", mf.dim()));
  }
  struct stat st;
  if (::fstat(fileno(f.get()), &st) != 0) return IoError("cannot stat", path);
  // Each row takes at least 4 + 1 id bytes and dim floats.
  if (count > static_cast<uint64_t>(st.st_size) / (5 + 4ull * dim)) {
    return DataLoss(path, "truncated: too small for its row count");
  }
  m->item_ids.resize(count);
  absl::flat_hash_set<std::string_view> seen;
  seen.reserve(count);
  for (uint64_t r = 0; r < count; ++r) {
    uint32_t len;
    if (!read(&len, 4) || len == 0 || len > 4096) return DataLoss(path, "bad id length");
    m->item_ids[r].resize(len);
    if (!read(m->item_ids[r].data(), len)) return DataLoss(path, "truncated ids");
  }
  for (const auto& id : m->item_ids) {
    if (!seen.insert(id).second) return DataLoss(path, "duplicate item id " + id);
  }
  // Kept: read whole. Not kept: whole rows at a time through ~1 MB.
  std::vector<float> stream;
  if (keep) {
    m->vectors.resize(count * dim);
  } else {
    stream.resize(std::max<size_t>(1, (1u << 18) / dim) * dim);
  }
  std::vector<float>& buf = keep ? m->vectors : stream;
  bool finite = true;
  for (size_t left = count * dim; left > 0;) {
    const size_t n = std::min(left, buf.size());
    if (!read(buf.data(), n * sizeof(float))) return DataLoss(path, "truncated vectors");
    finite = finite && AllFinite(buf.data(), n);
    left -= n;
  }
  if (std::fgetc(f.get()) != EOF) return DataLoss(path, "trailing bytes");
  if (sum.Finish() != mf.vectors_checksum()) return DataLoss(path, "checksum mismatch");
  if (!finite) return DataLoss(path, "non-finite value");
  return absl::OkStatus();
}

}  // namespace

std::string ModelIndexPath(const std::string& dir) { return Join(dir, "index.hnsw"); }

absl::Status WriteModelSnapshot(ModelData* model, const AnnIndex& index, const std::string& dir) {
  ModelManifest& mf = model->manifest;
  const size_t dim = static_cast<size_t>(mf.dim());
  if (mf.dim() < 1 || model->vectors.size() != model->item_ids.size() * dim) {
    return absl::InvalidArgumentError(absl::StrCat("model: ", model->vectors.size(),
                                                   " floats for ", model->item_ids.size(),
                                                   " items of dim ", mf.dim()));
  }
  if (static_cast<size_t>(mf.gramian_size()) != dim * dim) {
    return absl::InvalidArgumentError("model: manifest.gramian must have dim*dim values");
  }
  if (index.size() != model->item_ids.size() || index.dim() != mf.dim()) {
    return absl::InvalidArgumentError("model: index size or dim differs from the vectors");
  }
  if (model->labels.dim() != mf.dim() ||
      static_cast<size_t>(model->labels.values_size()) != model->labels.labels_size() * dim) {
    return absl::InvalidArgumentError("model: labels must have dim values per label");
  }
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError("model snapshot " + dir + " already exists");
  }
  const std::string tmp = dir + ".tmp";
  std::filesystem::remove_all(tmp, ec);
  if (!std::filesystem::create_directories(tmp, ec)) {
    return absl::InternalError("cannot create " + tmp + ": " + ec.message());
  }
  auto fail = [&](absl::Status s) {
    std::filesystem::remove_all(tmp, ec);
    return s;
  };
  mf.set_format(kModelFormat);
  mf.set_items(model->item_ids.size());
  uint64_t sum = 0;
  if (auto s = WriteVectors(*model, Join(tmp, "vectors.bin"), &sum); !s.ok()) return fail(s);
  mf.set_vectors_checksum(sum);
  if (auto s = WriteBytes(model->labels.SerializeAsString(), Join(tmp, "labels.pb"), &sum);
      !s.ok()) {
    return fail(s);
  }
  mf.set_labels_checksum(sum);
  if (auto s = SaveHnswIndex(index, ModelIndexPath(tmp)); !s.ok()) return fail(s);
  if (auto s = WriteBytes(ManifestBytes(mf), Join(tmp, "MANIFEST"), nullptr); !s.ok()) {
    return fail(s);
  }
  if (auto s = SyncDir(tmp); !s.ok()) return fail(s);
  std::filesystem::rename(tmp, dir, ec);
  if (ec) return fail(absl::InternalError("cannot rename " + tmp + ": " + ec.message()));
  return SyncParentDir(dir);
}

absl::StatusOr<ModelData> ReadModelSnapshot(const std::string& dir, size_t keep_vectors_up_to) {
  const std::string manifest_path = Join(dir, "MANIFEST");
  auto raw = ReadAll(manifest_path);
  if (!raw.ok()) return raw.status();
  ModelData m;
  ModelManifest& mf = m.manifest;
  if (raw->size() < sizeof(uint64_t)) return DataLoss(manifest_path, "truncated");
  const size_t body = raw->size() - sizeof(uint64_t);
  uint64_t stored;
  std::memcpy(&stored, raw->data() + body, sizeof stored);
  Checksum manifest_sum;
  manifest_sum.Update(raw->data(), body);
  if (manifest_sum.Finish() != stored) return DataLoss(manifest_path, "checksum mismatch");
  if (!mf.ParseFromArray(raw->data(), static_cast<int>(body))) {
    return DataLoss(manifest_path, "cannot parse");
  }
  if (mf.format() != kModelFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model snapshot ", dir, ": format ", mf.format(), " is not ", kModelFormat));
  }
  if (mf.version().empty() || mf.dim() < 1 || mf.dim() > 4096) {
    return DataLoss(manifest_path, "missing version or bad dim");
  }
  const size_t dim = static_cast<size_t>(mf.dim());
  if (static_cast<size_t>(mf.gramian_size()) != dim * dim ||
      !AllFinite(mf.gramian().data(), mf.gramian_size())) {
    return DataLoss(manifest_path, "gramian is not a finite dim x dim matrix");
  }
  if (!std::isfinite(mf.als_alpha()) || mf.als_alpha() < 0 || !std::isfinite(mf.als_lambda()) ||
      mf.als_lambda() < 0) {
    return DataLoss(manifest_path, "bad als_alpha or als_lambda");
  }
  if (auto s = ReadVectors(Join(dir, "vectors.bin"), mf, mf.items() <= keep_vectors_up_to, &m);
      !s.ok()) {
    return s;
  }
  const std::string labels_path = Join(dir, "labels.pb");
  auto labels = ReadAll(labels_path);
  if (!labels.ok()) return labels.status();
  Checksum sum;
  sum.Update(labels->data(), labels->size());
  if (sum.Finish() != mf.labels_checksum()) return DataLoss(labels_path, "checksum mismatch");
  if (!m.labels.ParseFromString(*labels) || m.labels.dim() != mf.dim() ||
      static_cast<size_t>(m.labels.values_size()) != m.labels.labels_size() * dim ||
      !AllFinite(m.labels.values().data(), m.labels.values_size())) {
    return DataLoss(labels_path, "not a label map of the model's dim");
  }
  return m;
}

std::string NewModelVersion(const std::string& prefix, uint64_t salt) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04x", static_cast<unsigned>(salt & 0xffff));
  return absl::StrCat(prefix, "-", buf, "-", hex);
}

}  // namespace recd::core
