# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""`concbench talk report`: report.html and report.md from a talk run.

Most tests render a fixture: three small `concbench matrix` steps run here
(cpu-crunch on actor and csp with hogs swept, a mailbox flood whose csp
cells are made to crash, spawn with tasks swept) and a verdicts.json
written by hand whose verdicts, sentences and figures are known.  It is a
rendering test with known content, not a claim: the report never judges,
so what it must show is what the file says, drawn from those steps.  One
test makes the report run a real claim (`talk report nif-dirty`), the path
a user takes.
"""
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import CONCBENCH, SCALE, run_cb, scaled

FIXTURE_CHECKS = {
    # id: the number of figures its plots ask for
    "fx-bars": 3,
    "fx-series": 2,
    "fx-xy": 1,
}


def matrix(out, *args, env=None):
    p = subprocess.run(
        [str(CONCBENCH), "matrix", *args, "--reps", "2", "--quick",
         "--quiet", "--timeout", scaled(60), "-o", str(out)],
        capture_output=True, text=True, timeout=300 * SCALE,
        env={**os.environ, **(env or {})})
    # Crashed cells are the point of one step: exit 1 is expected there.
    assert p.returncode in (0, 1), p.stderr
    return p


def command_line(step_dir, *args):
    return " ".join(["concbench matrix", *args, "--reps 2 --quick -o",
                     str(step_dir)])


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("talk-report")
    bars = ("-m", "actor,csp", "-w", "cpu-crunch", "-p", "hogs=0,2",
            "-p", "pool=1", "-p", "duration_ms=100")
    flood = ("-m", "actor,csp", "-w", "mailbox-flood")
    spawn = ("-m", "actor,threads", "-w", "spawn", "-p", "tasks=10,100")
    matrix(d / "fx-bars" / "hogs", *bars)
    matrix(d / "fx-series" / "flood", *flood,
           env={"CONCBENCH_INJECT_FAULT": "crash@csp"})
    matrix(d / "fx-xy" / "cost", *spawn)
    checks = [
        {"id": "fx-bars", "order": 2, "addition": False,
         "title": "Bars <with> & markup",
         "claim": "A claim whose words hold <tags> & \"quotes\".",
         "rule": "ratio at least 10x", "verdict": "holds",
         "why": "because the fixture says so",
         "figures": ["figure one: 1 ms", "figure two: 2 ms"],
         "commands": [command_line(d / "fx-bars" / "hogs", *bars)],
         "steps": [{"name": "hogs", "dir": "fx-bars/hogs"}],
         "plots": [
             {"kind": "bars", "step": "hogs", "metric": "lateness_ns.p99",
              "x": "hogs", "title": "probe p99 by hogs", "unit": "ns",
              "log_y": True},
             {"kind": "cdf", "step": "hogs", "metric": "lateness_ns",
              "x": None, "title": "probe lateness CDF", "unit": "ns"},
             {"kind": "bars", "step": "hogs", "metric": "fairness_jain",
              "x": None, "title": "Jain's index", "unit": ""}]},
        {"id": "fx-series", "order": 7, "addition": False,
         "title": "A flood", "claim": "Mailboxes grow.", "rule": "r",
         "verdict": "cannot be shown here",
         "why": "csp: crashed (injected)", "figures": [],
         "commands": [command_line(d / "fx-series" / "flood", *flood)],
         "steps": [{"name": "flood", "dir": str(d / "fx-series" / "flood")}],
         "plots": [
             {"kind": "series", "step": "flood", "metric": "queue_len",
              "x": None, "title": "queue length", "unit": ""},
             {"kind": "series", "step": "flood", "metric": "rss_bytes",
              "x": None, "title": "resident memory", "unit": "B"}]},
        {"id": "fx-xy", "order": 12, "addition": True,
         "title": "Spawn cost", "claim": "Threads are heavy.", "rule": "r",
         "verdict": "inconclusive", "why": "the intervals overlap",
         "figures": ["x"],
         "commands": [command_line(d / "fx-xy" / "cost", *spawn)],
         "steps": [{"name": "cost", "dir": "fx-xy/cost"}],
         "plots": [
             {"kind": "xy", "step": "cost", "metric": "spawn_ns_per_task",
              "x": "tasks", "title": "spawn per task", "unit": "ns",
              "log_y": True}]},
    ]
    verdicts = {"type": "verdicts", "set": "talk", "quick": True,
                "elapsed_s": 12.5, "checks": checks}
    (d / "verdicts.json").write_text(json.dumps(verdicts))
    return d


@pytest.fixture(scope="module")
def rendered(fixture_dir):
    p = run_cb("talk", "report", *FIXTURE_CHECKS, "--quick", "-o",
               fixture_dir, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "running `talk run` first" not in p.stderr
    return p, fixture_dir


def sections(html):
    """{check id: its <section> text}."""
    out = {}
    for m in re.finditer(r'<section id="([a-z0-9-]+)">(.*?)</section>',
                         html, re.S):
        out[m.group(1)] = m.group(2)
    return out


def test_report_prints_the_verdicts_and_where_it_is(rendered):
    p, d = rendered
    assert re.search(r"^\s*2\s+fx-bars\s+holds$", p.stdout, re.M), p.stdout
    assert re.search(r"^\s*7\s+fx-series\s+cannot be shown here$",
                     p.stdout, re.M), p.stdout
    assert f"{d}/report.html" in p.stdout


def test_every_claim_has_its_figures(rendered):
    _, d = rendered
    html = (d / "report.html").read_text()
    sec = sections(html)
    assert set(sec) == set(FIXTURE_CHECKS)
    for cid, n in FIXTURE_CHECKS.items():
        assert sec[cid].count('<svg class="fig"') == n, cid
        assert "could not be drawn" not in sec[cid], cid
        for k in range(1, n + 1):
            png = d / "figures" / f"{cid}-{k}.png"
            assert png.stat().st_size > 1000, png
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_says_what_verdicts_json_says(rendered):
    _, d = rendered
    html = (d / "report.html").read_text()
    sec = sections(html)
    # Escaped, never markup.
    assert "Bars &lt;with&gt; &amp; markup" in html
    assert "<tags>" not in html
    assert 'class="badge holds">holds' in sec["fx-bars"]
    assert 'class="badge none">cannot be shown here' in sec["fx-series"]
    assert 'class="badge inconclusive">inconclusive' in sec["fx-xy"]
    assert "figure two: 2 ms" in sec["fx-bars"]
    assert "concbench talk run fx-bars --quick -o" in sec["fx-bars"]
    assert "concbench matrix -m actor,csp -w cpu-crunch" in sec["fx-bars"]
    # The talk's order, the addition last and marked.
    assert html.index('id="fx-bars"') < html.index('id="fx-series"') \
        < html.index('id="fx-xy"')
    assert "an addition" in sec["fx-xy"]
    # The header: the machine the steps ran on, the real systems.
    for word in ("CPU", "Kernel", "Real systems", "took 12 s"):
        assert word in html, word


def test_figures_speak_units_and_name_cells_without_samples(rendered):
    _, d = rendered
    html = (d / "report.html").read_text()
    sec = sections(html)
    # Lateness drawn in µs or ms, never in raw nanoseconds.
    assert re.search(r"lateness p99 \((µs|ms|s), log scale\)",
                     sec["fx-bars"]), "no readable unit on the lateness axis"
    assert re.search(r"rss \((KiB|MiB|GiB)\)", sec["fx-series"])
    # The crashed csp cells: named in the legend and the caption.
    assert "csp: no samples" in sec["fx-series"]
    assert "No samples: csp" in sec["fx-series"]
    # Colour means the system: actor's green (#1b9e77) in every figure.
    for cid in ("fx-bars", "fx-series", "fx-xy"):
        assert re.search(r"rgb\(\s*27,\s*158,\s*119\)", sec[cid]), cid


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids, self.tags = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k == "id":
                self.ids.add(v)
            if k in ("src", "href", "xlink:href", "srcset", "action",
                     "data", "poster"):
                self.refs.append((tag, k, v or ""))


def test_html_is_self_contained(rendered):
    _, d = rendered
    html = (d / "report.html").read_text()
    parser = _Refs()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags \
        and "link" not in parser.tags and "iframe" not in parser.tags
    for tag, attr, v in parser.refs:
        assert v.startswith("#"), f"<{tag} {attr}={v!r}> leaves the page"
        assert v[1:] in parser.ids, f"<{tag} {attr}={v!r}>: no such id"
    assert not re.search(r"(?i)(https?:|ftp:|file:|//[a-z0-9])", html)
    assert not re.search(r"url\((?!#)", html)
    # Two figures never share an element id.
    ids = re.findall(r'\sid=[\'"]([^\'"]+)[\'"]', html)
    assert len(ids) == len(set(ids))


def test_markdown_links_resolve(rendered):
    _, d = rendered
    md = (d / "report.md").read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', md))
    links = re.findall(r"!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)\)", md)
    images = re.findall(r"!\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)\)", md)
    assert len(images) == sum(FIXTURE_CHECKS.values())
    for target in links:
        if target.startswith("#"):
            assert target[1:] in anchors, target
        else:
            assert not re.match(r"[a-z]+:", target), target
            assert (d / target).is_file(), target


def test_html_loads_in_headless_chromium(rendered, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (scripts/deps.sh installs "
                    "it; CONCBENCH_NO_BROWSER=1 leaves it out)")
    _, d = rendered
    html = d / "report.html"
    # --dump-dom prints the document after load; a console message goes to
    # the log on stderr as "CONSOLE(...)" or "Uncaught".
    p = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--dump-dom",
         html.as_uri()],
        capture_output=True, text=True, timeout=120 * SCALE)
    assert p.returncode == 0, p.stderr[-2000:]
    dom = p.stdout
    assert dom.count('<svg class="fig"') == sum(FIXTURE_CHECKS.values())
    for cid in FIXTURE_CHECKS:
        assert f'<section id="{cid}">' in dom
    console = [line for line in p.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line
               or "Failed to load resource" in line
               or "net::ERR" in line]
    assert not console, "\n".join(console)


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["-o"],
    ["-o", "a", "-o", "b"],
    ["--quick", "--quick"],
    ["Not_An_Id"],
    ["-o", ""],
])
def test_bad_options_are_usage_errors(args):
    p = run_cb("talk", "report", *args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr.startswith("concbench: "), p.stderr


def test_help(cb):
    p = cb("talk", "report", "--help", check=0)
    assert "report.html" in p.stdout and "report.md" in p.stdout


def test_unknown_claim_is_a_usage_error_with_the_list(tmp_path):
    p = run_cb("talk", "report", "no-such-claim", "--quick", "-o",
               tmp_path / "out")
    assert p.returncode == 2, p.stderr
    assert "nif-dirty" in p.stderr, p.stderr


def test_unreadable_verdicts_are_refused_not_run_over(tmp_path):
    (tmp_path / "verdicts.json").write_text('{"type": "verdicts", ')
    p = run_cb("talk", "report", "--quick", "-o", tmp_path)
    assert p.returncode == 2, p.stderr
    assert "verdicts.json" in p.stderr
    assert (tmp_path / "verdicts.json").read_text() == \
        '{"type": "verdicts", '


def test_a_figure_that_cannot_be_drawn_says_so(fixture_dir, tmp_path):
    v = json.loads((fixture_dir / "verdicts.json").read_text())
    check = dict(v["checks"][0])
    check["plots"] = [dict(check["plots"][0], kind="pie"),
                      dict(check["plots"][0], step="no-such-step")]
    check["steps"] = [{"name": "hogs", "dir": str(fixture_dir / "fx-bars" /
                                                  "hogs")}]
    v["checks"] = [check]
    (tmp_path / "verdicts.json").write_text(json.dumps(v))
    p = run_cb("talk", "report", "fx-bars", "--quick", "-o", tmp_path)
    assert p.returncode == 1, p.stderr
    html = (tmp_path / "report.html").read_text()
    assert html.count("could not be drawn") == 2
    assert "unknown figure kind" in html
    assert "could not be drawn" in (tmp_path / "report.md").read_text()


@pytest.mark.talk
def test_report_runs_a_real_claim_first_and_reuses_it(tmp_path):
    out = tmp_path / "talk"
    p = run_cb("talk", "report", "nif-dirty", "--quick", "-o", out,
               timeout=300)
    assert p.returncode in (0, 1), p.stderr
    assert "running `talk run` first" in p.stderr
    v = json.loads((out / "verdicts.json").read_text())
    assert [c["id"] for c in v["checks"]] == ["nif-dirty"]
    html = (out / "report.html").read_text()
    nplots = len(v["checks"][0]["plots"])
    assert html.count('<svg class="fig"') == nplots
    assert v["checks"][0]["verdict"] in html
    # A second report reads the same verdicts: nothing runs again.
    before = (out / "verdicts.json").stat().st_mtime_ns
    p = run_cb("talk", "report", "nif-dirty", "--quick", "-o", out,
               timeout=300)
    assert p.returncode == 0, p.stderr
    assert "running `talk run` first" not in p.stderr
    assert (out / "verdicts.json").stat().st_mtime_ns == before
    # Asked at full size, the quick verdicts do not fit.
    v["quick"] = False
    (out / "verdicts.json").write_text(json.dumps(v))
    p = run_cb("talk", "report", "nif-dirty", "--quick", "-o", out,
               timeout=300)
    assert "run without --quick" in p.stderr, p.stderr
    assert json.loads((out / "verdicts.json").read_text())["quick"] is True
