#include "attograd/viz/dot.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/viz/summary.hpp"

namespace attograd::viz {

using autograd::Node;

namespace {

// Text inside a double-quoted DOT string; "\n" in `text` becomes a line break of the label.
std::string dot_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

constexpr std::string_view kOpStyle = R"(style="rounded,filled", fillcolor="#dbe8fb")";
constexpr std::string_view kParameterStyle = R"(style=filled, fillcolor="#fde3c3")";
constexpr std::string_view kLeafStyle = R"(style=filled, fillcolor="#dcf2dc")";
constexpr std::string_view kConstantStyle = R"(style=dashed, color="#888888", fontcolor="#555555")";

struct Picture {
  const DotOptions& options;
  std::string body;

  std::string values(const std::shared_ptr<TensorImpl>& t) const {
    return t ? summarize(Tensor(t), options.max_values) : std::string("freed");
  }

  static std::string head(const Shape& shape, DType dtype) { return fmt::format("{} {}", shape, dtype); }

  void box(const std::string& id, const std::string& label, std::string_view style, bool root) {
    body += fmt::format("  {} [label={}, {}{}];\n", id, dot_string(label), style, root ? ", penwidth=2.5" : "");
  }

  // A leaf (its node's tensor): a parameter when it has a name.
  void leaf(const std::string& id, const std::shared_ptr<TensorImpl>& t, bool root) {
    const bool named = !t->name.empty();
    std::string label = named ? fmt::format("{}\nparameter", t->name) : std::string("leaf");
    label += fmt::format("\n{}\nvalue {}", head(t->shape, t->dtype), values(t));
    if (t->grad) label += fmt::format("\ngrad {}", values(t->grad));
    box(id, label, named ? kParameterStyle : kLeafStyle, root);
  }

  void op(const std::string& id, const Node& node, bool root) {
    const autograd::NodeNotes* notes = node.notes();
    const std::shared_ptr<TensorImpl> out = node.tensor();
    std::shared_ptr<TensorImpl> value = out;
    if (!value && notes != nullptr && notes->value.defined()) value = notes->value.impl_ptr();
    const autograd::OpInfo* info = node.op_info();
    std::string label =
        info != nullptr && !info->form.empty() ? fmt::format("{} ({})", node.op(), info->form) : node.op();
    if (const std::string scalars = autograd::scalars_text(node); !scalars.empty()) label += "\n" + scalars;
    if (out && !out->name.empty()) label = fmt::format("{} = {}", out->name, label);
    label += fmt::format("\n{}\nvalue {}", head(node.shape(), node.dtype()), values(value));
    if (notes != nullptr && notes->grad.defined()) {
      label += fmt::format("\ngrad {}", values(notes->grad.impl_ptr()));
    } else if (out && out->grad) {
      label += fmt::format("\ngrad {}", values(out->grad));
    }
    box(id, label, kOpStyle, root);
  }

  void constant(const std::string& id, const Tensor& t, bool root) {
    box(id, fmt::format("constant\n{}\nvalue {}", head(t.shape(), t.dtype()), summarize(t, options.max_values)),
        kConstantStyle, root);
  }
};

// The nodes below `root`, in the order the forward pass recorded them.
std::vector<const Node*> forward_order(const Node* root) {
  std::vector<const Node*> nodes{root};
  std::unordered_map<const Node*, bool> seen{{root, true}};
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    for (const auto& input : nodes[k]->inputs()) {
      if (input && !seen[input.get()]) {
        seen[input.get()] = true;
        nodes.push_back(input.get());
      }
    }
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const Node* a, const Node* b) { return a->sequence_nr() < b->sequence_nr(); });
  return nodes;
}

// Where `program` can be run from: itself if it names a path, else the first match on PATH.
std::filesystem::path find_program(const std::string& program) {
  namespace fs = std::filesystem;
  auto runnable = [](const fs::path& p) { return fs::is_regular_file(p) && ::access(p.c_str(), X_OK) == 0; };
  if (program.find('/') != std::string::npos) return runnable(program) ? fs::path(program) : fs::path();
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A file in the temporary directory, removed when this goes.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string_view suffix) {
    std::string name = (std::filesystem::temp_directory_path() / "attograd-dot-XXXXXX").string() + std::string(suffix);
    const int fd = ::mkstemps(name.data(), static_cast<int>(suffix.size()));
    if (fd < 0) throw IoError(fmt::format("dot_to_svg: cannot create a temporary file like {}", name));
    ::close(fd);
    path = name;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string to_dot(const Tensor& root, const DotOptions& options) {
  Picture picture{options, {}};
  if (!root.grad_fn()) {  // a leaf or a constant: one box
    if (root.requires_grad()) {
      picture.leaf("n0", root.impl_ptr(), true);
    } else {
      picture.constant("c0", root, true);
    }
  } else {
    const std::vector<const Node*> nodes = forward_order(root.grad_fn().get());
    std::unordered_map<const Node*, std::string> id;
    for (std::size_t k = 0; k < nodes.size(); ++k) id[nodes[k]] = fmt::format("n{}", k);
    std::string edges;
    std::size_t constants = 0;
    for (const Node* node : nodes) {
      const bool is_root = node == root.grad_fn().get();
      if (node->kind() == Node::Kind::Leaf) {
        picture.leaf(id[node], node->tensor(), is_root);
        continue;
      }
      picture.op(id[node], *node, is_root);
      const std::size_t n = node->inputs().size();
      for (std::size_t i = 0; i < n; ++i) {
        const std::string label = n > 1 ? fmt::format(" [label={}]", dot_string(input_letter(node->op_info(), i))) : "";
        if (const Node* input = node->inputs()[i].get()) {
          edges += fmt::format("  {} -> {}{};\n", id[input], id[node], label);
        } else if (node->notes() != nullptr && i < node->notes()->constants.size() &&
                   node->notes()->constants[i].defined()) {
          const std::string c = fmt::format("c{}", constants++);
          picture.constant(c, node->notes()->constants[i], false);
          edges += fmt::format("  {} -> {}{};\n", c, id[node], label);
        }
      }
    }
    picture.body += edges;
  }
  return fmt::format(
      "digraph attograd {{\n  rankdir={};\n  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n{}}}\n",
      options.rankdir, picture.body);
}

bool graphviz_available(const std::string& program) { return !find_program(program).empty(); }

std::string dot_to_svg(const std::string& dot, const std::string& program) {
  const std::filesystem::path exe = find_program(program);
  if (exe.empty()) {
    throw IoError(
        fmt::format("dot_to_svg: Graphviz's '{}' program was not found (PATH searched); install Graphviz "
                    "(Debian: apt install graphviz), or paste the DOT text into any Graphviz viewer",
                    program));
  }
  TempFile input(".dot");
  TempFile errors(".txt");
  {
    std::ofstream out(input.path, std::ios::binary);
    out << dot;
    if (!out.flush()) throw IoError(fmt::format("dot_to_svg: cannot write {}", input.path.string()));
  }
  const std::string command = fmt::format("{} -Tsvg {} 2>{}", shell_quoted(exe.string()),
                                          shell_quoted(input.path.string()), shell_quoted(errors.path.string()));
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw IoError(fmt::format("dot_to_svg: cannot run {}", exe.string()));
  std::string svg;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) svg.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0 || svg.empty()) {
    std::string message = read_all(errors.path);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
    throw IoError(fmt::format("dot_to_svg: {} failed (exit status {}): {}", exe.string(),
                              WIFEXITED(status) ? WEXITSTATUS(status) : status, message));
  }
  return svg;
}

GraphCapture::GraphCapture()
    : hook_([](const autograd::BackwardStep& s) {
        if (autograd::NodeNotes* notes = s.node.notes()) notes->grad = s.grad_output;
      }) {
  autograd::recording::keep_values(true);
}

GraphCapture::~GraphCapture() { autograd::recording::keep_values(false); }

}  // namespace attograd::viz
