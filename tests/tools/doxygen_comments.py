#!/usr/bin/env python3
"""Turn the public headers' plain comments into Doxygen comments, in place.

    python3 tests/tools/doxygen_comments.py [include/attograd]   # files or folders; the default is that folder

Run it after changing or merging a header: it converts only what is still a plain `//` comment, so a
second run changes nothing. What it does, in a header's own order:

- The comment block that opens the file (what it is for, its usage example) becomes the file's
  `\\file` documentation; its indented lines (the example) become a `\\code` block.
- A comment block directly above a declaration in a namespace, in the public or protected part of a
  class or struct (subclasses use the protected part), or in an enum becomes that declaration's `///`
  comment. Indented lines inside it (a code line, an error message) become a `\\code` block.
- A comment after a declaration on its line (`int width = 720;  // in pixels`) becomes `///<`, and so
  do the comment lines right below it that start in the same column.
- A banner such as `// --- reading values ---` becomes a named member group (`\\name`, `@{`, `@}`).

Left alone: what lies between `/// \\cond` and `/// \\endcond`, comments inside function bodies, in
private parts, above a blank line, above `namespace`, `#include` or `public:`; and every comment that
already starts with `///`.
Doxygen itself (`./dev docs`, the test docs.api_reference) then names each declaration still undocumented.
"""

import os
import re
import textwrap
import sys

BANNER = re.compile(r"^(\s*)// -{2,}\s*(.*?)\s*-*\s*$")
ACCESS = re.compile(r"^\s*(public|private|protected)\s*:")
TEMPLATE_PREFIX = re.compile(r"^\s*template\s*<")


def split_code_comment(line):
    """(code, comment column or -1): finds a `//` outside string and character literals."""
    i, n, quote = 0, len(line), None
    while i < n:
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            # A digit separator (1'000) is no character literal.
            if c == "'" and i > 0 and line[i - 1].isalnum() and i + 1 < n and line[i + 1].isalnum():
                pass
            else:
                quote = c
        elif line.startswith("//", i):
            return line[:i], i
        i += 1
    return line, -1


def strip_template(statement):
    """The statement without its leading `template <...>` clauses."""
    s = statement.lstrip()
    while TEMPLATE_PREFIX.match(s):
        depth, i = 0, s.index("<")
        while i < len(s):
            if s[i] == "<":
                depth += 1
            elif s[i] == ">":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        s = s[i + 1:].lstrip()
    return s


def brace_kind(statement):
    """What a `{` opened after this statement text is: ns, class, enum or body."""
    s = strip_template(statement)
    s = re.sub(r"^(\[\[[^\]]*\]\]\s*)+", "", s)
    before = s.split("{", 1)[0]
    if re.match(r"(inline\s+)?namespace\b", s) or re.match(r'extern\s+"C"', s):
        return "ns"
    if re.match(r"enum\b", s):
        return "enum"
    if re.match(r"(class|struct|union)\b", s) and "(" not in before and "=" not in before:
        return "class"
    return "body"


def doc_text(body):
    """`// text` -> `text` (keeping the indentation after the first space)."""
    return body[2:][1:] if body[2:].startswith(" ") else body[2:]


def doc_lines(indent, texts, opener="///"):
    """Doxygen lines for comment texts: indented runs (two or more spaces) become \\code blocks."""
    out, i = [], 0
    while i < len(texts):
        t = texts[i]
        if t.startswith("  ") and t.strip():
            j = i
            block = []
            while j < len(texts) and (texts[j].startswith("  ") or not texts[j].strip()):
                block.append(texts[j])
                j += 1
            while block and not block[-1].strip():  # a blank line after the code is prose's
                block.pop()
                j -= 1
            width = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            out.append(f"{indent}{opener} \\code")
            out += [f"{indent}{opener} {b[width:]}".rstrip() for b in block]
            out.append(f"{indent}{opener} \\endcode")
            i = j
        else:
            out.append(f"{indent}{opener} {t}".rstrip())
            i += 1
    return out


def convert(text):
    lines = text.split("\n")
    out = []
    # The file's opening comment: its \file documentation.
    i = 0
    if lines and lines[0].startswith("//") and not lines[0].startswith("///"):
        head = []
        while i < len(lines) and lines[i].startswith("//"):
            head.append(doc_text(lines[i]))
            i += 1
        head[0] = re.sub(r"^attograd/[\w/]+\.hpp:\s*", "", head[0])
        head[0] = head[0][:1].upper() + head[0][1:]
        out.append("/// \\file")
        out += doc_lines("", head)

    stack = []           # scopes: [kind, access public?]
    statement = ""       # code of the statement being read, for the kind of the next brace
    parens = 0
    pending = []         # comment-only lines waiting for what follows them
    trailing_column = -1  # column of the last converted trailing comment, for its continuation lines
    group_open = False   # a \name group is open in the current class

    def in_doc_scope():
        if not stack:
            return True
        kind, public = stack[-1]
        return kind in ("ns", "enum") or (kind == "class" and public)

    def flush(as_doc):
        nonlocal pending
        if not pending:
            return
        if as_doc:
            indent = re.match(r"\s*", pending[0]).group(0)
            out.extend(doc_lines(indent, [doc_text(p.strip()) for p in pending]))
        else:
            out.extend(pending)
        pending = []

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if stripped.startswith("///"):
            flush(False)
            out.append(line)
            trailing_column = -1
            if stripped.startswith("/// \\cond"):  # hidden from the reference: copied as it is
                while i < len(lines) and not lines[i].strip().startswith("/// \\endcond"):
                    out.append(lines[i])
                    i += 1
            continue
        if stripped.startswith("//"):
            column = len(line) - len(line.lstrip())
            if trailing_column >= 0 and column == trailing_column and not pending:
                out.append(line[:column] + "///<" + line[column + 2:])
                continue
            trailing_column = -1
            banner = BANNER.match(line)
            if banner and in_doc_scope() and parens == 0 and stack and stack[-1][0] == "class" and not pending:
                # A banner, maybe over several lines: the group's title, then its description.
                indent, title = banner.group(1), banner.group(2)
                rest = []
                while not re.search(r"-{3,}\s*$", line) and i < len(lines) and lines[i].strip().startswith("//"):
                    line = lines[i]
                    i += 1
                    rest.append(re.sub(r"\s*-{3,}\s*$", "", doc_text(line.strip())))
                if group_open:
                    out.append(f"{indent}/// @}}")
                # The title is the first clause; anything after it describes the group.
                head, sep, tail = title.partition(" (")
                head2, sep2, tail2 = head.partition(". ")
                out.append(f"{indent}/// \\name {head2[:1].upper() + head2[1:]}")
                described = []
                if sep2:
                    described.append(tail2)
                if sep:
                    described.append("(" + tail)
                described += [r for r in rest if r]
                if described:
                    out.append(f"{indent}///")
                    out += [f"{indent}/// {w}" for w in textwrap.wrap(" ".join(described), 100 - len(indent))]
                out.append(f"{indent}/// @{{")
                if i < len(lines) and lines[i].strip().startswith("//"):
                    out.append("")  # else Doxygen reads the next comment as the group's, not its member's
                group_open = True
                continue
            pending.append(line)
            continue
        # A code line, or a blank one.
        trailing_column = -1
        if not stripped:
            flush(False)
            out.append(line)
            continue
        code, col = split_code_comment(line)
        code_stripped = code.strip()
        is_pre = code_stripped.startswith("#")
        is_access = ACCESS.match(code) is not None
        starts_statement = statement.strip() == "" and parens == 0
        documentable = (in_doc_scope() and starts_statement and not is_pre and not is_access
                        and not re.match(r"(inline\s+)?namespace\b", code_stripped)
                        and not code_stripped.startswith("}"))
        flush(documentable)

        if is_access and stack and stack[-1][0] == "class":
            if group_open:
                out.append(re.match(r"\s*", line).group(0) + " /// @}")
                group_open = False
            stack[-1][1] = code_stripped.startswith(("public", "protected"))  # protected: for subclasses
        scope_before = in_doc_scope()

        # Braces and parentheses, to know the scope of the next line.
        in_str = None
        k = 0
        closes_class = False
        while k < len(code):
            c = code[k]
            if in_str:
                if c == "\\":
                    k += 2
                    continue
                if c == in_str:
                    in_str = None
            elif c in "\"'" and not (c == "'" and 0 < k < len(code) - 1 and code[k - 1].isalnum() and code[k + 1].isalnum()):
                in_str = c
            elif c == "(":
                parens += 1
            elif c == ")":
                parens -= 1
            elif c == "{":
                kind = brace_kind(statement + code[:k])
                public = kind != "class" or not re.match(r"class\b", strip_template(statement + code[:k]))
                stack.append([kind, public])
                if kind != "body":
                    statement = ""
            elif c == "}":
                if stack:
                    if stack[-1][0] == "class" and group_open:
                        closes_class = True
                    stack.pop()
            elif c == ";" and parens == 0 and (not stack or stack[-1][0] != "body"):
                statement = ""
            elif c not in "{};":
                statement += c
            k += 1
        if statement.strip():
            statement += " "
        if closes_class:
            out.append(re.match(r"\s*", line).group(0) + "  /// @}")
            group_open = False
        ends = code.rstrip()
        if stack and stack[-1][0] != "body" or not stack:
            if ends.endswith(("}", ";")) or (stack and stack[-1][0] == "enum" and ends.endswith(",")):
                if parens == 0:
                    statement = ""
        if is_pre or is_access:
            statement = ""

        if col >= 0 and not line[col:].startswith("///") and scope_before and not is_pre \
                and not code_stripped.startswith("}"):
            if ends.endswith(";") or (ends.endswith(",") and parens == 0) or (ends.endswith("}") and parens == 0):
                line = line[:col] + "///<" + line[col + 2:]
                trailing_column = col
        out.append(line)
    flush(False)
    return "\n".join(out)


def headers(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _, files in os.walk(path):
                for name in sorted(files):
                    if name.endswith(".hpp"):
                        yield os.path.join(root, name)
        else:
            yield path


def main(argv):
    paths = argv[1:] or [os.path.join(os.path.dirname(__file__), "..", "..", "include", "attograd")]
    changed = 0
    for path in sorted(headers(paths)):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = convert(text)
        if new != text:
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(new)
            os.replace(path + ".tmp", path)
            changed += 1
            print(f"converted {os.path.normpath(path)}")
    print(f"{changed} header(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
