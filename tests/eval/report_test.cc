#include "eval/report.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <filesystem>

#include "eval/report_charts.h"
#include "gtest/gtest.h"
#include "tests/eval/file_util.h"
#include "tests/eval/xml_check.h"
#include "tests/test_util.h"

namespace recd::eval {
namespace {

namespace pb = ::recd::v1::eval;

std::vector<MetricsAtK> Results(double scale) {
  std::vector<MetricsAtK> out;
  for (int k : {1, 5, 10}) {
    MetricsAtK m;
    m.k = k;
    m.users = 943;
    m.precision = 0.4 * scale / k;
    m.recall = 0.02 * k * scale;
    m.ndcg = 0.1 * scale + 0.01 * k;
    m.map = 0.05 * scale;
    m.map_ms = 0.04 * scale;
    m.mrr = 0.3 * scale;
    m.hit_rate = 0.5 * scale;
    m.coverage = 0.2;
    m.novelty = 3.5;
    m.popularity_percentile = 91.25;
    out.push_back(m);
  }
  return out;
}

pb::EvalRun SampleRun() {
  pb::EvalRun run;
  run.set_run_id("test-run");
  Dataset ds;
  ds.name = "movielens-100k";
  ds.items.resize(3);
  EventRow e;
  e.user = "u1";
  ds.events = {e, e};
  ds.events[1].user = "u2";
  *run.mutable_dataset() = MakeDatasetInfo(ds, "movielens-100k", "/data/ml-100k");
  Split split;
  split.train = {0};
  split.test = {1};
  SplitParams params;  // stratified_random, 0.75, seed 42
  *run.mutable_split() = MakeSplitInfo(params, split, 943);
  run.mutable_config()->set_model_version("m-1");
  run.mutable_config()->add_ks(10);
  (*run.mutable_config()->mutable_params())["remove_seen"] = "true";
  *run.add_rows() = MakeMetricsRow("blend", pb::ROW_KIND_BLEND, Results(1.0));
  *run.add_rows() = MakeMetricsRow("ann", pb::ROW_KIND_SOURCE, Results(0.8));
  *run.add_rows() = MakeMetricsRow("pop|ular", pb::ROW_KIND_BASELINE, Results(0.5));
  TimeSlice w1{1000000, 2000000, {}}, w2{2000000, 3000000, {}};
  *run.add_time_slices() = MakeTimeSliceRow("day 1", w1, "blend", Results(1.0));
  *run.add_time_slices() = MakeTimeSliceRow("day 2", w2, "blend", Results(0.9));
  *run.add_time_slices() = MakeTimeSliceRow("day 1", w1, "ann", Results(0.7));
  run.add_notes("MAP(MS) is comparable to the MS Recommenders table.");
  return run;
}

TEST(MakeRows, CopyEveryMetric) {
  pb::MetricsRow row = MakeMetricsRow("ann", pb::ROW_KIND_SOURCE, Results(1.0));
  ASSERT_EQ(row.at_k_size(), 3);
  EXPECT_EQ(row.users(), 943);
  const pb::MetricsAtK& m = row.at_k(1);
  EXPECT_EQ(m.k(), 5);
  EXPECT_DOUBLE_EQ(m.precision(), 0.4 / 5);
  EXPECT_DOUBLE_EQ(m.recall(), 0.1);
  EXPECT_DOUBLE_EQ(m.ndcg(), 0.15);
  EXPECT_DOUBLE_EQ(m.map(), 0.05);
  EXPECT_DOUBLE_EQ(m.map_ms(), 0.04);
  EXPECT_DOUBLE_EQ(m.mrr(), 0.3);
  EXPECT_DOUBLE_EQ(m.hit_rate(), 0.5);
  EXPECT_DOUBLE_EQ(m.coverage(), 0.2);
  EXPECT_DOUBLE_EQ(m.novelty(), 3.5);
  EXPECT_DOUBLE_EQ(m.popularity_percentile(), 91.25);
  pb::EvalRun run = SampleRun();
  EXPECT_EQ(run.dataset().users(), 2);
  EXPECT_EQ(run.dataset().items(), 3);
  EXPECT_EQ(run.split().train_events(), 1);
}

TEST(MakeSplitInfo, RecordsTheParametersOfTheMethod) {
  Split split;
  split.train = {0, 1, 2};
  split.test = {3};
  split.cut_time_us = 77;
  SplitParams params;
  params.method = "global_time";
  params.train_fraction = 0.8;
  pb::SplitInfo g = MakeSplitInfo(params, split, 12);
  EXPECT_EQ(g.method(), "global_time");
  EXPECT_DOUBLE_EQ(g.train_fraction(), 0.8);
  EXPECT_EQ(g.cut_time_us(), 77);
  EXPECT_EQ(g.train_events(), 3);
  EXPECT_EQ(g.test_events(), 1);
  EXPECT_EQ(g.eval_users(), 12);
  EXPECT_TRUE(g.note().empty());
  params.method = "leave_last_n";
  params.n = 2;
  pb::SplitInfo l = MakeSplitInfo(params, split, 12);
  EXPECT_EQ(l.n(), 2);
  EXPECT_EQ(l.train_fraction(), 0);
  params.method = "stratified_random";
  params.seed = 9;
  pb::SplitInfo s = MakeSplitInfo(params, split, 12);
  EXPECT_EQ(s.seed(), 9u);
  EXPECT_NE(s.note().find("round-half-even"), std::string::npos);
  params.rounding = StratifiedRounding::kFloor;
  EXPECT_NE(MakeSplitInfo(params, split, 12).note().find("floor"), std::string::npos);
}

TEST(RunToJson, RoundTripsThroughProtobufJson) {
  const pb::EvalRun run = SampleRun();
  auto json = RunToJson(run);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"map_ms\""), std::string::npos);  // proto field names kept
  EXPECT_NE(json->find("\"ROW_KIND_BLEND\""), std::string::npos);
  EXPECT_NE(json->find("\"cut_time_us\""), std::string::npos);  // zero values printed
  pb::EvalRun back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &back).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(run, back));
}

TEST(RunToText, OneAlignedLinePerRowAndK) {
  const std::string text = RunToText(SampleRun());
  EXPECT_NE(text.find("stratified_random (train_ratio=0.75, seed=42)"), std::string::npos) << text;
  EXPECT_NE(text.find("remove_seen=true"), std::string::npos);
  // Header + rule + 3 rows x 3 ks, then the time-slice table.
  size_t blend_lines = 0;
  for (size_t p = text.find("\nblend "); p != std::string::npos; p = text.find("\nblend ", p + 1)) {
    ++blend_lines;
  }
  EXPECT_EQ(blend_lines, 3u);
  EXPECT_NE(text.find("time slices"), std::string::npos);
  EXPECT_NE(text.find("day 2"), std::string::npos);
  // Fixed width, numbers right-aligned: the nDCG header and blend@1's nDCG
  // (0.1100) end in the same column.
  const size_t header = text.find("\nname") + 1;
  const std::string header_line = text.substr(header, text.find('\n', header) - header);
  const size_t row = text.find("\nblend ") + 1;
  const std::string row_line = text.substr(row, text.find('\n', row) - row);
  ASSERT_NE(header_line.find("nDCG"), std::string::npos);
  ASSERT_NE(row_line.find("0.1100"), std::string::npos);
  EXPECT_EQ(header_line.find("nDCG") + 4, row_line.find("0.1100") + 6) << text;
}

TEST(RunToMarkdown, EmbedsFiguresAndEscapesCells) {
  const std::string md = RunToMarkdown(SampleRun(), {{"ndcg_vs_k.svg", "nDCG@k"}});
  EXPECT_EQ(md.rfind("# Offline evaluation: movielens-100k", 0), 0u);
  EXPECT_NE(md.find("![nDCG@k](ndcg_vs_k.svg)"), std::string::npos);
  EXPECT_NE(md.find("| pop\\|ular |"), std::string::npos);  // '|' escaped in a cell
  EXPECT_NE(md.find("|---|---|---:|"), std::string::npos);
  EXPECT_NE(md.find("## Time slices"), std::string::npos);
  EXPECT_NE(md.find("- MAP(MS) is comparable"), std::string::npos);
}

TEST(ReportCharts, SeriesPerRowAndSliceGroups) {
  const pb::EvalRun run = SampleRun();
  auto line = MetricVsKChart(run, "ndcg");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->x_labels, (std::vector<std::string>{"1", "5", "10"}));
  ASSERT_EQ(line->series.size(), 3u);
  EXPECT_EQ(line->series[1].name, "ann");
  EXPECT_DOUBLE_EQ(line->series[1].values[2], 0.08 + 0.1);
  auto bars = MetricByTimeSliceChart(run, "ndcg", 10);
  ASSERT_TRUE(bars.ok());
  EXPECT_EQ(bars->groups, (std::vector<std::string>{"day 1", "day 2"}));
  ASSERT_EQ(bars->series.size(), 2u);
  EXPECT_TRUE(std::isnan(bars->series[1].values[1]));  // ann has no "day 2" row
  EXPECT_EQ(PickK(run), 10);
  EXPECT_EQ(PickK(run, 7), 5);
  EXPECT_EQ(PickK(run, 0), 1);
  auto bad = MetricVsKChart(run, "auc");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("auc"), std::string::npos);
}

TEST(WriteReport, WritesJsonTextMarkdownAndWellFormedSvgs) {
  recd::testing::TempDir dir;
  const std::string out = dir.Sub("report");
  auto written = WriteReport(SampleRun(), out);
  ASSERT_TRUE(written.ok()) << written.status();
  for (const char* name :
       {"report.json", "report.txt", "report.md", "ndcg_vs_k.svg", "recall_vs_k.svg",
        "precision_vs_k.svg", "ndcg_at_10_by_source.svg", "ndcg_at_10_by_time_slice.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(out) / name)) << name;
  }
  EXPECT_EQ(written->size(), 8u);
  const std::string md = testing::ReadText(out + "/report.md");
  for (const std::string& path : *written) {
    const std::string name = std::filesystem::path(path).filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".svg") {
      EXPECT_NE(md.find("](" + name + ")"), std::string::npos) << name;
      const std::string svg = testing::ReadText(path);
      EXPECT_EQ(svg.rfind("<svg", 0), 0u) << name;
      EXPECT_EQ(testing::XmlProblem(svg), "") << name;
      EXPECT_NE(svg.find("blend"), std::string::npos) << name;
    }
  }
  const std::string line = testing::ReadText(out + "/ndcg_vs_k.svg");
  EXPECT_NE(line.find(">ann</text>"), std::string::npos);
  EXPECT_NE(line.find(">pop|ular</text>"), std::string::npos);
}

}  // namespace
}  // namespace recd::eval
