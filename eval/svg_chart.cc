#include "eval/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"

namespace recd::eval {
namespace {

// Tableau 10.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

const char* Color(size_t i) { return kPalette[i % kPaletteSize]; }

// A coordinate with two decimals.
std::string C(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// A tick or value label: up to 4 significant digits, no exponent for the
// ranges metrics take.
std::string Label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

struct Axis {
  double lo = 0, hi = 1, step = 0.2;
};

// Rounded axis covering [min(0, lo), hi] with about 5 ticks at 1/2/5 x 10^n.
Axis NiceAxis(double lo, double hi) {
  lo = std::min(0.0, lo);
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  Axis a;
  a.step = step;
  a.lo = std::floor(lo / step) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  if (a.hi <= a.lo) a.hi = a.lo + step;
  return a;
}

void ValueRange(const std::vector<ChartSeries>& series, double* lo, double* hi) {
  *lo = std::numeric_limits<double>::infinity();
  *hi = -std::numeric_limits<double>::infinity();
  for (const ChartSeries& s : series) {
    for (double v : s.values) {
      if (std::isnan(v)) continue;
      *lo = std::min(*lo, v);
      *hi = std::max(*hi, v);
    }
  }
  if (*lo > *hi) *lo = *hi = 0;
}

// The plot area inside the margins.
struct Frame {
  double left, top, right, bottom;
  double Y(const Axis& a, double v) const {
    return bottom - (v - a.lo) / (a.hi - a.lo) * (bottom - top);
  }
};

void Header(std::string* out, int w, int h, const std::string& title) {
  absl::StrAppend(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", w,
                  "\" height=\"", h, "\" viewBox=\"0 0 ", w, " ", h,
                  "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
  absl::StrAppend(out, "<title>", XmlEscape(title), "</title>\n");
  absl::StrAppend(out, "<rect x=\"0\" y=\"0\" width=\"", w, "\" height=\"", h,
                  "\" fill=\"#ffffff\"/>\n");
  absl::StrAppend(out, "<text x=\"", C(w / 2.0), "\" y=\"24\" text-anchor=\"middle\" ",
                  "font-size=\"16\" font-weight=\"bold\">", XmlEscape(title), "</text>\n");
}

// Y grid, ticks and labels, the axis lines and the y axis label.
void YAxis(std::string* out, const Frame& f, const Axis& a, const std::string& label) {
  out->append("<g class=\"y-axis\">\n");
  const int n = static_cast<int>(std::round((a.hi - a.lo) / a.step));
  for (int i = 0; i <= n; ++i) {
    const double v = a.lo + i * a.step;
    const double y = f.Y(a, v);
    absl::StrAppend(out, "<line x1=\"", C(f.left), "\" y1=\"", C(y), "\" x2=\"", C(f.right),
                    "\" y2=\"", C(y), "\" stroke=\"#e0e0e0\" stroke-width=\"1\"/>\n");
    absl::StrAppend(out, "<line x1=\"", C(f.left - 5), "\" y1=\"", C(y), "\" x2=\"", C(f.left),
                    "\" y2=\"", C(y), "\" stroke=\"#333333\" stroke-width=\"1\"/>\n");
    absl::StrAppend(out, "<text x=\"", C(f.left - 8), "\" y=\"", C(y + 4),
                    "\" text-anchor=\"end\">", Label(v), "</text>\n");
  }
  absl::StrAppend(out, "<line x1=\"", C(f.left), "\" y1=\"", C(f.top), "\" x2=\"", C(f.left),
                  "\" y2=\"", C(f.bottom), "\" stroke=\"#333333\" stroke-width=\"1\"/>\n");
  absl::StrAppend(out, "<line x1=\"", C(f.left), "\" y1=\"", C(f.bottom), "\" x2=\"", C(f.right),
                  "\" y2=\"", C(f.bottom), "\" stroke=\"#333333\" stroke-width=\"1\"/>\n");
  const double cy = (f.top + f.bottom) / 2;
  absl::StrAppend(out, "<text x=\"18\" y=\"", C(cy),
                  "\" text-anchor=\"middle\" transform=\"rotate(-90 18 ", C(cy), ")\">",
                  XmlEscape(label), "</text>\n");
  out->append("</g>\n");
}

void Legend(std::string* out, const Frame& f, const std::vector<ChartSeries>& series,
            bool as_line) {
  out->append("<g class=\"legend\">\n");
  const double x = f.right + 16;
  for (size_t i = 0; i < series.size(); ++i) {
    const double y = f.top + 8 + 20.0 * i;
    if (as_line) {
      absl::StrAppend(out, "<line x1=\"", C(x), "\" y1=\"", C(y), "\" x2=\"", C(x + 22), "\" y2=\"",
                      C(y), "\" stroke=\"", Color(i), "\" stroke-width=\"2.5\"/>\n");
      absl::StrAppend(out, "<circle cx=\"", C(x + 11), "\" cy=\"", C(y), "\" r=\"3.5\" fill=\"",
                      Color(i), "\"/>\n");
    } else {
      absl::StrAppend(out, "<rect x=\"", C(x + 4), "\" y=\"", C(y - 6),
                      "\" width=\"14\" height=\"12\" fill=\"", Color(i), "\"/>\n");
    }
    absl::StrAppend(out, "<text x=\"", C(x + 28), "\" y=\"", C(y + 4), "\">",
                    XmlEscape(series[i].name), "</text>\n");
  }
  out->append("</g>\n");
}

}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than TAB/LF/CR are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string RenderSvg(const LineChart& chart) {
  std::string out;
  Header(&out, chart.width, chart.height, chart.title);
  const Frame f{70, 44, static_cast<double>(chart.width) - 190,
                static_cast<double>(chart.height) - 60};
  double lo, hi;
  ValueRange(chart.series, &lo, &hi);
  const Axis a = NiceAxis(lo, hi);
  YAxis(&out, f, a, chart.y_label);

  const size_t n = chart.x_labels.size();
  auto x_at = [&](size_t i) {
    return n <= 1 ? (f.left + f.right) / 2
                  : f.left + 20 + (f.right - f.left - 40) * static_cast<double>(i) / (n - 1);
  };
  out.append("<g class=\"x-axis\">\n");
  for (size_t i = 0; i < n; ++i) {
    const double x = x_at(i);
    absl::StrAppend(&out, "<line x1=\"", C(x), "\" y1=\"", C(f.bottom), "\" x2=\"", C(x),
                    "\" y2=\"", C(f.bottom + 5), "\" stroke=\"#333333\" stroke-width=\"1\"/>\n");
    absl::StrAppend(&out, "<text x=\"", C(x), "\" y=\"", C(f.bottom + 19),
                    "\" text-anchor=\"middle\">", XmlEscape(chart.x_labels[i]), "</text>\n");
  }
  absl::StrAppend(&out, "<text x=\"", C((f.left + f.right) / 2), "\" y=\"", C(f.bottom + 42),
                  "\" text-anchor=\"middle\">", XmlEscape(chart.x_label), "</text>\n");
  out.append("</g>\n");

  for (size_t s = 0; s < chart.series.size(); ++s) {
    const ChartSeries& series = chart.series[s];
    absl::StrAppend(&out, "<g class=\"series\" stroke=\"", Color(s), "\" fill=\"", Color(s),
                    "\">\n<title>", XmlEscape(series.name), "</title>\n");
    // A polyline per run of consecutive values (NaN breaks the line).
    std::string points;
    auto flush = [&] {
      if (!points.empty()) {
        absl::StrAppend(&out, "<polyline fill=\"none\" stroke-width=\"2.5\" points=\"", points,
                        "\"/>\n");
      }
      points.clear();
    };
    const size_t m = std::min(n, series.values.size());
    for (size_t i = 0; i < m; ++i) {
      const double v = series.values[i];
      if (std::isnan(v)) {
        flush();
        continue;
      }
      absl::StrAppend(&points, points.empty() ? "" : " ", C(x_at(i)), ",", C(f.Y(a, v)));
    }
    flush();
    for (size_t i = 0; i < m; ++i) {
      const double v = series.values[i];
      if (std::isnan(v)) continue;
      absl::StrAppend(&out, "<circle cx=\"", C(x_at(i)), "\" cy=\"", C(f.Y(a, v)),
                      "\" r=\"3.5\" stroke=\"none\"><title>", XmlEscape(series.name), " ",
                      XmlEscape(chart.x_labels[i]), ": ", Label(v), "</title></circle>\n");
    }
    out.append("</g>\n");
  }
  Legend(&out, f, chart.series, /*as_line=*/true);
  out.append("</svg>\n");
  return out;
}

std::string RenderSvg(const BarChart& chart) {
  std::string out;
  Header(&out, chart.width, chart.height, chart.title);
  const bool legend = chart.series.size() > 1 ||
                      (chart.series.size() == 1 && chart.series[0].name != chart.y_label);
  const Frame f{70, 44, static_cast<double>(chart.width) - (legend ? 190 : 30),
                static_cast<double>(chart.height) - 60};
  double lo, hi;
  ValueRange(chart.series, &lo, &hi);
  const Axis a = NiceAxis(lo, hi);
  YAxis(&out, f, a, chart.y_label);

  const size_t groups = chart.groups.size();
  const size_t per_group = std::max<size_t>(chart.series.size(), 1);
  const double group_w = groups == 0 ? 0 : (f.right - f.left) / groups;
  const double bar_w = group_w * 0.8 / per_group;
  const bool value_labels = groups * per_group <= 40;
  const double zero_y = f.Y(a, 0);

  out.append("<g class=\"x-axis\">\n");
  for (size_t g = 0; g < groups; ++g) {
    const double cx = f.left + group_w * (g + 0.5);
    absl::StrAppend(&out, "<text x=\"", C(cx), "\" y=\"", C(f.bottom + 19),
                    "\" text-anchor=\"middle\">", XmlEscape(chart.groups[g]), "</text>\n");
  }
  out.append("</g>\n");
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const ChartSeries& series = chart.series[s];
    absl::StrAppend(&out, "<g class=\"series\" fill=\"", Color(s), "\">\n<title>",
                    XmlEscape(series.name), "</title>\n");
    for (size_t g = 0; g < std::min(groups, series.values.size()); ++g) {
      const double v = series.values[g];
      if (std::isnan(v)) continue;
      const double x = f.left + group_w * g + group_w * 0.1 + bar_w * s;
      const double y = f.Y(a, v);
      absl::StrAppend(&out, "<rect x=\"", C(x), "\" y=\"", C(std::min(y, zero_y)), "\" width=\"",
                      C(bar_w), "\" height=\"", C(std::fabs(zero_y - y)), "\"><title>",
                      XmlEscape(series.name), " ", XmlEscape(chart.groups[g]), ": ", Label(v),
                      "</title></rect>\n");
      if (value_labels) {
        absl::StrAppend(&out, "<text x=\"", C(x + bar_w / 2), "\" y=\"", C(std::min(y, zero_y) - 4),
                        "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333333\">", Label(v),
                        "</text>\n");
      }
    }
    out.append("</g>\n");
  }
  if (legend) Legend(&out, f, chart.series, /*as_line=*/false);
  out.append("</svg>\n");
  return out;
}

}  // namespace recd::eval
