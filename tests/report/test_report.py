"""``bakeoff report`` on a tiny study: every section it has data for, the three formats, and the HTML as a
browser renders it (headless Chromium from file://, no network)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from tests.study.conftest import tiny_study  # noqa: F401  the study tests' tiny study files

runner = CliRunner()


@pytest.fixture
def tiny_report(tiny_study, tmp_path):
    """A 2 x 2 grid (max_length x learning_rate) over 2 seeds on the tiny BERT, then its HTML report."""
    path = tiny_study(axes="[{grid: {max_length: [16, 32], learning_rate: [3.0e-3, 1.0e-4]}}]",
                      extra="", seeds="[1, 2]")
    bakeoff.run_study(path)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return path, out


def test_the_report_has_each_section_the_study_supports(tiny_report, tmp_path):
    path, out = tiny_report
    html = out.read_text()
    for title in ("Leaderboard: ", "Setting: learning_rate", "Setting: max_length", "Grid: learning_rate x max_length",
                  "Learning curves", "Expected best score against the tuning budget", "Accuracy against latency and size", "Errors (", "Provenance"):
        assert f"<h2>{title}" in html, title
    assert "Minimum detectable effect" in html and "baseline: majority class" in html
    assert re.search(r"0\.0001 -&gt; 0\.003: [+-]\d+\.\d points, (better|worse|equivalent|undecided) \(90% interval \[", html)
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") >= 7 and "Pareto front" in html and "<title>" in html  # hover tips
    assert "training loss (window mean)" in html and "<polygon" in html  # loss curves, seeds as a band
    assert "plausible ranks" in html and "Plausible ranks: each row" in html

    md = tmp_path / "report.md"
    assert runner.invoke(app, ["report", str(path), "--out", str(md), "--format", "md"]).exit_code == 0
    text = md.read_text()
    assert "| rank | plausible ranks | row |" in text and "## Setting: learning_rate" in text
    # the charts as .svg files beside the .md, each linked once, each a well-formed SVG with its points
    links = re.findall(r"!\[[^\]]*\]\((report-figures/[^)]+\.svg)\)", text)
    assert len(links) == html.count("<svg") and len(set(links)) == len(links)
    assert sorted(p.name for p in (tmp_path / "report-figures").iterdir()) == sorted(Path(link).name for link in links)
    for link in links:
        root = ElementTree.parse(tmp_path / link).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        drawn = [e for e in root.iter() if e.tag.split("}")[1] in ("circle", "polyline", "rect")]
        assert len(drawn) > 1, link  # more than the plot's frame
    assert "Learning curves, chart 2" in text  # validation metric, then training loss
    data = tmp_path / "report.json"
    assert runner.invoke(app, ["report", str(path), "--out", str(data), "--format", "json"]).exit_code == 0
    sections = {s["title"].split(":")[0]: s for s in json.loads(data.read_text())["sections"]}
    assert sections["Leaderboard"]["data"]["rows"][0]["rank"] == 1 and sections["Leaderboard"]["data"]["split"] == "validation"
    bad = runner.invoke(app, ["report", str(path), "--format", "pdf"])
    assert bad.exit_code == 2 and "--format 'pdf'" in bad.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); CI installs it")
def test_the_html_renders_in_a_browser_offline(tiny_report, tmp_path):
    _, out = tiny_report
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
             "--enable-logging=stderr", "--v=0", "--proxy-server=127.0.0.1:9", "--window-size=1200,2000"]
    dom = subprocess.run([*flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    assert "<table>" in dom.stdout and "Leaderboard" in dom.stdout
    plots = re.findall(r"<svg.*?</svg>", dom.stdout, flags=re.DOTALL)
    assert len(plots) >= 5 and all(re.search(r"<(circle|rect|polyline)", p) for p in plots)
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120,
                   env={**os.environ, "HOME": str(tmp_path)})
    from PIL import Image

    image = Image.open(shot).convert("L")
    low, high = image.getextrema()
    assert image.size == (1200, 2000) and high - low > 100  # not blank: dark text on white
