"""Charts for the HTML profile as inline SVG: readable without JavaScript, printable, and the same
bytes every run (coordinates written to one decimal place, no random ids).

A renderer: each chart draws figures the :class:`~localprofile.profile.Profile` already holds
(monthly counts, crimes per theme, priority scores); it computes nothing but the drawing. Every
label is escaped and every chart carries a ``<title>`` (its accessible name) and a ``<desc>``
giving its figures in words, so a screen reader, and a reader of the printed page, get them too.

>>> svg = trend_chart(["2016-07", "2017-07"], {"2016-07": 172, "2017-07": 167}, "Drugs")
>>> svg.count("<rect class=\\"bar\\""), "<title>Drugs: crimes per month</title>" in svg
(2, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

ACCENT = "#003a70"
SECOND = "#c2410c"  # vulnerability beside threat (orange beside blue: apart in greyscale too)
INK = "#1d1d1b"
MUTED = "#5f5f5f"
RULE = "#d0d0d0"
FONT = 'font-family="Segoe UI, Arial, Helvetica, sans-serif"'


def _f(v: float) -> str:
    """A coordinate as the SVG holds it: one decimal place, no "-0.0"."""
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _n(v: float) -> str:
    return f"{v:,.0f}"


def nice_max(v: float) -> float:
    """The top of an axis: the smallest 1, 2, 2.5 or 5 times a power of ten at or above ``v``.

    >>> nice_max(172), nice_max(0), nice_max(0.64)
    (200.0, 1.0, 1.0)
    """
    if not v > 0:
        return 1.0
    p = 10.0 ** math.floor(math.log10(v))
    return next(m * p for m in (1, 2, 2.5, 5, 10) if m * p >= v)


def _svg(width: float, height: float, title: str, desc: str, body: list[str], cls: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" role="img" '
            f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
            f'preserveAspectRatio="xMinYMin meet" {FONT} font-size="12">')
    return Markup("\n".join([head, f"<title>{escape(title)}</title>", f"<desc>{escape(desc)}</desc>",
                             *body, "</svg>"]))


def _y_axis(x0: float, y0: float, plot_h: float, width: float, top: float) -> list[str]:
    """Gridlines and labels at 0, 1/2 and all of ``top``."""
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = y0 - frac * plot_h
        out.append(f'<line x1="{_f(x0)}" y1="{_f(y)}" x2="{_f(width - 8)}" y2="{_f(y)}" stroke="{RULE}"/>')
        out.append(f'<text x="{_f(x0 - 6)}" y="{_f(y + 4)}" text-anchor="end" fill="{MUTED}">'
                   f'{escape(_n(frac * top))}</text>')
    return out


def trend_chart(months: Sequence[str], monthly: dict[str, int], label: str, *,
                width: float = 520, height: float = 220) -> Markup:
    """A theme's crimes per month: bars when one or two months are loaded, a line when more.

    Parameters
    ----------
    months : the profile's months (``Profile.months``), in order; a month missing from
        ``monthly`` counts 0
    monthly : crimes per month (``ThemeResult.monthly``)
    label : the theme's label, used in the title

    Each bar (``rect.bar``) or point (``circle.point``) carries ``data-month`` and ``data-count``;
    its height above the axis is proportional to the count (the axis starts at 0).

    >>> svg = trend_chart(["2017-01", "2017-02", "2017-03"], {"2017-01": 5, "2017-03": 10}, "ASB")
    >>> svg.count('<circle class="point"'), 'data-count="0"' in svg
    (3, True)
    """
    counts = [int(monthly.get(m, 0)) for m in months]
    top = nice_max(max(counts, default=0))
    x0, y_top, y0 = 56.0, 14.0, height - 34.0
    plot_w, plot_h = width - 8 - x0, y0 - y_top
    title = f"{label}: crimes per month"
    desc = "; ".join(f"{m}: {_n(c)}" for m, c in zip(months, counts)) or "no months loaded"
    body = _y_axis(x0, y0, plot_h, width, top)
    n = len(counts)
    step = plot_w / max(n, 1)
    xs = [x0 + step * (i + 0.5) for i in range(n)]
    hs = [c / top * plot_h for c in counts]
    if n <= 2:
        bar_w = min(step * 0.6, 90.0)
        for m, c, x, h in zip(months, counts, xs, hs):
            body.append(f'<rect class="bar" data-month="{escape(m)}" data-count="{c}" x="{_f(x - bar_w / 2)}" '
                        f'y="{_f(y0 - h)}" width="{_f(bar_w)}" height="{_f(h)}" fill="{ACCENT}">'
                        f'<title>{escape(m)}: {_n(c)} crimes</title></rect>')
            body.append(f'<text x="{_f(x)}" y="{_f(y0 - h - 4)}" text-anchor="middle" fill="{INK}">{_n(c)}</text>')
    else:
        pts = " ".join(f"{_f(x)},{_f(y0 - h)}" for x, h in zip(xs, hs))
        body.append(f'<polyline class="line" points="{pts}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
        for m, c, x, h in zip(months, counts, xs, hs):
            body.append(f'<circle class="point" data-month="{escape(m)}" data-count="{c}" cx="{_f(x)}" '
                        f'cy="{_f(y0 - h)}" r="3" fill="{ACCENT}"><title>{escape(m)}: {_n(c)} crimes</title></circle>')
    # month labels: every one when they fit, else about twelve
    every = max(1, math.ceil(n / 12))
    for i, (m, x) in enumerate(zip(months, xs)):
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{_f(x)}" y="{_f(y0 + 16)}" text-anchor="middle" fill="{MUTED}">{escape(m)}</text>')
    body.append(f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(width - 8)}" y2="{_f(y0)}" stroke="{INK}"/>')
    return _svg(width, height, title, desc, body, "trend")


def bar_chart(items: Sequence[tuple[str, float]], title: str, *, unit: str = "crimes",
              width: float = 640, digits: int = 0) -> Markup:
    """Horizontal bars, one per (label, value), in the order given (the caller sorts them).

    Each bar (``rect.bar``) carries ``data-label`` and ``data-value``; its width is proportional
    to the value.

    >>> svg = bar_chart([("Drugs", 339), ("Robbery", 120)], "Crimes by theme")
    >>> svg.count('<rect class="bar"')
    2
    """
    row, label_w, gap = 22.0, 250.0, 4.0
    height = 16 + row * len(items) + 8
    top = nice_max(max((v for _, v in items), default=0))
    x0, plot_w = label_w + 8, width - label_w - 8 - 70
    desc = "; ".join(f"{k}: {v:,.{digits}f} {unit}" for k, v in items) or "nothing to show"
    body = [f'<line x1="{_f(x0)}" y1="8.0" x2="{_f(x0)}" y2="{_f(height - 8)}" stroke="{INK}"/>']
    for i, (k, v) in enumerate(items):
        y = 12 + i * row
        w = v / top * plot_w
        text = f"{v:,.{digits}f}"
        body.append(f'<text x="{_f(label_w)}" y="{_f(y + row / 2 + 2)}" text-anchor="end" fill="{INK}">{escape(k)}</text>')
        body.append(f'<rect class="bar" data-label="{escape(k)}" data-value="{escape(text)}" x="{_f(x0)}" '
                    f'y="{_f(y + gap / 2)}" width="{_f(w)}" height="{_f(row - gap)}" fill="{ACCENT}">'
                    f'<title>{escape(k)}: {escape(text)} {escape(unit)}</title></rect>')
        body.append(f'<text x="{_f(x0 + w + 4)}" y="{_f(y + row / 2 + 2)}" fill="{INK}">{escape(text)}</text>')
    return _svg(width, height, title, desc, body, "bars")


def paired_bar_chart(items: Sequence[tuple[str, float, float]], title: str,
                     names: tuple[str, str] = ("threat", "vulnerability"), *, width: float = 640) -> Markup:
    """Two bars per row on a 0 to 1 scale (a neighbourhood's threat and vulnerability scores),
    in the order given, with a key. Bars are ``rect.bar-a`` / ``rect.bar-b`` with ``data-label``
    and ``data-value``.

    >>> svg = paired_bar_chart([("Leeds 086C", 0.64, 0.97)], "Priority scores")
    >>> svg.count('class="bar-a"'), svg.count('class="bar-b"')
    (1, 1)
    """
    row, label_w = 30.0, 250.0
    height = 34 + row * len(items) + 22
    x0, plot_w = label_w + 8, width - label_w - 8 - 50
    desc = "; ".join(f"{k}: {names[0]} {a:.2f}, {names[1]} {b:.2f}" for k, a, b in items) or "nothing to show"
    body = [f'<rect x="{_f(x0)}" y="6.0" width="12" height="12" fill="{ACCENT}"/>',
            f'<text x="{_f(x0 + 16)}" y="16.0" fill="{INK}">{escape(names[0])}</text>',
            f'<rect x="{_f(x0 + 120)}" y="6.0" width="12" height="12" fill="{SECOND}"/>',
            f'<text x="{_f(x0 + 136)}" y="16.0" fill="{INK}">{escape(names[1])}</text>']
    for frac in (0.0, 0.5, 1.0):  # the scale first, so the bars are drawn over it
        x = x0 + frac * plot_w
        body.append(f'<line x1="{_f(x)}" y1="26.0" x2="{_f(x)}" y2="{_f(height - 18)}" stroke="{RULE}"/>')
        body.append(f'<text x="{_f(x)}" y="{_f(height - 6)}" text-anchor="middle" fill="{MUTED}">{frac:.1f}</text>')
    for i, (k, a, b) in enumerate(items):
        y = 30 + i * row
        body.append(f'<text x="{_f(label_w)}" y="{_f(y + row / 2 + 2)}" text-anchor="end" fill="{INK}">{escape(k)}</text>')
        for j, (cls, v, colour) in enumerate((("bar-a", a, ACCENT), ("bar-b", b, SECOND))):
            w = max(0.0, min(1.0, v)) * plot_w
            yy = y + 2 + j * (row - 6) / 2
            body.append(f'<rect class="{cls}" data-label="{escape(k)}" data-value="{v:.3f}" x="{_f(x0)}" '
                        f'y="{_f(yy)}" width="{_f(w)}" height="{_f((row - 6) / 2 - 1)}" fill="{colour}">'
                        f'<title>{escape(k)}: {escape(names[j])} {v:.2f}</title></rect>')
            body.append(f'<text x="{_f(x0 + w + 4)}" y="{_f(yy + (row - 6) / 2 - 3)}" font-size="10" fill="{MUTED}">{v:.2f}</text>')
    return _svg(width, height, title, desc, body, "paired")
