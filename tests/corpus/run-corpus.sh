#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every image of e2fsprogs' own test suite (../shared/corpus/e2fsprogs) through our checks,
# each under a timeout: our verdict per category must agree with the installed e2fsck -fn,
# read through its machine-readable -E problem_log (and with ORACLE.tsv, which records the
# same from its text).  Categories: block bitmap differences (0x050003 latch: +/- runs or a
# bitmap checksum), free-block counts (0x05000e/0x05000f), i_size (0x01000c), i_blocks
# (0x01000d).  Images we refuse, and the few where we knowingly differ, are listed below
# with the reason.  The hostile images (e2fsck loops on them) must finish in 5 s with
# findings.  Prints SKIP (exit 77) where the shared corpus is absent, as on a user's machine.
. "$top_srcdir/tests/lib.sh"
corpus=${ICK_CORPUS:-$top_srcdir/../shared/corpus}
[ -f "$corpus/e2fsprogs/ORACLE.tsv" ] || skip "no e2fsprogs corpus at $corpus (only in the project's workspace)"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
exec python3 - "$corpus" "$t" "$E2FSCK_EXT" "$E2FSCK" <<'PY'
import bz2, gzip, json, os, re, shutil, subprocess, sys, time
corpus, tmp, ours, e2fsck = sys.argv[1:5]

# image -> reason.  "refuse": we exit 8 naming the feature.  "differ": categories allowed to
# differ, with why.
REFUSED = {
}
DIFFER = {
    "f_bb_in_bb": ({"bitmap", "free"}, "e2fsck aborts in pass 1 (root inode is not a directory, exit 12) before pass 5; we report the unreadable inode-table block and the blocks it leaves unowned"),
    "f_itable_collision": ({"bitmap"}, "e2fsck aborts (exit 12) before pass 5; we report the inode table's blocks claimed twice and what follows from it"),
    "f_inlinedata_repair": ({"isize"}, "e2fsck also aborts (exit 12); its i_size findings here are about inline data (i_size vs the inline EA), which has no blocks and is outside our size check"),
}
CODES = {"bitmap": {"0x050003"}, "free": {"0x05000e", "0x05000f"},
         "isize": {"0x01000c"}, "iblocks": {"0x01000d"}}
OURS = {"bitmap": {"BITMAP_USED_FREE", "BITMAP_UNOWNED", "BITMAP_CSUM"},
        "free": {"BITMAP_GROUP_FREE_COUNT", "BITMAP_SB_FREE_COUNT"},
        "isize": {"SIZE_WRITTEN_PAST_EOF", "SIZE_DIR"}, "iblocks": {"SIZE_IBLOCKS"}}
ORACLE_COL = {"bitmap": "bitmap_diff", "free": "free_count_wrong", "isize": "isize_issue",
              "iblocks": "iblocks_issue"}

def unpack(d, out):
    for name, op in (("image.gz", gzip.open), ("image.bz2", bz2.open)):
        p = os.path.join(d, name)
        if os.path.exists(p):
            with op(p) as src, open(out, "wb") as dst:
                dst.write(src.read())
            return True
    return False

def e2fsck_cats(img):
    log = img + ".plog"
    p = subprocess.run([e2fsck, "-fn", "-E", "problem_log=" + log, img], capture_output=True, timeout=60)
    codes = set(re.findall(r'<problem code="(0x[0-9a-f]+)"', open(log, errors="replace").read()))
    return {c for c, s in CODES.items() if codes & s}, p.returncode

def run_ours(img, limit):
    js = img + ".json"
    t0 = time.time()
    p = subprocess.run([ours, "-E", "iomapcheck,iomap_only,iomap_json=" + js, "-fn", img],
                       capture_output=True, text=True, timeout=limit)
    dt = time.time() - t0
    if p.returncode not in (0, 4, 8) or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise RuntimeError("exit %d: %s" % (p.returncode, p.stderr[-2000:]))
    if p.returncode == 8:
        return None, p.stderr.strip(), dt
    names = {f["name"] for f in json.load(open(js))["findings"]}
    return {c for c, s in OURS.items() if names & s}, names, dt

rows = open(os.path.join(corpus, "e2fsprogs", "ORACLE.tsv")).read().splitlines()
hdr = rows[0].split("\t")
oracle = {r.split("\t")[0]: dict(zip(hdr, r.split("\t"))) for r in rows[1:]}
ok = bad = refused = differ = nrec = 0
for test in sorted(oracle):
    img = os.path.join(tmp, test + ".img")
    if not unpack(os.path.join(corpus, "e2fsprogs", test), img):
        print("FAIL %s: no image" % test); bad += 1; continue
    try:
        got, names, dt = run_ours(img, 30)
    except subprocess.TimeoutExpired:
        print("FAIL %s: timeout (30 s)" % test); bad += 1; continue
    except RuntimeError as e:
        print("FAIL %s: %s" % (test, e)); bad += 1; continue
    if got is None:
        if test in REFUSED and REFUSED[test].split()[0] in names:
            refused += 1; print("refused %s: %s" % (test, REFUSED[test]))
        else:
            bad += 1; print("FAIL %s: refused unexpectedly: %s" % (test, names))
        os.unlink(img); continue
    recovered = False
    if ("needs_recovery" in oracle[test]["features"].split() and "JOURNAL_CORRUPT" not in names) \
            or "JOURNAL_ORPHAN" in names:
        # we checked the view a mount gives (journal recovered, orphans released): the oracle
        # is e2fsck -fn on a copy the installed e2fsck brought to that state (-E journal_only
        # -y: recovery and orphan release, nothing else), not ORACLE.tsv's raw run
        rec = img + ".rec"
        shutil.copyfile(img, rec)
        subprocess.run([e2fsck, "-E", "journal_only", "-y", rec], capture_output=True, timeout=60)
        want, rc = e2fsck_cats(rec)
        os.unlink(rec)
        recovered = True
        nrec += 1
    else:
        want, rc = e2fsck_cats(img)
    orc = {c for c, col in ORACLE_COL.items() if oracle[test][col] == "1"}
    if not recovered and want != orc and rc != int(oracle[test]["e2fsck_exit"]):
        # e2fsck 1.47.0 with problem_log stops early on a few images (exit 8 in pass 5);
        # then its plain -fn run, recorded in ORACLE.tsv, is the oracle.
        print("note %s: e2fsck -E problem_log exited %d (plain -fn: %s); using ORACLE.tsv"
              % (test, rc, oracle[test]["e2fsck_exit"]))
        want = orc
    allowed, why = DIFFER.get(test, (set(), ""))
    diff = got ^ want
    if diff - allowed:
        bad += 1
        print("FAIL %s: ours %s, e2fsck %s (%s)" % (test, sorted(got), sorted(want), sorted(names)))
    elif diff:
        differ += 1; print("differs (explained) %s: %s: %s" % (test, sorted(diff), why))
    else:
        ok += 1
    os.unlink(img)
# hostile: e2fsck itself loops on these
for d in sorted(os.listdir(os.path.join(corpus, "e2fsprogs-hostile"))):
    src = os.path.join(corpus, "e2fsprogs-hostile", d)
    if not os.path.isdir(src):
        continue
    img = os.path.join(tmp, d + ".img")
    unpack(src, img)
    try:
        got, names, dt = run_ours(img, 5)
    except (subprocess.TimeoutExpired, RuntimeError) as e:
        print("FAIL hostile %s: %s" % (d, e)); bad += 1; continue
    if got is None or not names or dt >= 5:
        print("FAIL hostile %s: no findings or too slow (%.2f s)" % (d, dt)); bad += 1
    else:
        ok += 1; print("hostile %s: %.2f s, findings %s" % (d, dt, sorted(names)))
print("corpus: %d agree, %d differ (explained), %d refused (listed), %d failed; %d images needing recovery or orphan release were judged on the mounted view against e2fsck on a journal_only-recovered copy" % (ok, differ, refused, bad, nrec))
sys.exit(1 if bad else 0)
PY
