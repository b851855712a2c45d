#include "cli/inputs.h"

#include <cmath>
#include <cstdlib>

#include "core/catalog.h"
#include "recd/v1/recd.pb.h"
#include "recd/v1/records.pb.h"
#include "storage/store.h"

namespace recd::cli {

absl::StatusOr<DatasetSpec> ParseDatasetSpec(const std::string& spec, const std::string& flag) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    return absl::InvalidArgumentError("--" + flag + ": expected FORMAT:PATH, got \"" + spec + "\"");
  }
  DatasetSpec d{spec.substr(0, colon), spec.substr(colon + 1)};
  std::string known;
  for (const auto& f : eval::DatasetFormats()) {
    if (f == d.format) return d;
    known += (known.empty() ? "" : ", ") + f;
  }
  return absl::InvalidArgumentError("--" + flag + ": unknown format \"" + d.format +
                                    "\" (one of " + known + ")");
}

std::map<std::string, double> DefaultWeights(const std::string& format) {
  if (format.rfind("movielens", 0) == 0) return {{"rating", 1}};
  if (format == "trivago") {
    return {{"clickout_item", 4},          {"interaction_item_deals", 2},
            {"interaction_item_image", 1}, {"interaction_item_info", 1},
            {"interaction_item_rating", 1}, {"search_for_item", 1}};
  }
  return {};
}

DatasetProfile ProfileFor(const std::string& format) {
  DatasetProfile p;
  if (format == "trivago") {
    p.seen_types = {"clickout_item"};
    p.continuation_types = {"interaction_item_image", "interaction_item_info",
                            "interaction_item_rating", "interaction_item_deals",
                            "search_for_item"};
    p.finish_types = {"clickout_item"};
    p.relevant_types = {"clickout_item"};
  }
  return p;
}

absl::Status ApplyWeightOverrides(const std::vector<std::string>& specs, const std::string& flag,
                                  std::map<std::string, double>* weights) {
  for (const auto& s : specs) {
    const auto eq = s.find('=');
    char* end = nullptr;
    const double w = eq == std::string::npos ? NAN : std::strtod(s.c_str() + eq + 1, &end);
    if (eq == 0 || eq == std::string::npos || !std::isfinite(w) || *end != '\0') {
      return absl::InvalidArgumentError("--" + flag + ": expected TYPE=WEIGHT, got \"" + s + "\"");
    }
    if (w == 0) {
      weights->erase(s.substr(0, eq));
    } else {
      (*weights)[s.substr(0, eq)] = w;
    }
  }
  return absl::OkStatus();
}

absl::Status AddDataDir(const std::string& data_dir, core::TrainingSet* set) {
  storage::StoreOptions so;
  so.path = data_dir;
  so.read_only = true;
  so.block_cache_mb = 64;
  auto store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  absl::Status bad;
  auto st = (*store)->Scan(storage::Cf::kItems, "", [&](std::string_view key, std::string_view v) {
    recd::v1::Item item;
    if (!item.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("items CF: cannot parse " + std::string(key));
      return false;
    }
    set->SetItemLabels(item.id(), core::LabelKeys(item.categories(), item.tags()));
    return true;
  });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  return (*store)->Scan(storage::Cf::kEvents, "", [&](std::string_view, std::string_view v) {
    recd::v1::records::StoredEvent e;
    // An unparsable record is skipped, as the server's fold-in does.
    if (e.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      set->AddEvent(e.user_id().empty() ? e.session_id() : e.user_id(), e.item_id(), e.type(),
                    e.occurred_at_us());
    }
    return true;
  });
}

void AddDataset(const eval::Dataset& dataset, const std::vector<size_t>* indices,
                core::TrainingSet* set) {
  for (const auto& item : dataset.items) {
    set->SetItemLabels(item.id, core::LabelKeys(item.categories, item.tags));
  }
  auto add = [&](const eval::EventRow& e) {
    set->AddEvent(e.user.empty() ? e.session : e.user, e.item, e.type, e.ts_us);
  };
  if (indices == nullptr) {
    for (const auto& e : dataset.events) add(e);
  } else {
    for (size_t i : *indices) add(dataset.events[i]);
  }
}

}  // namespace recd::cli
