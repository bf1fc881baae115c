#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/layers.sh - lib/'s includes point down: every file of lib/ is in the layer table of
# doc/hacking.md, and includes only headers of its own layer or a lower one.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 - "$top_srcdir" <<'PY'
import fnmatch, os, re, sys
top = sys.argv[1]
doc = open(os.path.join(top, "doc/hacking.md"), encoding="utf-8").read()
layers = []  # (number, name, [patterns])
for m in re.finditer(r"^\| (\d+) ([^|]+?) \| ([^|]+) \|$", doc, re.M):
    layers.append((int(m.group(1)), m.group(2), m.group(3).split()))
if len(layers) < 5:
    sys.exit("FAIL: no layer table in doc/hacking.md")
def layer(name):
    stem = name if name.endswith((".h", ".def")) and name in ("ick_compiler.h", "iomapck.h") \
        else re.sub(r"\.(c|h|def)$", "", name)
    for n, _, pats in layers:
        for p in pats:
            if fnmatch.fnmatch(name, p) or fnmatch.fnmatch(stem, p):
                return n
    return None
bad = 0
lib = os.path.join(top, "lib")
files = sorted(f for f in os.listdir(lib) if re.search(r"\.(c|h)$", f))
for f in files:
    if f in ("ick_err.c", "ick_err.h"):  # made by compile_et from ick_err.et
        continue
    lf = layer(f)
    if lf is None:
        print(f"FAIL: lib/{f} is in no layer of doc/hacking.md's table"); bad += 1; continue
    for i, line in enumerate(open(os.path.join(lib, f), encoding="utf-8", errors="replace"), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m or m.group(1) == "config.h":
            continue
        inc = os.path.basename(m.group(1))
        li = layer(inc)
        if li is None:
            print(f"FAIL: lib/{f}:{i} includes {inc}, which is in no layer"); bad += 1
        elif li > lf:
            print(f"FAIL: lib/{f}:{i} (layer {lf}) includes {inc} (layer {li}): upward"); bad += 1
print(f"layers: {len(files)} files, {bad} upward or unplaced includes")
sys.exit(1 if bad else 0)
PY
