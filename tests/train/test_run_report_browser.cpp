// The report of a short run, opened in a real browser: headless Chromium (Debian's chromium, which
// ./dev installs) renders it, and the test checks that the page rendered: a screenshot that is not
// blank, every image loaded, no console message. Skipped, saying so, only when Chromium cannot start.
//
// How it looks inside the browser: Chromium runs a copy of the page with a short script added at its
// end, which writes into the page how many images there are and how many failed to load (the copy also
// gets one broken image, which must be counted); --dump-dom prints the page after the script ran. The
// report itself holds no script.
#include "support/test.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Chromium: ATTOGRAD_CHROMIUM when set, else Debian's `chromium`.
std::string chromium() {
  const char* given = std::getenv("ATTOGRAD_CHROMIUM");
  return given != nullptr && *given != '\0' ? given : "chromium";
}

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs Chromium headless on `url` with `flags`; its output and error streams go through files in dir.
Run browse(const TempDir& dir, const std::string& flags, const std::string& url) {
  // As root, Chromium refuses to start without --no-sandbox (CI containers run as root).
  const std::string sandbox = ::geteuid() == 0 ? " --no-sandbox" : "";
  const std::string command =
      fmt::format("'{}' --headless --disable-gpu --hide-scrollbars --no-first-run --user-data-dir='{}'{} {} '{}' "
                  ">'{}' 2>'{}'",
                  chromium(), (dir / "profile").string(), sandbox, flags, url, (dir / "out.txt").string(),
                  (dir / "err.txt").string());
  Run run;
  run.status = std::system(command.c_str());
  run.out = read_bytes(dir / "out.txt");
  run.err = read_bytes(dir / "err.txt");
  return run;
}

// A short run through train::, as a program of one's own would write it: a tiny attention model
// learns to copy the first token's sign, and the report gets the settings, the curve, the attention
// with its gradients, the graph picture of one small step, the result and the timing.
train::RunReport short_run() {
  Generator gen(7);
  nn::MultiHeadSelfAttention attn(4, 2, {.generator = &gen});
  nn::Linear head(4, 1, {.generator = &gen});
  std::vector<Tensor> params = attn.parameters();
  for (const Tensor& p : head.parameters()) params.push_back(p);
  optim::Adam opt(params, {.lr = 0.05});
  const Tensor x = randn({8, 3, 4}, gen);
  const Tensor y = x.select(1, 0).select(1, 0).unsqueeze(1);  // [8, 1]
  train::Curve curve({"step", "loss"});
  train::Progress progress(20, {.out = stderr, .plain_lines = 1});
  for (int step = 1; step <= 20; ++step) {
    const Tensor loss = mse_loss(head(attn(x).mean({1})), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    curve.add({double(step), loss.item()});
  }
  train::RunReport report("a short run");
  report.setting("lr", "0.05").setting("steps", "20");
  report.curve(curve, {.title = "training loss", .log_y = true});
  attn.record(true);
  mse_loss(head(attn(x.slice(0, 0, 1)).mean({1})), y.slice(0, 0, 1)).backward();
  report.attention(attn.recorded(), {"first", "second", "third"});
  Tensor w = tensor({0.5, -1.0}, {.requires_grad = true}).set_name("w");
  {
    viz::GraphCapture capture;
    Tensor small = tanh(sum(w * 2.0));
    small.backward();
    report.graph(small, "the graph of a small step");
  }
  report.result(train::result_line({{"loss", fmt::format("{:.4f}", curve.rows().back()[1])}}));
  report.timing("training", progress.elapsed());
  return report;
}

// The width and height a PNG states in its IHDR chunk, which always comes first (bytes 16-23).
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& png) {
  auto at = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(png[i])) << 24 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[i + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[i + 2])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(png[i + 3]));
  };
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  return {at(16), at(20)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_report_of_a_short_run_renders_in_chromium) {
  TempDir dir;
  // A blank page's screenshot, to compare with below; it also tells whether Chromium starts at all.
  const Run blank_shot = browse(dir, fmt::format("--window-size=1000,1400 --screenshot='{}'",
                                                 (dir / "blank.png").string()),
                                "about:blank");
  const std::string blank = read_bytes(dir / "blank.png");
  if (blank_shot.status != 0 || blank.empty()) {
    // The test's CTest property SKIP_REGULAR_EXPRESSION turns this line into "skipped".
    std::printf("SKIPPED: Chromium cannot start ('%s', exit status %d): %s\n", chromium().c_str(), blank_shot.status,
                blank_shot.err.substr(0, 300).c_str());
    return;
  }
  const train::RunReport report = short_run();
  const std::string page = report.html();
  std::size_t images = 0;
  for (auto at = page.find("<img "); at != std::string::npos; at = page.find("<img ", at + 1)) ++images;
  BOOST_TEST_REQUIRE(images == 6u);  // the curve, 2 heads x (weights, gradients), the graph
  report.write(dir / "report.html");

  // Every image loaded: each <img> complete, with a width, once the page's load event has fired. One
  // broken picture is added to the copy on purpose, so that the count shows the check can fail.
  std::string checked = page;
  checked.insert(checked.rfind("</body>"),
                 "<img alt=\"broken on purpose\" src=\"data:image/svg+xml;base64,AAAA\">\n<script>window.addEventListener('load', () => { const all = [...document.images]; "
                 "const broken = all.filter(i => !(i.complete && i.naturalWidth > 0)).length; "
                 "document.body.setAttribute('data-check', `images ${all.length} broken ${broken}`); });</script>\n");
  write_bytes(dir / "checked.html", checked);
  // No console message either: the page's own code runs no script, and the check above logs nothing,
  // so any console line Chromium prints from the page is wrong.
  const Run dom = browse(dir, "--dump-dom --virtual-time-budget=3000 --enable-logging=stderr --v=0",
                         "file://" + (dir / "checked.html").string());
  BOOST_TEST(dom.status == 0, dom.err);
  BOOST_TEST(dom.out.find(fmt::format("data-check=\"images {} broken 1\"", images + 1)) != std::string::npos,
             dom.out.substr(0, 2000));
  BOOST_TEST(dom.err.find("CONSOLE") == std::string::npos, dom.err);

  // A screenshot that is not blank: compressed, a white page is small; one with pictures, much larger.
  const Run shot = browse(dir, fmt::format("--window-size=1000,1400 --screenshot='{}'",
                                           (dir / "report.png").string()),
                          "file://" + (dir / "report.html").string());
  BOOST_TEST(shot.status == 0, shot.err);
  const std::string png = read_bytes(dir / "report.png");
  BOOST_TEST((png_size(png) == std::pair<std::uint32_t, std::uint32_t>{1000, 1400}));
  BOOST_TEST(png.size() > 4 * blank.size(), fmt::format("screenshot {} bytes, a blank page {} bytes", png.size(),
                                                        blank.size()));
  BOOST_TEST_MESSAGE(fmt::format("screenshot {} bytes against {} for a blank page", png.size(), blank.size()));
}
