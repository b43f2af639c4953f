"""The reports' server-side SVG charts: every figure is printed as text beside its bar, each series
has its own pattern and a text legend, and the chart names itself to screen readers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from parking.web.charts import Row, Series, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, not untrusted input


def _two_series():
    return bar_chart(
        "problems",
        "每晚未到和超时",
        "预约了却没来的车，以及结束后还没离开的车。",
        [Row("12月1日", [2, 0]), Row("12月2日", [0, 3]), Row("12月3日 <夜间>", [1, None])],
        [Series("no_shows", "未到", "hatch"), Series("overstays", "超时", "dots")],
        lambda v: "—" if v is None else str(int(v)),
    )


def test_every_value_is_printed_as_text_with_its_series_name():
    root = _parse(_two_series())
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["未到 2", "超时 0", "未到 0", "超时 3", "未到 1", "超时 —"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert labels == ["12月1日", "12月2日", "12月3日 <夜间>"]  # escaped in the markup, intact as text


def test_each_series_has_its_own_pattern_and_a_text_legend():
    markup = str(_two_series())
    root = _parse(markup)
    patterns = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert {"problems-hatch", "problems-dots"} <= patterns
    fills = {r.get("class"): r.get("fill") for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("bar")}
    assert fills["bar bar-no_shows"] == "url(#problems-hatch)"
    assert fills["bar bar-overstays"] == "url(#problems-dots)"
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") is None and t.get("text-anchor") is None]
    assert legend == ["未到", "超时"]


def test_the_chart_is_an_image_with_a_name_and_a_description_of_every_figure():
    root = _parse(_two_series())
    assert root.get("role") == "img"
    assert root.get("aria-label") == "每晚未到和超时"
    assert root.find(f"{SVG}title").text == "每晚未到和超时"
    desc = root.find(f"{SVG}desc")
    assert root.get("aria-describedby") == desc.get("id")
    assert "12月2日: 未到 0, 超时 3" in desc.text


def test_bar_lengths_follow_the_values_and_no_figure_means_no_bar():
    root = _parse(
        bar_chart(
            "u",
            "使用率",
            "",
            [Row("a", [1.0]), Row("b", [0.5]), Row("c", [None])],
            [Series("used", "使用率")],
            lambda v: "关闭" if v is None else f"{v:.0%}",
            maximum=1.0,
        )
    )
    bars = [int(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("class") == "bar bar-used"]
    assert bars[0] == 2 * bars[1] and len(bars) == 2
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["100%", "50%", "关闭"]  # one series: the value alone


def test_text_is_never_smaller_than_the_pages_smallest_size():
    markup = str(_two_series())
    assert re.search(r'<svg[^>]*font-size="18"', markup)
    assert "font-size" not in markup.split(">", 1)[1]  # nothing overrides it smaller


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError):
        bar_chart("x", "t", "", [], [Series("a", "a", "rainbow")], str)
