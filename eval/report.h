// Output of an evaluation run (recd.v1.eval.EvalRun): JSON, a fixed-width
// text table for stdout, SVG charts and a Markdown report that embeds them.
// The caller (`recd eval`) fills the EvalRun, mostly with the helpers below,
// and calls WriteReport and/or RunToText.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "eval/split.h"
#include "recd/v1/eval.pb.h"

namespace recd::eval {

// Dataset summary: counts of events, distinct users and catalog items.
recd::v1::eval::DatasetInfo MakeDatasetInfo(const Dataset& dataset, const std::string& format,
                                            const std::string& path);

// Split summary with the parameters that matter for params.method, the
// sizes, the cut time, eval_users, and for stratified_random a note on how
// it differs from MS Recommenders' splitter.
recd::v1::eval::SplitInfo MakeSplitInfo(const SplitParams& params, const Split& split,
                                        int64_t eval_users);

// The same with the method name only (the caller sets the parameters).
recd::v1::eval::SplitInfo MakeSplitInfo(const std::string& method, const Split& split);

// A row of metrics from MetricsAccumulator::Results().
recd::v1::eval::MetricsRow MakeMetricsRow(const std::string& name, recd::v1::eval::RowKind kind,
                                          const std::vector<MetricsAtK>& results);

// A time-slice row from MetricsAccumulator::Results().
recd::v1::eval::TimeSliceRow MakeTimeSliceRow(const std::string& slice, const TimeSlice& window,
                                              const std::string& name,
                                              const std::vector<MetricsAtK>& results);

// The run as JSON via google::protobuf::util::MessageToJsonString: field
// names as in eval.proto (snake_case), zero values printed, indented.
// INTERNAL if the conversion fails (e.g. a string field is not UTF-8).
[[nodiscard]] absl::StatusOr<std::string> RunToJson(const recd::v1::eval::EvalRun& run);

// Dataset, split and config lines, then a fixed-width table with one line
// per (row, k), then the same for time slices if any.
std::string RunToText(const recd::v1::eval::EvalRun& run);

// An image to embed in the Markdown report, by path relative to the report.
struct Figure {
  std::string file;
  std::string caption;
};

// A Markdown document: summary, the metrics tables, the figures, time
// slices and notes.
std::string RunToMarkdown(const recd::v1::eval::EvalRun& run, const std::vector<Figure>& figures);

// Writes into `dir` (created if missing; existing files of the same names
// are replaced): report.json, report.txt, report.md and the SVG charts
// ndcg_vs_k.svg, recall_vs_k.svg, precision_vs_k.svg, ndcg_at_<k>_by_source.svg
// (k = PickK(run)), and ndcg_at_<k>_by_time_slice.svg when the run has time
// slices. Returns the paths written. INTERNAL naming the file when a file
// cannot be written.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> WriteReport(
    const recd::v1::eval::EvalRun& run, const std::string& dir);

// "2018-11-07T00:02:00Z" (UTC, second precision).
std::string FormatTimeUs(int64_t us);

}  // namespace recd::eval
