#include "eval/svg_chart.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "tests/eval/xml_check.h"

namespace recd::eval {
namespace {

using recd::eval::testing::XmlProblem;

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(XmlCheck, CatchesBrokenDocuments) {
  // The checker itself must be able to fail.
  EXPECT_EQ(XmlProblem("<svg><g></g></svg>"), "");
  EXPECT_NE(XmlProblem("<svg><g></svg>"), "");
  EXPECT_NE(XmlProblem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(XmlProblem("<svg x=1></svg>"), "");
  EXPECT_NE(XmlProblem("<svg></svg><svg></svg>"), "");
  EXPECT_NE(XmlProblem("<svg>"), "");
}

TEST(RenderSvg, LineChartIsWellFormedWithSeriesAxesAndLegend) {
  LineChart chart;
  chart.title = "nDCG@k <ML-100K>";
  chart.x_label = "k";
  chart.y_label = "nDCG";
  chart.x_labels = {"1", "5", "10", "20"};
  chart.series = {{"ann", {0.1, 0.2, 0.25, 0.3}},
                  {"blend & co", {0.12, 0.22, std::numeric_limits<double>::quiet_NaN(), 0.35}},
                  {"popular", {0.05, 0.07, 0.08, 0.09}}};
  const std::string svg = RenderSvg(chart);
  EXPECT_TRUE(StartsWith(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
  EXPECT_EQ(XmlProblem(svg), "") << svg;
  EXPECT_NE(svg.find(">ann</text>"), std::string::npos);             // legend
  EXPECT_NE(svg.find(">blend &amp; co</text>"), std::string::npos);  // escaped
  EXPECT_NE(svg.find(">popular</text>"), std::string::npos);
  EXPECT_NE(svg.find("nDCG@k &lt;ML-100K&gt;"), std::string::npos);  // title
  EXPECT_NE(svg.find(">20</text>"), std::string::npos);              // x tick
  EXPECT_NE(svg.find(">0.4</text>"), std::string::npos);             // y tick above the max
  // One polyline per unbroken run: ann 1, blend 2 (NaN gap), popular 1.
  EXPECT_EQ(Count(svg, "<polyline"), 4u);
  // 11 points (12 values, one NaN).
  EXPECT_EQ(Count(svg, "<circle cx"), 11u + 3u);  // + 3 legend markers
}

TEST(RenderSvg, GroupedBarChartHasOneBarPerValue) {
  BarChart chart;
  chart.title = "nDCG@10 by time slice";
  chart.y_label = "nDCG@10";
  chart.groups = {"day 1", "day 2", "day 3"};
  chart.series = {{"ann", {0.3, 0.2, 0.1}}, {"covisit", {0.1, 0.37, 0.2}}};
  const std::string svg = RenderSvg(chart);
  EXPECT_TRUE(StartsWith(svg, "<svg"));
  EXPECT_EQ(XmlProblem(svg), "") << svg;
  EXPECT_EQ(Count(svg, "<rect x"), 6u + 2u + 1u);  // bars + legend swatches + background
  EXPECT_NE(svg.find(">covisit</text>"), std::string::npos);
  EXPECT_NE(svg.find(">day 3</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.37</text>"), std::string::npos);  // value label (ticks are 0.1 apart)
}

TEST(RenderSvg, SingleSeriesBarChartNamesItsSeriesUnlessItIsTheAxis) {
  BarChart chart;
  chart.y_label = "nDCG@10";
  chart.groups = {"slice 1", "slice 2"};
  chart.series = {{"popular", {0.2, 0.1}}};
  EXPECT_NE(RenderSvg(chart).find(">popular</text>"), std::string::npos);  // legend
  chart.series[0].name = "nDCG@10";
  EXPECT_EQ(RenderSvg(chart).find("class=\"legend\""), std::string::npos);
}

TEST(RenderSvg, EmptyAndAllZeroChartsStayWellFormed) {
  EXPECT_EQ(XmlProblem(RenderSvg(LineChart{})), "");
  EXPECT_EQ(XmlProblem(RenderSvg(BarChart{})), "");
  BarChart zeros;
  zeros.groups = {"a"};
  zeros.series = {{"s", {0}}};
  const std::string svg = RenderSvg(zeros);
  EXPECT_EQ(XmlProblem(svg), "");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(XmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
}

}  // namespace
}  // namespace recd::eval
