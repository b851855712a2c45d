// Charts of an evaluation run (eval.proto) as SVG chart descriptions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eval/svg_chart.h"
#include "recd/v1/eval.pb.h"

namespace recd::eval {

// The metric names of recd.v1.eval.MetricsAtK, in report order:
// precision, recall, ndcg, map, map_ms, mrr, hit_rate, coverage, novelty,
// popularity_percentile.
const std::vector<std::string>& MetricNames();

// A short display label ("nDCG", "MAP (MS)", ...); the name itself if
// unknown.
std::string MetricLabel(absl::string_view metric);

// The value of `metric` in m; INVALID_ARGUMENT naming the metric if it is
// not one of MetricNames().
[[nodiscard]] absl::StatusOr<double> MetricValue(const recd::v1::eval::MetricsAtK& m,
                                                 absl::string_view metric);

// The cutoff bar charts use: `preferred` if some row has it, else the
// largest k below it, else the smallest k; 0 when the run has no metrics.
int PickK(const recd::v1::eval::EvalRun& run, int preferred = 10);

// `metric` against k, one line per row of run.rows (union of their ks on
// the x axis; a row without some k has a gap there).
[[nodiscard]] absl::StatusOr<LineChart> MetricVsKChart(const recd::v1::eval::EvalRun& run,
                                                       absl::string_view metric);

// `metric`@k, one bar per row of run.rows.
[[nodiscard]] absl::StatusOr<BarChart> MetricByRowChart(const recd::v1::eval::EvalRun& run,
                                                        absl::string_view metric, int k);

// `metric`@k per time slice (groups, in order of first appearance), one
// series per producer name.
[[nodiscard]] absl::StatusOr<BarChart> MetricByTimeSliceChart(const recd::v1::eval::EvalRun& run,
                                                              absl::string_view metric, int k);

}  // namespace recd::eval
