// Small standalone SVG 1.1 charts for evaluation reports (no plotting
// library is packaged here). Output is a complete document starting with
// "<svg", UTF-8, no external resources; text is XML-escaped.
#pragma once

#include <string>
#include <vector>

namespace recd::eval {

struct ChartSeries {
  std::string name;
  // One value per x position (line chart) or group (bar chart); NaN: no
  // value (a gap in the line, no bar).
  std::vector<double> values;
};

// Lines of y against x, one per series, with points, axes, ticks, grid,
// axis labels and a legend. The x positions are evenly spaced in the given
// order and labelled with x_labels (k = 1, 5, 10, 20, 50, 100 would crowd
// on a linear axis). The y axis starts at min(0, smallest value) and ends
// at a rounded value at or above the largest.
struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> x_labels;
  std::vector<ChartSeries> series;  // values.size() should equal x_labels.size()
  int width = 760;
  int height = 440;
};

// Grouped bars: one group per entry of `groups`, one bar per series inside
// each group, the value above each bar when there are at most 40 bars, and
// a legend when there is more than one series or the only series' name
// differs from y_label.
struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> groups;
  std::vector<ChartSeries> series;  // values.size() should equal groups.size()
  int width = 760;
  int height = 440;
};

std::string RenderSvg(const LineChart& chart);
std::string RenderSvg(const BarChart& chart);

// s with &, <, >, " and ' replaced by XML entities.
std::string XmlEscape(const std::string& s);

}  // namespace recd::eval
