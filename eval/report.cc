#include "eval/report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "eval/report_charts.h"
#include "eval/svg_chart.h"
#include "eval/text_table.h"

namespace recd::eval {
namespace pb = ::recd::v1::eval;
namespace {

std::string Fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

void FillAtK(const MetricsAtK& r, pb::MetricsAtK* m) {
  m->set_k(r.k);
  m->set_precision(r.precision);
  m->set_recall(r.recall);
  m->set_ndcg(r.ndcg);
  m->set_map(r.map);
  m->set_map_ms(r.map_ms);
  m->set_mrr(r.mrr);
  m->set_hit_rate(r.hit_rate);
  m->set_coverage(r.coverage);
  m->set_novelty(r.novelty);
  m->set_popularity_percentile(r.popularity_percentile);
}

std::string KindName(pb::RowKind kind) {
  switch (kind) {
    case pb::ROW_KIND_SOURCE:
      return "source";
    case pb::ROW_KIND_BLEND:
      return "blend";
    case pb::ROW_KIND_BASELINE:
      return "baseline";
    default:
      return "";
  }
}

const std::vector<std::string>& MetricHeader() {
  static const auto* header = new std::vector<std::string>{"P",   "R",  "nDCG", "MAP", "MAP(MS)",
                                                           "MRR", "HR", "Cov",  "Nov", "Pop%"};
  return *header;
}

std::vector<std::string> MetricCells(const pb::MetricsAtK& m) {
  return {Fixed(m.precision(), 4), Fixed(m.recall(), 4),
          Fixed(m.ndcg(), 4),      Fixed(m.map(), 4),
          Fixed(m.map_ms(), 4),    Fixed(m.mrr(), 4),
          Fixed(m.hit_rate(), 4),  Fixed(m.coverage(), 4),
          Fixed(m.novelty(), 3),   Fixed(m.popularity_percentile(), 1)};
}

std::vector<size_t> RightFrom(size_t first, size_t count) {
  std::vector<size_t> cols;
  for (size_t c = first; c < first + count; ++c) cols.push_back(c);
  return cols;
}

std::string DatasetLine(const pb::DatasetInfo& d) {
  return absl::StrCat(d.name(), " (", d.format(), ", ", d.path(), "): ", d.events(), " events, ",
                      d.users(), " users, ", d.items(), " items, timestamps ",
                      d.has_timestamps() ? "yes" : "no");
}

std::string SplitLine(const pb::SplitInfo& s) {
  std::string params;
  if (s.method() == "global_time") {
    params = absl::StrCat("train_fraction=", s.train_fraction(),
                          ", cut=", FormatTimeUs(s.cut_time_us()));
  } else if (s.method() == "leave_last_n") {
    params = absl::StrCat("n=", s.n());
  } else if (s.method() == "stratified_random") {
    params = absl::StrCat("train_ratio=", s.train_fraction(), ", seed=", s.seed());
  }
  return absl::StrCat(s.method(), params.empty() ? "" : " (", params, params.empty() ? "" : ")",
                      ": ", s.train_events(), " train / ", s.test_events(), " test events, ",
                      s.eval_users(), " users evaluated");
}

std::string ConfigLine(const pb::ConfigSummary& c) {
  std::vector<std::string> parts;
  if (!c.model_version().empty()) parts.push_back(absl::StrCat("model ", c.model_version()));
  if (!c.ks().empty()) parts.push_back(absl::StrCat("k = ", absl::StrJoin(c.ks(), ",")));
  // Sorted: map iteration order is unspecified.
  std::map<std::string, std::string> params(c.params().begin(), c.params().end());
  for (const auto& [key, value] : params) parts.push_back(absl::StrCat(key, "=", value));
  return absl::StrJoin(parts, ", ");
}

std::vector<std::vector<std::string>> RowCells(const pb::EvalRun& run) {
  std::vector<std::vector<std::string>> rows;
  for (const pb::MetricsRow& row : run.rows()) {
    for (const pb::MetricsAtK& m : row.at_k()) {
      std::vector<std::string> cells = {row.name(), KindName(row.kind()), absl::StrCat(m.k()),
                                        absl::StrCat(row.users())};
      for (std::string& c : MetricCells(m)) cells.push_back(std::move(c));
      rows.push_back(std::move(cells));
    }
  }
  return rows;
}

std::vector<std::vector<std::string>> SliceCells(const pb::EvalRun& run) {
  std::vector<std::vector<std::string>> rows;
  for (const pb::TimeSliceRow& row : run.time_slices()) {
    for (const pb::MetricsAtK& m : row.at_k()) {
      std::vector<std::string> cells = {row.slice(), FormatTimeUs(row.start_us()), row.name(),
                                        absl::StrCat(m.k()), absl::StrCat(row.users())};
      for (std::string& c : MetricCells(m)) cells.push_back(std::move(c));
      rows.push_back(std::move(cells));
    }
  }
  return rows;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string MdCell(const std::string& s) {
  return absl::StrReplaceAll(s, {{"|", "\\|"}, {"\n", " "}});
}

std::string MarkdownTable(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows, size_t left_cols) {
  std::string out = "|";
  for (const std::string& h : header) absl::StrAppend(&out, " ", MdCell(h), " |");
  out += "\n|";
  for (size_t c = 0; c < header.size(); ++c) out += c < left_cols ? "---|" : "---:|";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const std::string& cell : row) absl::StrAppend(&out, " ", MdCell(cell), " |");
    out += "\n";
  }
  return out;
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  if (!f) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

}  // namespace

std::string FormatTimeUs(int64_t us) {
  std::time_t seconds =
      static_cast<std::time_t>(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

pb::DatasetInfo MakeDatasetInfo(const Dataset& dataset, const std::string& format,
                                const std::string& path) {
  pb::DatasetInfo info;
  info.set_name(dataset.name);
  info.set_format(format);
  info.set_path(path);
  info.set_events(static_cast<int64_t>(dataset.events.size()));
  std::unordered_set<std::string_view> users;
  for (const EventRow& e : dataset.events) users.insert(e.user);
  info.set_users(static_cast<int64_t>(users.size()));
  info.set_items(static_cast<int64_t>(dataset.items.size()));
  info.set_has_timestamps(dataset.has_timestamps);
  return info;
}

pb::SplitInfo MakeSplitInfo(const std::string& method, const Split& split) {
  pb::SplitInfo info;
  info.set_method(method);
  info.set_train_events(static_cast<int64_t>(split.train.size()));
  info.set_test_events(static_cast<int64_t>(split.test.size()));
  info.set_cut_time_us(split.cut_time_us);
  return info;
}

pb::SplitInfo MakeSplitInfo(const SplitParams& params, const Split& split, int64_t eval_users) {
  pb::SplitInfo info = MakeSplitInfo(params.method, split);
  info.set_eval_users(eval_users);
  if (params.method == "leave_last_n") {
    info.set_n(params.n);
  } else {
    info.set_train_fraction(params.train_fraction);
  }
  if (params.method == "stratified_random") {
    info.set_seed(params.seed);
    info.set_note(absl::StrCat(
        "MS Recommenders python_stratified_split protocol (per user, ",
        params.rounding == StratifiedRounding::kRoundHalfEven
            ? "round-half-even(ratio * n) rows to train, as in the version behind their "
              "published table"
            : "floor(ratio * n) rows to train, as in their later rank-based version",
        "); rows are shuffled with std::mt19937_64, not numpy, so the rows drawn differ "
        "while the per-user sizes match"));
  }
  return info;
}

pb::MetricsRow MakeMetricsRow(const std::string& name, pb::RowKind kind,
                              const std::vector<MetricsAtK>& results) {
  pb::MetricsRow row;
  row.set_name(name);
  row.set_kind(kind);
  if (!results.empty()) row.set_users(results.front().users);
  for (const MetricsAtK& r : results) FillAtK(r, row.add_at_k());
  return row;
}

pb::TimeSliceRow MakeTimeSliceRow(const std::string& slice, const TimeSlice& window,
                                  const std::string& name, const std::vector<MetricsAtK>& results) {
  pb::TimeSliceRow row;
  row.set_slice(slice);
  row.set_start_us(window.start_us);
  row.set_end_us(window.end_us);
  row.set_name(name);
  if (!results.empty()) row.set_users(results.front().users);
  for (const MetricsAtK& r : results) FillAtK(r, row.add_at_k());
  return row;
}

absl::StatusOr<std::string> RunToJson(const pb::EvalRun& run) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(run, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("eval report to JSON: ", status.ToString()));
  }
  return json;
}

std::string RunToText(const pb::EvalRun& run) {
  std::string out;
  absl::StrAppend(&out, "dataset  ", DatasetLine(run.dataset()), "\n");
  absl::StrAppend(&out, "split    ", SplitLine(run.split()), "\n");
  const std::string config = ConfigLine(run.config());
  if (!config.empty()) absl::StrAppend(&out, "config   ", config, "\n");
  out += "\n";
  const std::vector<std::string> header = Concat({"name", "kind", "k", "users"}, MetricHeader());
  out += FormatTextTable(header, RowCells(run), RightFrom(2, header.size() - 2));
  if (run.time_slices_size() > 0) {
    out += "\ntime slices\n";
    const std::vector<std::string> slice_header =
        Concat({"slice", "start", "name", "k", "users"}, MetricHeader());
    out += FormatTextTable(slice_header, SliceCells(run), RightFrom(3, slice_header.size() - 3));
  }
  for (const std::string& note : run.notes()) absl::StrAppend(&out, "note: ", note, "\n");
  return out;
}

std::string RunToMarkdown(const pb::EvalRun& run, const std::vector<Figure>& figures) {
  std::string out;
  absl::StrAppend(&out, "# Offline evaluation: ", run.dataset().name(), "\n\n");
  if (!run.run_id().empty()) absl::StrAppend(&out, "- **Run:** ", run.run_id(), "\n");
  if (run.started_at_us() != 0) {
    absl::StrAppend(&out, "- **Started:** ", FormatTimeUs(run.started_at_us()), " (",
                    Fixed(run.duration_seconds(), 1), " s)\n");
  }
  absl::StrAppend(&out, "- **Dataset:** ", DatasetLine(run.dataset()), "\n");
  absl::StrAppend(&out, "- **Split:** ", SplitLine(run.split()), "\n");
  if (!run.split().note().empty()) absl::StrAppend(&out, "  - ", run.split().note(), "\n");
  const std::string config = ConfigLine(run.config());
  if (!config.empty()) absl::StrAppend(&out, "- **Config:** ", config, "\n");
  out += "\n## Results\n\n";
  out +=
      "Means over the evaluated users (a user with an empty list counts as zeros). "
      "MAP divides by min(k, |relevant|); MAP(MS) by |relevant|, as Microsoft "
      "Recommenders' published table does. Cov = catalog coverage, Nov = mean "
      "self-information in bits, Pop% = mean popularity percentile of recommended "
      "items.\n\n";
  const std::vector<std::string> header = Concat({"name", "kind", "k", "users"}, MetricHeader());
  out += MarkdownTable(header, RowCells(run), 2);
  if (!figures.empty()) {
    out += "\n## Charts\n\n";
    for (const Figure& f : figures) {
      absl::StrAppend(&out, "![", MdCell(f.caption), "](", f.file, ")\n\n");
    }
  }
  if (run.time_slices_size() > 0) {
    out += "\n## Time slices\n\n";
    const std::vector<std::string> slice_header =
        Concat({"slice", "start", "name", "k", "users"}, MetricHeader());
    out += MarkdownTable(slice_header, SliceCells(run), 3);
  }
  if (run.notes_size() > 0) {
    out += "\n## Notes\n\n";
    for (const std::string& note : run.notes()) absl::StrAppend(&out, "- ", note, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> WriteReport(const pb::EvalRun& run,
                                                     const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& content) -> absl::Status {
    const std::string path = (std::filesystem::path(dir) / name).string();
    if (auto s = WriteFile(path, content); !s.ok()) return s;
    written.push_back(path);
    return absl::OkStatus();
  };

  std::vector<Figure> figures;
  for (const char* metric : {"ndcg", "recall", "precision"}) {
    auto chart = MetricVsKChart(run, metric);
    if (!chart.ok()) return chart.status();
    const std::string file = absl::StrCat(metric, "_vs_k.svg");
    if (auto s = write(file, RenderSvg(*chart)); !s.ok()) return s;
    figures.push_back({file, chart->title});
  }
  const int k = PickK(run);
  if (k > 0) {
    auto bars = MetricByRowChart(run, "ndcg", k);
    if (!bars.ok()) return bars.status();
    const std::string file = absl::StrCat("ndcg_at_", k, "_by_source.svg");
    if (auto s = write(file, RenderSvg(*bars)); !s.ok()) return s;
    figures.push_back({file, bars->title});
    if (run.time_slices_size() > 0) {
      auto slices = MetricByTimeSliceChart(run, "ndcg", k);
      if (!slices.ok()) return slices.status();
      const std::string slice_file = absl::StrCat("ndcg_at_", k, "_by_time_slice.svg");
      if (auto s = write(slice_file, RenderSvg(*slices)); !s.ok()) return s;
      figures.push_back({slice_file, slices->title});
    }
  }
  auto json = RunToJson(run);
  if (!json.ok()) return json.status();
  if (auto s = write("report.json", *json); !s.ok()) return s;
  if (auto s = write("report.txt", RunToText(run)); !s.ok()) return s;
  if (auto s = write("report.md", RunToMarkdown(run, figures)); !s.ok()) return s;
  return written;
}

}  // namespace recd::eval
