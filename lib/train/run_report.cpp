#include "attograd/train/run_report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/io/atomic_file.hpp"
#include "attograd/viz/attention.hpp"
#include "attograd/viz/dot.hpp"

namespace attograd::train {

namespace {

// Text inside HTML: the same five characters as in SVG.
std::string escape(const std::string& text) { return viz::xml_escape(text); }

std::string seconds_text(double s) {
  if (!std::isfinite(s)) return "?";
  return s < 10 ? fmt::format("{:.3f} s", s) : fmt::format("{:.1f} s", s);
}

// The page's look, inline: readable on a phone and a projector, no fonts fetched.
constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
pre.result { background: #f4f6f8; padding: 0.6em; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; }
td, th { padding: 0.15em 0.8em 0.15em 0; text-align: left; vertical-align: top; }
td:first-child { color: #555; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
)";

}  // namespace

std::string base64(const std::string& bytes) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  // Three bytes, 24 bits, become four digits of 6 bits each.
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    for (int shift : {18, 12, 6, 0}) out += kDigits[(n >> shift) & 63];
  }
  // One or two bytes left: pad with '=' to a whole group of four.
  if (const std::size_t left = bytes.size() - i; left > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kDigits[(n >> 18) & 63];
    out += kDigits[(n >> 12) & 63];
    out += left == 2 ? kDigits[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

RunReport::RunReport(std::string title) : title_(std::move(title)) {}

RunReport& RunReport::setting(std::string name, std::string value) {
  settings_.emplace_back(std::move(name), std::move(value));
  return *this;
}

RunReport& RunReport::result(std::string line) {
  result_ = std::move(line);
  return *this;
}

RunReport& RunReport::timing(std::string what, double seconds) {
  timings_.emplace_back(std::move(what), seconds);
  return *this;
}

RunReport& RunReport::note(std::string text) {
  items_.push_back({std::move(text), {}});
  return *this;
}

RunReport& RunReport::picture(std::string caption, std::string svg) {
  if (svg.find("<svg") == std::string::npos) {
    throw ValueError(fmt::format("RunReport: the picture '{}' is not SVG (no <svg> element)", caption));
  }
  items_.push_back({std::move(caption), std::move(svg)});
  return *this;
}

RunReport& RunReport::curve(const Curve& curve, const viz::ChartOptions& options) {
  if (curve.rows().empty()) return note("The curve has no rows: the run recorded no step.");
  return picture(options.title.empty() ? "training curve" : options.title, curve.svg(options));
}

RunReport& RunReport::attention(const nn::AttentionRecord& record, const std::vector<std::string>& tokens,
                                const std::string& name, std::int64_t batch) {
  if (record.empty()) return note(fmt::format("{}: nothing was recorded (call record(true) before a forward)", name));
  const std::int64_t heads = record.weights.size(1);
  const bool has_grad = record.weights_grad().defined();
  for (std::int64_t h = 0; h < heads; ++h) {
    const std::string head = heads == 1 ? name : fmt::format("{}, head {}", name, h);
    picture(fmt::format("{}: weights (row attends to column)", head),
            viz::attention_heatmap(record, viz::AttentionPart::weights, tokens,
                                   {.batch = batch, .head = h, .title = head + ": weights", .min = 0.0, .max = 1.0}));
    if (has_grad) {
      picture(fmt::format("{}: dL/d(weights), red raises the loss, blue lowers it", head),
              viz::attention_heatmap(record, viz::AttentionPart::weights_grad, tokens,
                                     {.batch = batch, .head = h, .title = head + ": gradient of the weights",
                                      .min = std::nullopt, .max = std::nullopt}));
    }
  }
  if (!has_grad) note(fmt::format("{}: no gradients of the weights (no backward ran through the recorded forward)", name));
  return *this;
}

RunReport& RunReport::graph(const Tensor& root, const std::string& caption, std::int64_t max_boxes) {
  // Top to bottom: a page is narrower than a chain of ops is long.
  const std::string dot = viz::to_dot(root, {.rankdir = "TB"});
  // One line per box ("  n3 [label=...]"); edges are the lines with an arrow.
  std::int64_t boxes = 0;
  for (std::size_t begin = 0, end; begin < dot.size(); begin = end + 1) {
    end = dot.find('\n', begin);
    if (end == std::string::npos) end = dot.size();
    const std::string_view line(dot.data() + begin, end - begin);
    if (line.find("[label=") != std::string_view::npos && line.find("->") == std::string_view::npos) ++boxes;
  }
  if (boxes > max_boxes) {
    return note(fmt::format("{}: the graph has {} boxes, more than the {} a readable picture holds; "
                            "no picture drawn",
                            caption, boxes, max_boxes));
  }
  if (!viz::graphviz_available()) {
    return note(fmt::format("{}: no picture, since Graphviz's dot is not installed (Debian package graphviz)", caption));
  }
  return picture(caption, viz::dot_to_svg(dot));
}

std::string RunReport::html() const {
  std::string page = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}</title>\n"
      "<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      escape(title_), kStyle);
  if (!result_.empty()) page += fmt::format("<pre class=\"result\">{}</pre>\n", escape(result_));
  if (!settings_.empty()) {
    page += "<h2>Settings</h2>\n<table>\n";
    for (const auto& [name, value] : settings_) {
      page += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape(name), escape(value));
    }
    page += "</table>\n";
  }
  if (!items_.empty()) page += "<h2>Pictures</h2>\n";
  for (const Item& item : items_) {
    if (item.svg.empty()) {
      page += fmt::format("<p>{}</p>\n", escape(item.caption));
    } else {
      page += fmt::format("<figure><img alt=\"{0}\" src=\"data:image/svg+xml;base64,{1}\"><figcaption>{0}</figcaption>"
                          "</figure>\n",
                          escape(item.caption), base64(item.svg));
    }
  }
  if (!timings_.empty()) {
    page += "<h2>Timings</h2>\n<table>\n";
    for (const auto& [what, seconds] : timings_) {
      page += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape(what), seconds_text(seconds));
    }
    page += "</table>\n";
  }
  page += "</body>\n</html>\n";
  return page;
}

void RunReport::write(const std::filesystem::path& path) const { io::write_file_atomically(path, html()); }

}  // namespace attograd::train
