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

  // Series: a few shows of five episodes (counted in options.items).
  const int shows = options.items >= 200 ? 20 : 0;
  const int plain_items = options.items - shows * 5;
  std::vector<std::vector<float>> centroids(kNumCategories, std::vector<float>(dim));
  for (auto& c : centroids) {
    for (auto& x : c) x = normal(rng);
  }
  // Items, grouped by primary category for the users' picks below.
  std::vector<std::vector<int>> by_category(kNumCategories);
  std::vector<recd::v1::Item> items;
  for (int i = 0; i < plain_items; ++i) {
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
  // The shows: "demo-show-<s>-ep-<e>", category "tv", so continuation has a
  // next episode to offer.
  std::vector<float> tv(dim);
  for (auto& x : tv) x = normal(rng);
  for (int show = 0; show < shows; ++show) {
    for (int ep = 1; ep <= 5; ++ep) {
      recd::v1::Item item;
      item.set_id("demo-show-" + std::to_string(show) + "-ep-" + std::to_string(ep));
      item.add_categories("tv");
      item.add_tags("show-" + std::to_string(show));
      SetTs(item.mutable_created_at(), now - (30 - ep * 5) * kDayUs);
      (*item.mutable_properties())["series_id"] = "demo-show-" + std::to_string(show);
      (*item.mutable_properties())["series_index"] = std::to_string(ep);
      (*item.mutable_properties())["title"] =
          "Demo show " + std::to_string(show) + ", episode " + std::to_string(ep);
      for (int d = 0; d < dim; ++d) item.add_vector(tv[d] + 0.5f * normal(rng));
      items.push_back(std::move(item));
    }
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
    // Sessions of 4-10 events a minute or two apart, at random times over the
    // last two weeks, each about one of the user's favourite categories (so
    // co-visitation learns which items go together).
    const int sessions = 3 + static_cast<int>(rng() % 6);
    for (int sn = 0; sn < sessions; ++sn) {
      int64_t t = now - static_cast<int64_t>(unit(rng) * 14 * kDayUs);
      const int topic = unit(rng) < 0.85 ? fav[unit(rng) < 0.7 ? 0 : 1]
                                         : static_cast<int>(rng() % kNumCategories);
      const int n = 4 + static_cast<int>(rng() % 7);
      for (int e = 0; e < n; ++e) {
        const int cat = unit(rng) < 0.9 ? topic : static_cast<int>(rng() % kNumCategories);
        const auto& pool = by_category[cat];
        if (pool.empty()) continue;
        const double x = unit(rng);
        const int item = pool[static_cast<size_t>(x * x * pool.size())];
        double r = unit(rng), acc = 0;
        const char* type = "view";
        for (const auto& [name, p] : kTypes) {
          acc += p;
          if (r < acc) {
            type = name;
            break;
          }
        }
        recd::v1::records::StoredEvent ev;
        ev.set_user_id("demo-user-" + std::to_string(u));
        ev.set_session_id("demo-session-" + std::to_string(u) + "-" + std::to_string(sn));
        ev.set_item_id("demo-item-" + std::to_string(item));
        ev.set_type(engine.options().event_weights.count(type)
                        ? std::string(type)
                        : engine.options().event_weights.begin()->first);
        t += 30 * 1000000LL + static_cast<int64_t>(unit(rng) * 90 * 1000000LL);
        ev.set_occurred_at_us(std::min(t, now));
        events.push_back(std::move(ev));
        if (events.size() >= 1000) {
          if (auto s = flush(); !s.ok()) return s;
        }
      }
    }
  }
  // Every fifth user is watching a show: episodes 1..n viewed in order.
  for (int u = 0; u < options.users && shows > 0; u += 5) {
    const int show = (u / 5) % shows, watched = 1 + u % 4;
    for (int ep = 1; ep <= watched; ++ep) {
      recd::v1::records::StoredEvent ev;
      ev.set_user_id("demo-user-" + std::to_string(u));
      ev.set_session_id("demo-session-" + std::to_string(u));
      ev.set_item_id("demo-show-" + std::to_string(show) + "-ep-" + std::to_string(ep));
      ev.set_type(engine.options().event_weights.begin()->first);
      if (engine.options().event_weights.count("view")) ev.set_type("view");
      ev.set_occurred_at_us(now - (5 - ep) * 3600LL * 1000000);
      events.push_back(std::move(ev));
    }
  }
  if (auto s = flush(); !s.ok()) return s;
  if (!engine.WaitFolded(last_seq, 60)) return absl::DeadlineExceededError("demo: fold-in did not finish");
  spdlog::info("demo catalog: {} items ({} shows of 5 episodes), {} users with history",
               options.items, shows, options.users);
  return absl::OkStatus();
}

}  // namespace recd::core
