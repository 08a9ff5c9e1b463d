"""The report as one file: self-contained HTML (styles and charts inline, no script, no network), Markdown, JSON."""

from __future__ import annotations

import json
import re
import time
from html import escape
from pathlib import Path
from typing import Any

from bakeoff.io import check_free_space
from bakeoff.report.calibration import calibration_section
from bakeoff.report.leaderboard import Leaderboard, Ranking
from bakeoff.report.racing import RaceRecord, race_section
from bakeoff.report.sections import (
    Section,
    errors_section,
    leaderboard_section,
    learning_curve_section,
    provenance_section,
    setting_sections,
    tradeoff_section,
    tuning_budget_section,
)

FORMATS = ("html", "md", "json")
EXPECTED_BYTES = 1_000_000  # a report before it is built: a few hundred kB with its charts (checked again once built)
ROOM_FIX = "free some space there, or write the report elsewhere (--out)"
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f3f3f3}p{line-height:1.45}.figures{display:flex;flex-wrap:wrap;gap:12px}
.summary{background:#f6f8ff;border-left:4px solid #1f77b4;padding:8px 12px}
.figures svg{max-width:100%;height:auto}
@media print{body{max-width:none}.figures svg{break-inside:avoid}}"""


def sections_for(board: Leaderboard, study_text: str | None = None, *, load_texts: bool = True,
                 race: RaceRecord | None = None) -> list[Section]:
    """Every section the study has data for, in reading order: the race's decision when the study raced, each
    ranking's sections, then the provenance.

    The texts behind the disagreements are reloaded from each ranking's task data unless ``load_texts=False``.
    """
    found: list[Section | None] = [race_section(race) if race is not None else None]
    several = len(board.rankings) > 1
    for ranking in board.rankings:
        texts, label_names = texts_of(ranking) if load_texts else (None, None)
        own = [leaderboard_section(ranking, board.notes), *setting_sections(ranking), learning_curve_section(ranking),
               tuning_budget_section(ranking), tradeoff_section(ranking), calibration_section(ranking),
               errors_section(ranking, texts, label_names)]
        for section in own:
            if section is not None and several and ranking.name not in section.title:
                section.title = f"{section.title} ({ranking.name}, {ranking.split})"
        found += own
    found.append(provenance_section(board, study_text))
    return [section for section in found if section is not None]


def render(sections: list[Section], title: str, summary: list[str | list[str]], fmt: str,
           figures_dir: str | None = None) -> str:
    """The document in ``fmt`` (html, md or json).

    Markdown links each chart as ``figures_dir/NN-name.svg`` (``figure_files`` gives those files); without
    ``figures_dir`` it leaves the charts out.

    >>> render([Section("A", ["x"])], "t", [], "md").splitlines()[0]
    '# t'
    """
    if fmt == "json":
        return json.dumps({"title": title, "summary": summary, "sections": [s.to_dict() for s in sections]},
                          indent=1, default=str)
    if fmt == "md":
        return _markdown(sections, title, summary, figures_dir)
    return _html(sections, title, summary)


def save(sections: list[Section], title: str, summary: list[str | list[str]], fmt: str, out: Path) -> Path:
    """Write the document to ``out``; for Markdown, its charts as .svg files in ``<out stem>-figures/`` beside it.

    >>> save([Section("A", ["x"], figures=["<svg/>"])], "t", [], "md", tmp / "r.md")  # doctest: +SKIP
    """
    figures_dir = f"{out.stem}-figures" if fmt == "md" else None
    figures = figure_files(sections) if figures_dir is not None else {}
    text = render(sections, title, summary, fmt, figures_dir)
    # the exact size, now that it is known: nothing is written (no figures folder without its document) unless all fits
    check_free_space(out.parent, sum(len(t.encode("utf-8")) for t in (text, *figures.values())), f"the report {out}",
                     fix=ROOM_FIX)
    if figures_dir is not None:
        _write_figures(figures, out.parent / figures_dir)
    write(text, out)
    return out


def figure_files(sections: list[Section]) -> dict[str, str]:
    """Every chart of the document as a file name (in reading order) and its standalone SVG.

    >>> list(figure_files([Section("Setting: max_length", figures=["<svg>a</svg>", "<svg>b</svg>"])]))
    ['01-setting-max-length.svg', '01-setting-max-length-2.svg']
    """
    files = {}
    for number, section in enumerate(sections, start=1):
        slug = re.sub(r"[^a-z0-9]+", "-", section.title.lower()).strip("-")[:60].rstrip("-")
        for index, figure in enumerate(section.figures, start=1):
            files[f"{number:02d}-{slug}{'' if index == 1 else f'-{index}'}.svg"] = _standalone(figure)
    return files


def _standalone(figure: str) -> str:
    """An inline chart as an .svg file: the XML declaration a file opened on its own wants."""
    return figure if figure.startswith("<?xml") else '<?xml version="1.0" encoding="utf-8"?>\n' + figure + "\n"


def _write_figures(files: dict[str, str], folder: Path) -> None:
    """Each chart written whole (temp file, rename); charts of an earlier report no longer in this one removed."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write(text, folder / name)
    for stale in folder.glob("[0-9][0-9]-*.svg"):  # only files named as this writes them: a user's stay
        if stale.name not in files:
            stale.unlink()


def _summary_html(item: str | list[str]) -> str:
    """A summary paragraph; a list is a lead-in line and its items (e.g. the rows a recommendation set aside)."""
    if isinstance(item, str):
        return f"<p>{escape(item)}</p>"
    lead, *items = item
    return f"<p>{escape(lead)}</p><ul>" + "".join(f"<li>{escape(s)}</li>" for s in items) + "</ul>"


def _html(sections: list[Section], title: str, summary: list[str | list[str]]) -> str:
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
             f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head><body>',
             f"<h1>{escape(title)}</h1><p>Built {made} by bakeoff report. Hover a point for its run and settings.</p>"]
    if summary:
        parts.append('<div class="summary">' + "".join(map(_summary_html, summary)) + "</div>")
    for section in sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        parts += [f"<p>{escape(s)}</p>" for s in section.sentences]
        if section.figures:
            parts.append('<div class="figures">' + "".join(section.figures) + "</div>")
        if section.table:
            head, *body = section.table
            parts.append("<table><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body)
                         + "</tbody></table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(sections: list[Section], title: str, summary: list[str | list[str]], figures_dir: str | None) -> str:
    lines = [f"# {title}", ""]
    quoted = [f"> {s}\n>" if isinstance(s, str) else "\n".join([f"> {s[0]}\n>", *(f"> - {i}" for i in s[1:])]) + "\n>"
              for s in summary]
    lines += [*quoted, ""] if summary else []
    names = iter(figure_files(sections)) if figures_dir is not None else None
    for section in sections:
        lines += [f"## {section.title}", "", *(f"{_md_text(s)}\n" for s in section.sentences)]
        if names is not None:
            for number, _ in enumerate(section.figures, start=1):
                lines += [f"![{_md_text(section.title)}, chart {number}]({figures_dir}/{next(names)})", ""]
        if section.table:
            head, *body = section.table
            lines += ["| " + " | ".join(_md_cell(c) for c in head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]
            lines.append("")
    return "\n".join(lines) + "\n"


def _md_text(text: str) -> str:
    """Plain text that Markdown shows as written: no stray emphasis, links, HTML or table cells from run names or
    reviews. Underscores inside words (max_length) and a ">" inside a line ("128 -> 256") are left alone: Markdown
    reads them as text."""
    return re.sub(r"([\\`*\[\]<|])", r"\\\1", text)


def _md_cell(text: str) -> str:
    return _md_text(text.replace("\n", " "))


def write(text: str, out: Path) -> None:
    """Write the whole document or nothing: a temp file beside ``out``, then a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never a hidden copy left behind (e.g. when ``out`` is a folder)
        raise


def default_out(name: str, fmt: str) -> Path:
    return Path(f"{name}-report.{fmt}")


def texts_of(ranking: Ranking) -> tuple[list[str] | None, list[str] | None]:
    """The texts of the ranking's split and its label names, reloaded from its leader's task data (or None)."""
    from bakeoff.data import DataOptions, load_task_data
    from bakeoff.tasks import get_task

    leader = next((r for r in ranking.rows if r.run_paths), None)
    if leader is None:
        return None, None
    config: dict[str, Any] = leader.config
    try:
        task = get_task(config["task"]) if config.get("task") else None
        data = load_task_data(task, DataOptions(
            data=Path(config["data"]) if config.get("data") else None, text_column=config.get("text_column"),
            text_pair_column=config.get("text_pair_column"), label_column=config.get("label_column"),
            train_fraction=float(config.get("train_fraction") or 1.0), seed=int(config.get("seed", 42))))
    except Exception:  # data moved since the runs: the report goes on without the texts
        return None, None
    scored = {"validation": data.validation, "test": data.test}.get(ranking.split)
    if scored is None:
        return None, data.label_names
    pairs = scored.pairs
    texts = [f"{t} ||| {p}" for t, p in zip(scored.texts, pairs, strict=True)] if pairs else scored.texts
    return texts, data.label_names
