#include "core/demo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "spdlog/spdlog.h"

namespace recd::core {
namespace {

const char* const kCategories[] = {"news",  "sports", "tech",   "music",   "movies", "books",
                                   "fashion", "food", "travel", "games", "science", "health"};
constexpr int kNumCategories = sizeof(kCategories) / sizeof(kCategories[0]);
constexpr int kTagsPerCategory = 4;

void SetTs(google::protobuf::Timestamp* ts, int64_t us) {
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

}  // namespace

absl::Status SeedDemo(Engine& engine, const DemoOptions& options) {
  const int dim = engine.options().dimension;
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  constexpr int64_t kDayUs = 86400LL * 1000000;

  std::vector<std::vector<float>> centroids(kNumCategories, std::vector<float>(dim));
  for (auto& c : centroids) {
    for (auto& x : c) x = normal(rng);
  }
  // Items, grouped by primary category for the users' picks below.
  std::vector<std::vector<int>> by_category(kNumCategories);
  std::vector<recd::v1::Item> items;
  for (int i = 0; i < options.items; ++i) {
    int cat = static_cast<int>(rng() % kNumCategories);
    by_category[cat].push_back(i);
    recd::v1::Item item;
    item.set_id("demo-item-" + std::to_string(i));
    item.add_categories(kCategories[cat]);
    if (unit(rng) < 0.2) item.add_categories(kCategories[rng() % kNumCategories]);
    for (int t = 0; t < 2; ++t) {
      item.add_tags(std::string(kCategories[cat]) + "-tag-" + std::to_string(rng() % kTagsPerCategory));
    }
    SetTs(item.mutable_created_at(), now - static_cast<int64_t>(unit(rng) * 60 * kDayUs));
    (*item.mutable_properties())["title"] =
        std::string("Demo ") + kCategories[cat] + " item " + std::to_string(i);
    for (int d = 0; d < dim; ++d) item.add_vector(centroids[cat][d] + 0.5f * normal(rng));
    items.push_back(std::move(item));
  }
  const size_t batch = std::max(1, engine.options().limits.max_items_per_call);
  for (size_t start = 0; start < items.size(); start += batch) {
    std::vector<recd::v1::Item> part(items.begin() + start,
                                     items.begin() + std::min(items.size(), start + batch));
    std::promise<absl::Status> done;
    auto st = engine.UpsertItemsAsync(
        std::move(part), [&](const absl::Status& s, uint64_t, uint64_t) { done.set_value(s); });
    if (!st.ok()) return st;
    if (auto s = done.get_future().get(); !s.ok()) return s;
  }

  // Users: one or two favourite categories; popular items within a category
  // are picked more often (squared uniform index), so trending has a shape.
  const std::pair<const char*, double> kTypes[] = {
      {"view", 0.6}, {"click", 0.25}, {"save", 0.05}, {"cart", 0.05}, {"purchase", 0.05}};
  std::vector<recd::v1::records::StoredEvent> events;
  uint64_t last_seq = 0;
  auto flush = [&]() -> absl::Status {
    if (events.empty()) return absl::OkStatus();
    std::promise<absl::Status> done;
    auto st = engine.TrackAsync(std::move(events), [&](const absl::Status& s, const CommitResult& r) {
      last_seq = std::max(last_seq, r.last_seq);
      done.set_value(s);
    });
    events.clear();
    if (!st.ok()) return st;
    return done.get_future().get();
  };
  for (int u = 0; u < options.users; ++u) {
    int fav[2] = {static_cast<int>(rng() % kNumCategories), static_cast<int>(rng() % kNumCategories)};
    int n = 20 + static_cast<int>(rng() % 40);
    for (int e = 0; e < n; ++e) {
      int cat = unit(rng) < 0.85 ? fav[unit(rng) < 0.7 ? 0 : 1] : static_cast<int>(rng() % kNumCategories);
      const auto& pool = by_category[cat];
      if (pool.empty()) continue;
      double x = unit(rng);
      int item = pool[static_cast<size_t>(x * x * pool.size())];
      double r = unit(rng), acc = 0;
      const char* type = "view";
      for (const auto& [name, p] : kTypes) {
        acc += p;
        if (r < acc) {
          type = name;
          break;
        }
      }
      if (engine.options().event_weights.count(type) == 0) type = engine.options().event_weights.begin()->first.c_str();
      recd::v1::records::StoredEvent ev;
      ev.set_user_id("demo-user-" + std::to_string(u));
      ev.set_session_id("demo-session-" + std::to_string(u));
      ev.set_item_id("demo-item-" + std::to_string(item));
      ev.set_type(type);
      ev.set_occurred_at_us(now - static_cast<int64_t>(unit(rng) * 14 * kDayUs));
      events.push_back(std::move(ev));
      if (events.size() >= 1000) {
        if (auto s = flush(); !s.ok()) return s;
      }
    }
  }
  if (auto s = flush(); !s.ok()) return s;
  if (!engine.WaitFolded(last_seq, 60)) return absl::DeadlineExceededError("demo: fold-in did not finish");
  spdlog::info("demo catalog: {} items, {} users with history", options.items, options.users);
  return absl::OkStatus();
}

}  // namespace recd::core
