#include "eval/report_charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace recd::eval {
namespace pb = ::recd::v1::eval;
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Value of metric at k in at_k, NaN when k is absent.
template <typename Repeated>
double ValueAt(const Repeated& at_k, int k, absl::string_view metric) {
  for (const pb::MetricsAtK& m : at_k) {
    if (m.k() == k) return *MetricValue(m, metric);
  }
  return kNaN;
}

absl::Status CheckMetric(absl::string_view metric) {
  return MetricValue(pb::MetricsAtK(), metric).status();
}

}  // namespace

const std::vector<std::string>& MetricNames() {
  static const auto* names = new std::vector<std::string>{
      "precision", "recall",   "ndcg",     "map",     "map_ms",
      "mrr",       "hit_rate", "coverage", "novelty", "popularity_percentile"};
  return *names;
}

std::string MetricLabel(absl::string_view metric) {
  static const auto* labels =
      new std::map<std::string, std::string>{{"precision", "Precision"},
                                             {"recall", "Recall"},
                                             {"ndcg", "nDCG"},
                                             {"map", "MAP"},
                                             {"map_ms", "MAP (MS)"},
                                             {"mrr", "MRR"},
                                             {"hit_rate", "HitRate"},
                                             {"coverage", "Coverage"},
                                             {"novelty", "Novelty (bits)"},
                                             {"popularity_percentile", "Popularity percentile"}};
  auto it = labels->find(std::string(metric));
  return it == labels->end() ? std::string(metric) : it->second;
}

absl::StatusOr<double> MetricValue(const pb::MetricsAtK& m, absl::string_view metric) {
  if (metric == "precision") return m.precision();
  if (metric == "recall") return m.recall();
  if (metric == "ndcg") return m.ndcg();
  if (metric == "map") return m.map();
  if (metric == "map_ms") return m.map_ms();
  if (metric == "mrr") return m.mrr();
  if (metric == "hit_rate") return m.hit_rate();
  if (metric == "coverage") return m.coverage();
  if (metric == "novelty") return m.novelty();
  if (metric == "popularity_percentile") return m.popularity_percentile();
  return absl::InvalidArgumentError(
      absl::StrCat("metric: unknown metric \"", metric,
                   "\"; expected precision, recall, ndcg, map, map_ms, mrr, hit_rate, coverage, "
                   "novelty or popularity_percentile"));
}

int PickK(const pb::EvalRun& run, int preferred) {
  std::set<int> ks;
  for (const pb::MetricsRow& row : run.rows()) {
    for (const pb::MetricsAtK& m : row.at_k()) ks.insert(m.k());
  }
  for (const pb::TimeSliceRow& row : run.time_slices()) {
    for (const pb::MetricsAtK& m : row.at_k()) ks.insert(m.k());
  }
  if (ks.empty()) return 0;
  if (ks.count(preferred) > 0) return preferred;
  auto it = ks.lower_bound(preferred);
  if (it != ks.begin()) return *std::prev(it);
  return *ks.begin();
}

absl::StatusOr<LineChart> MetricVsKChart(const pb::EvalRun& run, absl::string_view metric) {
  if (auto s = CheckMetric(metric); !s.ok()) return s;
  std::set<int> ks;
  for (const pb::MetricsRow& row : run.rows()) {
    for (const pb::MetricsAtK& m : row.at_k()) ks.insert(m.k());
  }
  LineChart chart;
  chart.title = absl::StrCat(MetricLabel(metric), "@k — ", run.dataset().name());
  chart.x_label = "k (cutoff)";
  chart.y_label = MetricLabel(metric);
  for (int k : ks) chart.x_labels.push_back(absl::StrCat(k));
  for (const pb::MetricsRow& row : run.rows()) {
    ChartSeries s;
    s.name = row.name();
    for (int k : ks) s.values.push_back(ValueAt(row.at_k(), k, metric));
    chart.series.push_back(std::move(s));
  }
  return chart;
}

absl::StatusOr<BarChart> MetricByRowChart(const pb::EvalRun& run, absl::string_view metric, int k) {
  if (auto s = CheckMetric(metric); !s.ok()) return s;
  BarChart chart;
  const std::string label = absl::StrCat(MetricLabel(metric), "@", k);
  chart.title = absl::StrCat(label, " by source — ", run.dataset().name());
  chart.y_label = label;
  ChartSeries s;
  s.name = label;
  for (const pb::MetricsRow& row : run.rows()) {
    chart.groups.push_back(row.name());
    s.values.push_back(ValueAt(row.at_k(), k, metric));
  }
  chart.series.push_back(std::move(s));
  return chart;
}

absl::StatusOr<BarChart> MetricByTimeSliceChart(const pb::EvalRun& run, absl::string_view metric,
                                                int k) {
  if (auto s = CheckMetric(metric); !s.ok()) return s;
  BarChart chart;
  const std::string label = absl::StrCat(MetricLabel(metric), "@", k);
  chart.title = absl::StrCat(label, " by time slice — ", run.dataset().name());
  chart.y_label = label;
  std::map<std::string, size_t> group_of, series_of;
  for (const pb::TimeSliceRow& row : run.time_slices()) {
    if (group_of.emplace(row.slice(), chart.groups.size()).second) {
      chart.groups.push_back(row.slice());
    }
    if (series_of.emplace(row.name(), chart.series.size()).second) {
      chart.series.push_back(ChartSeries{row.name(), {}});
    }
  }
  for (ChartSeries& s : chart.series) s.values.assign(chart.groups.size(), kNaN);
  for (const pb::TimeSliceRow& row : run.time_slices()) {
    chart.series[series_of[row.name()]].values[group_of[row.slice()]] =
        ValueAt(row.at_k(), k, metric);
  }
  return chart;
}

}  // namespace recd::eval
