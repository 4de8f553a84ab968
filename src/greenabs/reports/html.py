"""The HTML report: one self-contained file that opens offline.

Short tables are plain HTML (readable without scripts), each beside the chart it explains.
Everything bulky is packed once, gzip-compressed and base64-encoded, and unpacked by the
browser's own ``DecompressionStream``: the chart figures (JSON for ``Plotly.newPlot``, numbers
at six significant digits), the cells of long tables (per-period cash flows, folded under
``<details>``) and the chart library, plotly.js: its partial "basic" bundle (bar, pie and
scatter traces: ``data/plotly-basic.min.js``, plotly.js v4, MIT licence, shipped with
greenabs), about 0.5 MB packed instead of 4.8 MB for the full library unpacked.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from greenabs.reports.formats import cells, column_kinds, show

__all__ = ["PLOTLY_JS", "page", "page_data", "plotly_js", "plotly_notice"]

PLOTLY_JS = "plotly-basic.min.js"
"""The chart library's file in ``greenabs/data``."""

#: Tables longer than this are folded under <details>.
FOLD_ROWS = 45

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;
max-width:1400px;padding:0 1rem;color:#1d2b24}
h1{color:#1b5e20;margin-bottom:.2rem}h2{border-bottom:2px solid #c8e6c9;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1.2rem;
align-items:start}.pair.wide{grid-template-columns:minmax(0,1fr)}
@media(max-width:1000px){.pair{grid-template-columns:minmax(0,1fr)}}
.chart{min-height:420px}.side,.lazy{overflow-x:auto}
table{border-collapse:collapse;font-size:.82rem;margin:.3rem 0 1rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:right;white-space:nowrap}
th{background:#e8f5e9;position:sticky;top:0}td.t,th.t{text-align:left;white-space:normal}
td.d{text-align:left}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
.meta td{font-size:.78rem}.note{color:#555;font-size:.85rem}
"""

# Unpacks the page's data (long tables, chart figures), fills the folded tables, then unpacks
# the chart library and draws every chart; without DecompressionStream it says so.
_LOADER = """
(async () => {
  const unpack = async (id) => {
    const bytes = Uint8Array.from(atob(document.getElementById(id).textContent),
                                  c => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).text();
  };
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const table = (t) => "<table><thead><tr>"
    + t.head.map((c, i) => "<th" + t.cls[i] + ">" + esc(c) + "</th>").join("")
    + "</tr></thead><tbody>"
    + t.rows.map(r => "<tr>" + r.map((c, i) => "<td" + t.cls[i] + ">" + esc(c) + "</td>")
      .join("") + "</tr>").join("")
    + "</tbody></table>";
  const holders = document.querySelectorAll("div.chart, div.lazy");
  try {
    const data = JSON.parse(await unpack("report-gz"));
    for (const [id, t] of Object.entries(data.tables)) {
      document.getElementById(id).innerHTML = table(t);
    }
    if (Object.keys(data.figures).length) {
      const s = document.createElement("script");
      s.textContent = await unpack("plotly-gz");
      document.head.appendChild(s);
      for (const [id, f] of Object.entries(data.figures)) {
        Plotly.newPlot(document.getElementById(id), f.data, f.layout,
                       {responsive: true, displaylogo: false});
      }
    }
  } catch (e) {
    for (const div of holders) {
      div.textContent = "This needs a current browser (" + e + "); the Excel workbook has "
        + "every table.";
    }
  }
})();
"""


@cache
def plotly_js() -> str:
    """The chart library's source (the partial bundle shipped in ``greenabs/data``)."""
    return files("greenabs").joinpath("data", PLOTLY_JS).read_text(encoding="utf-8")


def _packed(text: str) -> str:
    """``text`` gzip-compressed and base64-encoded (what the page's loader unpacks)."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), 9, mtime=0)).decode()


@cache
def _plotly_gz() -> str:
    return _packed(plotly_js())


def plotly_notice() -> str:
    """The library's licence header (name, version, copyright, licence)."""
    head = plotly_js()[:400]
    m = re.search(r"/\*\*?(.*?)\*/", head, re.S)
    lines = [ln.strip(" *") for ln in (m.group(1) if m else "").splitlines()]
    return "; ".join(ln for ln in lines if ln)


def _round(v: Any) -> Any:
    """Figure JSON with floats at six significant digits (charts need no more)."""
    if isinstance(v, float):
        return v if not math.isfinite(v) or v == 0 else float(f"{v:.6g}")
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_round(x) for x in v]
    return v


def figure_data(fig: go.Figure) -> Any:
    """A figure as JSON data for ``Plotly.newPlot`` (no template: plotly.js's defaults)."""
    fig = go.Figure(fig)
    fig.update_layout(template=None)
    return _round(json.loads(fig.to_json(validate=False, engine="json")))


def _cells(df: pd.DataFrame) -> tuple[list[str], list[str], list[list[tuple[str, str]]]]:
    """Header, header classes and (text, class) cells of a report table, shown by kind."""
    kinds = column_kinds(df)
    cols = [str(c) for c in df.columns]
    head_cls = [" class=t" if k in ("text", "date") else "" for k in kinds]
    rows = [
        [
            (show(v, k), " class=d" if k == "date" else " class=t" if k == "text" else "")
            for v, k in row
        ]
        for row in cells(df, kinds)
    ]
    return cols, head_cls, rows


def table_html(df: pd.DataFrame) -> str:
    """A report table (:mod:`greenabs.reports.formats`) as HTML, cells shown by kind."""
    cols, head_cls, rows = _cells(df)
    head = "".join(f"<th{k}>{html.escape(c)}</th>" for c, k in zip(cols, head_cls, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{k}>{html.escape(t)}</td>" for t, k in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_data(df: pd.DataFrame) -> dict[str, Any]:
    """A long table as the page's loader draws it: header, column classes, cell texts."""
    cols, head_cls, rows = _cells(df)
    cls = [k if k else "" for k in head_cls]
    if rows:  # a column's cells share their class unless rows differ (key-value tables)
        cls = [rows[0][j][1] for j in range(len(cols))]
    return {"head": cols, "cls": cls, "rows": [[t for t, _ in r] for r in rows]}


def _titled(name: str, df: pd.DataFrame, lazy: dict[str, Any]) -> str:
    """A table with its title; a long one folded, its cells in the page's packed data."""
    title = html.escape(str(df.attrs.get("title") or name))
    if len(df) > FOLD_ROWS:
        tid = f"table{len(lazy) + 1}"
        lazy[tid] = _table_data(df)
        return (
            f"<details><summary>{title} ({len(df):,} rows)</summary><div class=lazy id={tid}>"
            "</div></details>"
        )
    return f"<h3>{title}</h3>{table_html(df)}"


def _meta(meta: Mapping[str, Any]) -> str:
    from greenabs.reports.formats import key_values

    if not meta:
        return ""
    line = [f"greenabs {meta.get('greenabs_version', '?')}"]
    if meta.get("created"):
        line.append(f"made {meta['created']}")
    inputs = meta.get("inputs") or {}
    line += [
        f"{name} {v.get('path', '')} (sha256 {str(v.get('sha256', ''))[:12]}…)"
        for name, v in inputs.items()
        if isinstance(v, Mapping)
    ]
    for key in ("seed", "backend"):
        if meta.get(key) is not None:
            line.append(f"{key} {meta[key]}")
    flags = meta.get("assumptions") or {}
    line.append("flags: " + (", ".join(f"{k} {v}" for k, v in flags.items()) if flags else "none"))
    df = key_values(meta, "What produced this report")
    return (
        f"<p class=note>{html.escape(' · '.join(line))}</p>"
        "<details class=meta><summary>What produced this report (version, inputs and their "
        f"hashes, assumptions, seed, backend)</summary>{table_html(df)}</details>"
    )


def page(
    title: str,
    meta: Mapping[str, Any],
    layout: Sequence[tuple[str, str | None, Sequence[str]]],
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, go.Figure],
) -> str:
    """The whole HTML document: ``layout`` gives sections (heading, chart or ``None``, the
    tables shown beside the chart); tables not placed follow under "More tables", charts not
    placed on their own."""
    placed_t: set[str] = set()
    placed_f: set[str] = set()
    sections = []
    charts: dict[str, Any] = {}
    lazy: dict[str, Any] = {}

    def chart(name: str) -> str:
        cid = f"chart{len(charts) + 1}"
        charts[cid] = figure_data(figures[name])
        return f"<div class=chart id={cid}></div>"

    for heading, fig_name, names in layout:
        here = [n for n in names if n in tables and n not in placed_t]
        has_fig = fig_name is not None and fig_name in figures
        if not here and not has_fig:
            continue
        placed_t.update(here)
        side = "".join(_titled(n, tables[n], lazy) for n in here)
        sections.append(f"<h2>{html.escape(heading)}</h2>")
        if has_fig:
            assert fig_name is not None
            placed_f.add(fig_name)
            cls = "pair" if here else "pair wide"
            sections.append(
                f"<div class='{cls}'><div>{chart(fig_name)}</div><div class=side>{side}</div></div>"
            )
        else:
            sections.append(f"<div class=side>{side}</div>")
    for name in figures:
        if name not in placed_f:
            sections.append(f"<div class='pair wide'><div>{chart(name)}</div></div>")
    rest = [n for n in tables if n not in placed_t]
    if rest:
        sections.append("<h2>More tables</h2>" + "".join(_titled(n, tables[n], lazy) for n in rest))
    scripts = ""
    if charts or lazy:
        data = json.dumps({"figures": charts, "tables": lazy}, separators=(",", ":"))
        scripts = f"<script type=application/octet-stream id=report-gz>{_packed(data)}</script>"
        if charts:
            scripts += (
                f"<!-- {html.escape(plotly_notice())} -->"
                f"<script type=application/octet-stream id=plotly-gz>{_plotly_gz()}</script>"
            )
        scripts += f"<script>{_LOADER}</script>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{_meta(meta)}{''.join(sections)}{scripts}</body></html>"
    )


def page_data(text: str) -> dict[str, Any]:
    """The packed data of a page :func:`page` wrote: ``figures`` (by chart id, as
    ``Plotly.newPlot`` takes them) and ``tables`` (the folded tables' cells, by table id)."""
    m = re.search(r"id=report-gz>([A-Za-z0-9+/=]*)</script>", text)
    if m is None:
        return {"figures": {}, "tables": {}}
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(m.group(1))))
    return data


def write(path: str | Path, text: str) -> Path:
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
