// HNSW (hnswlib 0.6.2) behind core/ann_index.h. The only file that includes
// hnswlib: it defines non-inline functions, so a second includer breaks the
// link (BUILD-NOTES pitfall 2). Every hnswlib exception is caught here.
//
// The graph is built on hnswlib's InnerProductSpace (distance 1 - q.y), with
// items stored as they are. It replaced the MIPS->L2 augmentation (store
// [y, sqrt(M^2 - |y|^2)]): at 100k x 64-d clustered vectors with norms spread
// 10x, recall@10 at ef=100 went from 0.72 to 0.988 and a search from 110 us
// to 84 us. The distance 1 - q.y is converted back to the true inner product
// by recomputing q.y exactly from the stored row (1 - (1 - q.y) in float
// would lose low bits), so scores match ExactSearch's.
//
// Unreachable items: under the inner product (not a metric) hnswlib's
// neighbour heuristic prunes links towards low-norm items, so a few of them
// (about 2% of 2000 clustered 32-d items with norms spread 10x) have no
// in-links and no graph search reaches them. searchKnn explores everything
// reachable before returning fewer than k, so a short answer means the graph
// is exhausted; Search then scores every row exactly instead, keeping the
// guarantee that a search returns min(n, size()) results (VectorIndex's
// over-fetch past dead items relies on it).
//
// ef: hnswlib's setEf writes a member shared by all searches, so it is set
// once (to ef_search) before the index is published and never again.
// searchKnn itself explores max(ef_, k) candidates, so a search for n > ef
// results still returns n of them with no per-call setEf.
#include "core/hnsw_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/checksum.h"
#include "core/file_util.h"
#include "core/huge_pages.h"
#include "hnswlib/hnswlib.h"

namespace recd::core {
namespace {

using Graph = hnswlib::HierarchicalNSW<float>;

constexpr int kMaxM = 128;
constexpr int kMaxThreads = 256;
constexpr size_t kRandomSeed = 100;
// hnswlib's levels grow like log_M(count); anything above this is corruption.
constexpr uint32_t kMaxLevel = 64;

bool Finite(const float* v, int dim) {
  for (int i = 0; i < dim; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

// Exact inner product; NaN (only from overflow) ranks last.
float Score(const float* a, const float* b, int dim) {
  const float s =
      Eigen::Map<const Eigen::VectorXf>(a, dim).dot(Eigen::Map<const Eigen::VectorXf>(b, dim));
  return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s;
}

absl::Status FromException(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError("out of memory building the HNSW index");
  }
  return absl::InternalError(absl::StrCat("hnswlib: ", e.what()));
}

class HnswIndex final : public AnnIndex {
 public:
  HnswIndex(int dim, int ef_search) : dim_(dim), ef_search_(ef_search), space_(dim) {}

  // The space every graph of this index must be built on.
  hnswlib::InnerProductSpace* space() { return &space_; }

  // Takes `graph` (built on space()) and fixes its ef. REQUIRES: called once,
  // before the index is shared with other threads.
  void SetGraph(std::unique_ptr<Graph> graph) {
    graph_ = std::move(graph);
    graph_->setEf(ef_search_);
    // From the labels stored in the level-0 block, read in order (a walk of
    // label_lookup_'s nodes is a cache miss per entry).
    const size_t count = graph_->cur_element_count;
    size_t labels = 0;
    for (size_t i = 0; i < count; ++i) {
      labels = std::max<size_t>(labels, graph_->getExternalLabel(i) + 1);
    }
    internal_of_.assign(labels, kAbsent);
    for (size_t i = 0; i < count; ++i) {
      internal_of_[graph_->getExternalLabel(i)] = static_cast<hnswlib::tableint>(i);
    }
  }

  const Graph* graph() const { return graph_.get(); }

  std::vector<Neighbor> Search(const float* query, int n) const override {
    if (n <= 0 || graph_ == nullptr || !Finite(query, dim_)) return {};
    const size_t k = std::min<size_t>(n, graph_->cur_element_count);
    std::vector<Neighbor> out;
    out.reserve(k);
    try {
      auto found = graph_->searchKnn(query, k);
      for (; !found.empty(); found.pop()) {
        out.push_back({static_cast<uint32_t>(found.top().second), 0.f});
      }
      // found.top().first is 1 - q.y; the exact q.y is recomputed instead,
      // the rows' lookups requested ahead (a cache miss each).
      for (const Neighbor& nb : out) __builtin_prefetch(&internal_of_[nb.id]);
      for (Neighbor& nb : out) nb.score = Score(query, Row(nb.id), dim_);
    } catch (const std::exception&) {
      // Unreachable for graphs built here or loaded (Load validates links);
      // never let an exception escape onto the request path.
      return {};
    }
    if (out.size() < k) return ScanAll(query, k);
    std::sort(out.begin(), out.end(), BestFirst);
    return out;
  }

  bool GetVector(uint32_t id, float* out) const override {
    const float* row = VectorData(id);
    if (row == nullptr) return false;
    std::copy_n(row, dim_, out);
    return true;
  }

  const float* VectorData(uint32_t id) const override {
    if (graph_ == nullptr || id >= internal_of_.size() || internal_of_[id] == kAbsent) {
      return nullptr;
    }
    return Row(id);
  }

  std::vector<uint32_t> Ids() const override {
    std::vector<uint32_t> ids;
    if (graph_ == nullptr) return ids;
    ids.reserve(graph_->label_lookup_.size());
    for (const auto& [label, internal] : graph_->label_lookup_) {
      ids.push_back(static_cast<uint32_t>(label));
    }
    return ids;
  }

  size_t size() const override { return graph_ == nullptr ? 0 : graph_->cur_element_count; }
  int dim() const override { return dim_; }

 private:
  static bool BestFirst(const Neighbor& a, const Neighbor& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  }

  // Exact top-k over every stored row. REQUIRES: 0 < k <= size().
  std::vector<Neighbor> ScanAll(const float* query, size_t k) const {
    const size_t count = graph_->cur_element_count;
    std::vector<Neighbor> all;
    all.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const auto* row = reinterpret_cast<const float*>(graph_->getDataByInternalId(i));
      all.push_back({static_cast<uint32_t>(graph_->getExternalLabel(i)), Score(query, row, dim_)});
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end(), BestFirst);
    all.resize(k);
    return all;
  }

  // The stored row of `id`: the original dim_ floats. REQUIRES: id is in the index.
  const float* Row(uint32_t id) const {
    return reinterpret_cast<const float*>(graph_->getDataByInternalId(internal_of_[id]));
  }

  static constexpr hnswlib::tableint kAbsent = ~hnswlib::tableint{0};

  const int dim_;
  const int ef_search_;
  hnswlib::InnerProductSpace space_;  // Outlives graph_, which points into it.
  std::unique_ptr<Graph> graph_;      // Null when the index is empty.
  // Label (our id) -> hnswlib's internal id, kAbsent if none: hnswlib's
  // label_lookup_ is a node map, 2-3 cache misses per lookup at a million
  // items, and every search rescored its ~100 results through it.
  std::vector<hnswlib::tableint> internal_of_;
};

// Inserts all rows: the first on this thread (hnswlib needs an entry point),
// the rest from `num_threads` threads (this one included) in parallel, as
// hnswlib allows. Known hnswlib 0.6.2 caveats, both harmless here: concurrent
// addPoint calls share the level RNG unguarded (ThreadSanitizer reports a
// race; at worst two elements draw the same level), and TSan reports a lock
// order inversion between an element's own lock and its neighbours' that
// cannot close into a cycle (a thread only locks elements already linked).
absl::Status AddAll(Graph* graph, const uint32_t* ids, const float* vectors, size_t count, int dim,
                    int num_threads) {
  graph->addPoint(vectors, ids[0]);  // Throws; the caller catches.

  std::atomic<size_t> next{1};
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status first_error;
  auto work = [&] {
    try {
      for (size_t i = next++; i < count && !failed.load(std::memory_order_relaxed); i = next++) {
        graph->addPoint(vectors + i * dim, ids[i]);
      }
    } catch (const std::exception& e) {
      failed = true;
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.ok()) first_error = FromException(e);
    }
  };
  std::vector<std::thread> threads;
  const size_t extra = std::min<size_t>(num_threads - 1, count - 1);
  try {
    for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
  } catch (const std::system_error&) {
    // Could not start more threads: the ones running (and this one) finish.
  }
  work();
  for (auto& t : threads) t.join();
  return first_error;
}

// ---- Files ----------------------------------------------------------------

constexpr char kMagic[8] = {'R', 'E', 'C', 'D', 'H', 'N', 'S', 'W'};
// 1: L2 space on rows augmented to dim + 1 floats, max norm at offset 32.
// 2: inner-product space on the plain dim-float rows; offset 32 reserved (0).
// A version-1 file is refused (FAILED_PRECONDITION), never reinterpreted.
constexpr uint32_t kFormatVersion = 2;
constexpr size_t kHeaderBytes = 64;
constexpr size_t kChecksumOffset = 56;
constexpr size_t kIoBufferBytes = 1 << 20;

struct Header {
  uint32_t version = kFormatVersion;
  uint32_t dim = 0;
  uint64_t count = 0;
  uint32_t m = 0;
  uint32_t ef_construction = 0;
  uint32_t reserved = 0;
  int32_t max_level = -1;
  uint32_t entry_point = 0;
  uint32_t bytes_per_element = 0;
  uint64_t payload_bytes = 0;
  uint64_t checksum = 0;
};

template <typename T>
void Put(char* buf, size_t offset, T value) {
  std::memcpy(buf + offset, &value, sizeof(T));
}
template <typename T>
T Get(const char* buf, size_t offset) {
  T value;
  std::memcpy(&value, buf + offset, sizeof(T));
  return value;
}

void Encode(const Header& h, char* buf) {
  std::memcpy(buf, kMagic, sizeof(kMagic));
  Put(buf, 8, h.version);
  Put(buf, 12, h.dim);
  Put(buf, 16, h.count);
  Put(buf, 24, h.m);
  Put(buf, 28, h.ef_construction);
  Put(buf, 32, h.reserved);
  Put(buf, 36, h.max_level);
  Put(buf, 40, h.entry_point);
  Put(buf, 44, h.bytes_per_element);
  Put(buf, 48, h.payload_bytes);
  Put(buf, kChecksumOffset, h.checksum);
}

Header Decode(const char* buf) {
  Header h;
  h.version = Get<uint32_t>(buf, 8);
  h.dim = Get<uint32_t>(buf, 12);
  h.count = Get<uint64_t>(buf, 16);
  h.m = Get<uint32_t>(buf, 24);
  h.ef_construction = Get<uint32_t>(buf, 28);
  h.reserved = Get<uint32_t>(buf, 32);
  h.max_level = Get<int32_t>(buf, 36);
  h.entry_point = Get<uint32_t>(buf, 40);
  h.bytes_per_element = Get<uint32_t>(buf, 44);
  h.payload_bytes = Get<uint64_t>(buf, 48);
  h.checksum = Get<uint64_t>(buf, kChecksumOffset);
  return h;
}

// Payload size of `g` in the format above.
uint64_t PayloadBytes(const Graph& g) {
  uint64_t bytes = g.cur_element_count * g.size_data_per_element_;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    bytes += sizeof(uint32_t) + g.element_levels_[i] * g.size_links_per_element_;
  }
  return bytes;
}

// Writes header and payload to `f`, accumulating the checksum of both.
bool WriteBody(std::FILE* f, const char* header, const Graph* g, Checksum* sum) {
  auto write = [&](const void* data, size_t len) {
    sum->Update(data, len);
    return std::fwrite(data, 1, len, f) == len;
  };
  if (!write(header, kHeaderBytes)) return false;
  if (g == nullptr) return true;
  if (!write(g->data_level0_memory_, g->cur_element_count * g->size_data_per_element_)) {
    return false;
  }
  for (size_t i = 0; i < g->cur_element_count; ++i) {
    const auto level = static_cast<uint32_t>(g->element_levels_[i]);
    if (!write(&level, sizeof(level))) return false;
    if (level > 0 && !write(g->linkLists_[i], level * g->size_links_per_element_)) return false;
  }
  return true;
}

absl::Status WriteFile(const HnswIndex& index, const std::string& path) {
  const Graph* g = index.graph();
  Header h;
  h.dim = static_cast<uint32_t>(index.dim());
  if (g != nullptr) {
    h.count = g->cur_element_count;
    h.m = static_cast<uint32_t>(g->M_);
    h.ef_construction = static_cast<uint32_t>(g->ef_construction_);
    h.max_level = g->maxlevel_;
    h.entry_point = g->enterpoint_node_;
    h.bytes_per_element = static_cast<uint32_t>(g->size_data_per_element_);
    h.payload_bytes = PayloadBytes(*g);
  }
  char header[kHeaderBytes] = {};
  Encode(h, header);  // checksum field still zero, as the checksum covers it

  File f(std::fopen(path.c_str(), "wbe"));
  if (f == nullptr) return IoError("cannot create", path);
  std::setvbuf(f.get(), nullptr, _IOFBF, kIoBufferBytes);
  Checksum sum;
  if (!WriteBody(f.get(), header, g, &sum)) return IoError("cannot write", path);
  const uint64_t checksum = sum.Finish();
  if (std::fseek(f.get(), kChecksumOffset, SEEK_SET) != 0 ||
      std::fwrite(&checksum, sizeof(checksum), 1, f.get()) != 1 || std::fflush(f.get()) != 0) {
    return IoError("cannot write", path);
  }
  if (::fsync(fileno(f.get())) != 0) return IoError("cannot fsync", path);
  if (std::fclose(f.release()) != 0) return IoError("cannot close", path);
  return absl::OkStatus();
}

absl::Status DataLoss(const std::string& path, const std::string& why) {
  return absl::DataLossError(absl::StrCat("HNSW index file ", path, ": ", why));
}

// Checksum of the whole file with the checksum field read as zero.
// REQUIRES: f is positioned at the start.
absl::StatusOr<uint64_t> ChecksumFile(std::FILE* f, const std::string& path) {
  std::vector<char> buf(kIoBufferBytes);
  Checksum sum;
  bool first = true;
  for (;;) {
    const size_t got = std::fread(buf.data(), 1, buf.size(), f);
    if (got == 0) break;
    if (first) Put<uint64_t>(buf.data(), kChecksumOffset, 0);  // got >= 64: size checked
    first = false;
    sum.Update(buf.data(), got);
  }
  if (std::ferror(f)) return IoError("cannot read", path);
  return sum.Finish();
}

// Checks the loaded graph before any search can touch it: unique 32-bit ids,
// finite rows, link counts within M, link targets in range and present on
// their level, and a consistent entry point.
absl::Status ValidateGraph(Graph* g, const Header& h, int dim, const std::string& path,
                           const std::vector<uint32_t>* relabel) {
  const size_t count = g->cur_element_count;
  g->label_lookup_.reserve(count);
  int32_t top = 0;
  for (size_t i = 0; i < count; ++i) {
    size_t label = g->getExternalLabel(i);
    if (relabel != nullptr) {
      if (label >= relabel->size()) {
        return DataLoss(path, absl::StrCat("id ", label, " at element ", i,
                                           " has no entry in the relabelling (", relabel->size(),
                                           " entries)"));
      }
      label = (*relabel)[label];
      g->setExternalLabel(static_cast<hnswlib::tableint>(i), label);
    }
    if (label > std::numeric_limits<uint32_t>::max() ||
        !g->label_lookup_.emplace(label, static_cast<uint32_t>(i)).second) {
      return DataLoss(path, absl::StrCat("bad or duplicate id at element ", i));
    }
    if (!Finite(reinterpret_cast<const float*>(g->getDataByInternalId(i)), dim)) {
      return DataLoss(path, absl::StrCat("non-finite vector at element ", i));
    }
    top = std::max(top, g->element_levels_[i]);
  }
  if (top != h.max_level || h.entry_point >= count ||
      g->element_levels_[h.entry_point] != h.max_level) {
    return DataLoss(path, "inconsistent entry point or top level");
  }
  for (size_t i = 0; i < count; ++i) {
    for (int level = 0; level <= g->element_levels_[i]; ++level) {
      auto* list = g->get_linklist_at_level(i, level);
      const size_t n = g->getListCount(list);
      if (n > (level == 0 ? g->maxM0_ : g->maxM_)) {
        return DataLoss(path, absl::StrCat("too many links at element ", i));
      }
      const auto* links = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      for (size_t j = 0; j < n; ++j) {
        if (links[j] >= count || g->element_levels_[links[j]] < level) {
          return DataLoss(path, absl::StrCat("bad link at element ", i));
        }
      }
    }
  }
  g->maxlevel_ = h.max_level;
  g->enterpoint_node_ = h.entry_point;
  return absl::OkStatus();
}

// The level-0 block (links and vector of every element, ~400 B each at
// M = 16 and 64-d) is what a search reads at random: on huge pages, as
// long as it is still untouched (hnswlib allocates it unwritten).
void AdviseLevel0(const Graph& g) {
  AdviseHugePages(g.data_level0_memory_, g.max_elements_ * g.size_data_per_element_);
}

// Reads the payload into `g` (constructed with h.count elements and h.m).
// REQUIRES: f is positioned after the header; the checksum has been verified.
absl::Status ReadGraph(std::FILE* f, const Header& h, Graph* g, const std::string& path,
                       const std::vector<uint32_t>* relabel, Checksum* sum) {
  const size_t count = h.count;
  // Read and summed in slices, each while it is still in cache.
  auto read = [&](void* out, size_t len) {
    if (!ReadExact(f, out, len)) return false;
    sum->Update(out, len);
    return true;
  };
  char* level0 = g->data_level0_memory_;
  for (size_t left = count * g->size_data_per_element_; left > 0;) {
    const size_t n = std::min<size_t>(left, kIoBufferBytes);
    if (!read(level0, n)) return DataLoss(path, "truncated level-0 block");
    level0 += n;
    left -= n;
  }
  // From here the destructor frees linkLists_[i] for element_levels_[i] > 0,
  // so a level is recorded only once its list is allocated.
  g->cur_element_count = count;
  for (size_t i = 0; i < count; ++i) {
    uint32_t level;
    if (!read(&level, sizeof(level))) return DataLoss(path, "truncated link lists");
    if (level > static_cast<uint32_t>(h.max_level)) {
      return DataLoss(path, absl::StrCat("level ", level, " above the top level at element ", i));
    }
    if (level == 0) continue;
    const size_t bytes = level * g->size_links_per_element_;
    g->linkLists_[i] = static_cast<char*>(std::malloc(bytes));
    if (g->linkLists_[i] == nullptr) return absl::ResourceExhaustedError("loading HNSW links");
    g->element_levels_[i] = static_cast<int>(level);
    if (!read(g->linkLists_[i], bytes)) return DataLoss(path, "truncated link lists");
  }
  if (std::fgetc(f) != EOF) return DataLoss(path, "trailing bytes after the graph");
  // Nothing read so far has been trusted beyond the bounds checked on the
  // way; the graph is validated only once the bytes are known good.
  if (sum->Finish() != h.checksum) return DataLoss(path, "checksum mismatch");
  return ValidateGraph(g, h, static_cast<int>(h.dim), path, relabel);
}

// Checks the verified header against what this build can read and `options`.
absl::Status CheckHeader(const Header& h, const AnnOptions& options, const std::string& path) {
  if (h.version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat("HNSW index file ", path, ": format version ",
                                                      h.version, ", this build reads ",
                                                      kFormatVersion));
  }
  if (h.dim != static_cast<uint32_t>(options.dim)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dim: options say ", options.dim, " but ", path, " has dim ", h.dim));
  }
  if (h.reserved != 0) return DataLoss(path, "inconsistent header");
  if (h.count == 0) return absl::OkStatus();
  if (h.count > std::numeric_limits<uint32_t>::max() || h.m < 2 || h.m > kMaxM || h.max_level < 0 ||
      h.max_level > static_cast<int32_t>(kMaxLevel) || h.bytes_per_element == 0 ||
      h.count > h.payload_bytes / h.bytes_per_element) {
    return DataLoss(path, "inconsistent header");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAnnOptions(const AnnOptions& o) {
  auto bad = [](const char* field, int value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("ann ", field, ": ", value, " is out of range, must be ", range));
  };
  if (o.dim < 1 || o.dim > 65536) return bad("dim", o.dim, "in [1, 65536]");
  if (o.m < 2 || o.m > kMaxM) return bad("m", o.m, "in [2, 128]");
  if (o.ef_construction < 1) return bad("ef_construction", o.ef_construction, ">= 1");
  if (o.ef_search < 1) return bad("ef_search", o.ef_search, ">= 1");
  if (o.num_threads < 1 || o.num_threads > kMaxThreads) {
    return bad("num_threads", o.num_threads, "in [1, 256]");
  }
  if (o.exact_max_items < 0) return bad("exact_max_items", o.exact_max_items, ">= 0");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AnnIndex>> BuildHnswIndex(const AnnOptions& options,
                                                         const uint32_t* ids, const float* vectors,
                                                         size_t count) {
  if (absl::Status s = ValidateAnnOptions(options); !s.ok()) return s;
  if (count > 0 && (ids == nullptr || vectors == nullptr)) {
    return absl::InvalidArgumentError("ids and vectors must not be null when count > 0");
  }
  if (count >= std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("count: ", count, " rows is too many"));
  }
  const int dim = options.dim;
  for (size_t i = 0; i < count; ++i) {
    if (!Finite(vectors + i * dim, dim)) {
      return absl::InvalidArgumentError(
          absl::StrCat("vectors: row ", i, " (id ", ids[i], ") has a non-finite value"));
    }
  }
  std::vector<uint32_t> sorted(ids, ids + count);
  std::sort(sorted.begin(), sorted.end());
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return absl::InvalidArgumentError(absl::StrCat("ids: id ", *dup, " appears twice"));
  }

  auto index = std::make_unique<HnswIndex>(dim, options.ef_search);
  if (count == 0) return index;
  try {
    auto graph = std::make_unique<Graph>(index->space(), count, options.m, options.ef_construction,
                                         kRandomSeed);
    AdviseLevel0(*graph);
    if (absl::Status s = AddAll(graph.get(), ids, vectors, count, dim, options.num_threads);
        !s.ok()) {
      return s;
    }
    index->SetGraph(std::move(graph));
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return index;
}

absl::Status SaveHnswIndex(const AnnIndex& index, const std::string& path) {
  const auto* hnsw = dynamic_cast<const HnswIndex*>(&index);
  if (hnsw == nullptr) {
    return absl::InvalidArgumentError("index: not made by BuildHnswIndex or LoadHnswIndex");
  }
  const std::string tmp = path + ".tmp";
  if (absl::Status s = WriteFile(*hnsw, tmp); !s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = IoError("cannot rename to", path);
    std::remove(tmp.c_str());
    return s;
  }
  return SyncParentDir(path);
}

absl::StatusOr<std::unique_ptr<AnnIndex>> LoadHnswIndex(const std::string& path,
                                                        const AnnOptions& options,
                                                        const std::vector<uint32_t>* relabel) {
  if (absl::Status s = ValidateAnnOptions(options); !s.ok()) return s;
  File f(std::fopen(path.c_str(), "rbe"));
  if (f == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no HNSW index file ", path));
    return IoError("cannot open", path);
  }
  std::setvbuf(f.get(), nullptr, _IOFBF, kIoBufferBytes);
  struct stat st;
  if (::fstat(fileno(f.get()), &st) != 0) return IoError("cannot stat", path);
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  char raw[kHeaderBytes];
  if (file_bytes < kHeaderBytes || !ReadExact(f.get(), raw, kHeaderBytes)) {
    return DataLoss(path, absl::StrCat("truncated: ", file_bytes, " bytes"));
  }
  if (std::memcmp(raw, kMagic, sizeof(kMagic)) != 0) return DataLoss(path, "bad magic");
  const Header h = Decode(raw);
  if (h.payload_bytes != file_bytes - kHeaderBytes) {
    return DataLoss(
        path, absl::StrCat("truncated or extended: header says ", h.payload_bytes + kHeaderBytes,
                           " bytes, file has ", file_bytes));
  }
  // The file is summed as it is read (one pass over it, not two). A header
  // this build refuses is reported as such only when the file is intact:
  // a corrupted one is DATA_LOSS whatever field the damage hit.
  auto unless_corrupt = [&](absl::Status refusal) -> absl::Status {
    std::rewind(f.get());
    absl::StatusOr<uint64_t> checksum = ChecksumFile(f.get(), path);
    if (!checksum.ok()) return checksum.status();
    if (*checksum != h.checksum) return DataLoss(path, "checksum mismatch");
    return refusal;
  };
  if (absl::Status s = CheckHeader(h, options, path); !s.ok()) return unless_corrupt(s);

  auto index = std::make_unique<HnswIndex>(options.dim, options.ef_search);
  if (h.count == 0) {
    if (absl::Status s = unless_corrupt(absl::OkStatus()); !s.ok()) return s;
    return index;
  }
  try {
    // Bounded by the file: CheckHeader holds count to payload_bytes /
    // bytes_per_element, and the layout must match.
    auto graph =
        std::make_unique<Graph>(index->space(), h.count, h.m, h.ef_construction, kRandomSeed);
    if (graph->size_data_per_element_ != h.bytes_per_element) {
      return unless_corrupt(absl::FailedPreconditionError(
          absl::StrCat("HNSW index file ", path, ": element layout differs from this build")));
    }
    AdviseLevel0(*graph);
    Checksum sum;
    Put<uint64_t>(raw, kChecksumOffset, 0);  // summed as zero, as written
    sum.Update(raw, kHeaderBytes);
    if (absl::Status s = ReadGraph(f.get(), h, graph.get(), path, relabel, &sum); !s.ok()) {
      return s;
    }
    index->SetGraph(std::move(graph));
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return index;
}

}  // namespace recd::core
