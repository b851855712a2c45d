// Micro-benchmarks of hot in-process functions (bench/micro/CMakeLists.txt).
//   build/bench/micro/recd_micro_bench [--benchmark_filter=REGEX]
// Google Benchmark prints the machine (CPUs, caches, load) with the figures.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/ann_index.h"
#include "core/diversity.h"
#include "core/item_vectors.h"
#include "core/popularity.h"

namespace recd::core {
namespace {

// A Recommend's re-ranking: n blended candidates from a few clusters of the
// item space, best score first, k picked by MMR at the default lambda.
void BM_MmrRerank(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t k = static_cast<size_t>(state.range(1));
  constexpr int kDim = 64, kClusters = 8;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> centers(kClusters, std::vector<float>(kDim));
  for (auto& c : centers) {
    for (auto& x : c) x = normal(rng);
  }
  std::vector<std::vector<float>> vectors(n);
  std::vector<RankedCandidate> candidates(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& c = centers[rng() % kClusters];
    vectors[i].resize(kDim);
    for (int d = 0; d < kDim; ++d) vectors[i][d] = c[d] + 0.5f * normal(rng);
    candidates[i] = {static_cast<uint32_t>(i), 1.0f - static_cast<float>(i) / n};
  }
  const ItemVectorFn vector_of = [&](uint32_t item, std::vector<float>* v) {
    *v = vectors[item];
    return true;
  };
  for (auto _ : state) {
    auto out = MmrRerank(candidates, k, 0.8, vector_of);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MmrRerank)->Args({100, 20})->Args({400, 20})->Args({1000, 50});

// The fold-in's popularity publish after a small batch (the lag phase of
// `recd bench ingest`: ~10 events per batch) at a million items.
struct PopularityFixture {
  static constexpr uint32_t kItems = 1000000;
  Popularity pop{86400, 30 * 86400.0, 5, /*top_size=*/5000};
  std::mt19937 rng{2};
  std::uniform_real_distribution<double> u{0, 1};
  int64_t t_us = int64_t{1700000000} * 1000000;
  // Skewed: a few items take most events.
  uint32_t Item() { return static_cast<uint32_t>(kItems * u(rng) * u(rng) * u(rng)); }
  PopularityFixture() {
    for (int i = 0; i < 2000000; ++i) pop.Add(Item(), 1.0, t_us + i * 1000);
    pop.Add(kItems - 1, 1.0, t_us);
    t_us += int64_t{2000000} * 1000;
    pop.Publish(/*full=*/true);
  }
};

void BM_PopularityPublish(benchmark::State& state) {
  static PopularityFixture f;  // one history for every run (it takes ~1 s)
  const int events = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < events; ++i) f.pop.Add(f.Item(), 1.0, f.t_us += 100);
    f.pop.Publish();
  }
  state.counters["events_per_publish"] = events;
}
BENCHMARK(BM_PopularityPublish)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// A trained model's vectors as ItemVectors reads them: inside the index's
// element records (hnswlib: links, vector, label; ~400 B at M = 16, 64-d).
class StridedBase : public AnnIndex {
 public:
  static constexpr size_t kStrideFloats = 100;
  StridedBase(uint32_t n, int dim, std::mt19937* rng) : n_(n), dim_(dim), data_(n * kStrideFloats) {
    std::normal_distribution<float> normal;
    for (auto& x : data_) x = normal(*rng);
  }
  std::vector<Neighbor> Search(const float*, int) const override { return {}; }
  bool GetVector(uint32_t id, float* out) const override {
    if (id >= n_) return false;
    std::copy_n(VectorData(id), dim_, out);
    return true;
  }
  const float* VectorData(uint32_t id) const override {
    return id < n_ ? data_.data() + id * kStrideFloats + 33 : nullptr;  // after the links
  }
  std::vector<uint32_t> Ids() const override {
    std::vector<uint32_t> ids(n_);
    for (uint32_t i = 0; i < n_; ++i) ids[i] = i;
    return ids;
  }
  size_t size() const override { return n_; }
  int dim() const override { return dim_; }

 private:
  uint32_t n_;
  int dim_;
  std::vector<float> data_;
};

// Gathering the vectors of a user's items or of a slate's candidates at a
// million 64-d items of a trained model, cold: each batch is a fresh draw of
// random ids, so the figure is memory latency (one Get at a time) or overlap
// (GetMany).
struct GatherFixture {
  static constexpr uint32_t kItems = 1000000;
  static constexpr int kDim = 64;
  static constexpr size_t kIds = size_t{1} << 21;  // cycled through
  ItemVectors vectors{kDim};
  std::vector<uint32_t> ids;
  size_t next = 0;
  GatherFixture() {
    std::mt19937 rng(3);
    vectors.SetBase(std::make_shared<StridedBase>(kItems, kDim, &rng));
    ids.resize(kIds);
    for (auto& id : ids) id = rng() % kItems;
  }
  std::span<const uint32_t> Batch(size_t n) {
    if (next + n > ids.size()) next = 0;
    std::span<const uint32_t> out(ids.data() + next, n);
    next += n;
    return out;
  }
};

void BM_GatherVectors(benchmark::State& state) {
  static GatherFixture f;  // ~1 s and 300 MB, once
  const size_t n = static_cast<size_t>(state.range(0));
  const bool many = state.range(1) != 0;
  std::vector<float> out(n * GatherFixture::kDim);
  std::unique_ptr<bool[]> present(new bool[n]);
  for (auto _ : state) {
    auto batch = f.Batch(n);
    if (many) {
      f.vectors.GetMany(batch, out.data(), present.get());
    } else {
      for (size_t i = 0; i < n; ++i) {
        present[i] = f.vectors.Get(batch[i], out.data() + i * GatherFixture::kDim);
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(many ? "GetMany" : "Get loop");
}
BENCHMARK(BM_GatherVectors)->ArgsProduct({{100, 400}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace recd::core

BENCHMARK_MAIN();
