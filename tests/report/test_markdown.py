"""``--format md`` without a study: the same tables and sentences as the HTML, each chart an .svg file beside the
.md and linked from it, and text from run names or reviews that cannot turn into Markdown syntax."""

from __future__ import annotations

from xml.etree import ElementTree

from bakeoff.report import svg
from bakeoff.report.document import save
from bakeoff.report.sections import Section


def _sections() -> list[Section]:
    chart = svg.chart([svg.Series("accuracy", [64, 128, 256], [0.6, 0.7, 0.75])], "max_length", "accuracy")
    grid = svg.heatmap(["64", "128"], ["5e-05", "0.00015"], [[0.6, 0.7], [0.65, None]], "max_length",
                       "learning_rate", "accuracy")
    return [Section("Leaderboard: imdb, validation", ["64 -> 128: +10.0 points, within noise (p = 0.31)."],
                    [["rank", "row"], ["1", "a | b *c* <i>x</i> [link](http://x)"]]),
            Section("Setting: max_length", ["One line per lr."], figures=[chart]),
            Section("Grid: max_length x learning_rate", [], figures=[grid, chart])]


def test_markdown_links_each_chart_written_beside_it(tmp_path):
    out = save(_sections(), "bakeoff report: t", ["Choose a."], "md", tmp_path / "study.md")
    text = out.read_text()
    assert text.startswith("# bakeoff report: t\n\n> Choose a.")
    assert "![Setting: max_length, chart 1](study-figures/02-setting-max-length.svg)" in text
    assert "](study-figures/03-grid-max-length-x-learning-rate.svg)" in text
    assert "](study-figures/03-grid-max-length-x-learning-rate-2.svg)" in text
    files = sorted(p.name for p in (tmp_path / "study-figures").iterdir())
    assert files == ["02-setting-max-length.svg", "03-grid-max-length-x-learning-rate-2.svg",
                     "03-grid-max-length-x-learning-rate.svg"]
    for name in files:  # each a standalone SVG a browser or GitHub opens on its own
        assert ElementTree.parse(tmp_path / "study-figures" / name).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert "| 1 | a \\| b \\*c\\* \\<i>x\\</i> \\[link\\](http://x) |" in text
    assert "64 -> 128: +10.0 points" in text  # arrows stay readable in the raw file


def test_a_second_report_replaces_the_charts_of_the_first(tmp_path):
    save(_sections(), "t", [], "md", tmp_path / "study.md")
    save(_sections()[:2], "t", [], "md", tmp_path / "study.md")
    assert [p.name for p in (tmp_path / "study-figures").iterdir()] == ["02-setting-max-length.svg"]
    assert not list(tmp_path.glob(".*.tmp")) and not list((tmp_path / "study-figures").glob(".*.tmp"))


def test_html_and_json_write_no_figure_folder(tmp_path):
    for fmt in ("html", "json"):
        save(_sections(), "t", [], fmt, tmp_path / f"study.{fmt}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.html", "study.json"]
