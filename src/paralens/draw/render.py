"""Rendering a :class:`~paralens.draw.geometry.Layout` with matplotlib (Agg), to SVG or PNG bytes.

One point of layout is one point of the figure.  The SVG is deterministic: a fixed
hash salt, no date, text kept as text in one monospaced font.
"""

from __future__ import annotations

import io

from paralens.draw.geometry import FONT, Layout

FONT_FAMILY = "DejaVu Sans Mono"
COLOURS = {"lens": "#e8f0fe", "para": "#e8f0fe", "loss": "#fde8e8", "learning rate": "#fff4d6",
           "optimiser": "#e6f4ea", "gate": "#f1f3f4"}
WIRE_COLOURS = {"forward": "#202124", "backward": "#c5221f", "param": "#1a73e8", "param-back": "#c5221f"}
RC = {"svg.hashsalt": "paralens", "svg.fonttype": "none", "font.family": "monospace",
      "font.monospace": [FONT_FAMILY], "path.simplify": False}


ARROWS = {"backward": "<", "param-back": "^"}  # the wires that run against the reading direction


def arrow_at(points) -> tuple[float, float]:
    """The middle of a wire's longest segment, where its direction is marked."""
    (a, b) = max(zip(points, points[1:]), key=lambda s: abs(s[1][0] - s[0][0]) + abs(s[1][1] - s[0][1]))
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _figure(lay: Layout):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(max(lay.width, 1.0) / 72, max(lay.height, 1.0) / 72), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(0, lay.height)
    ax.set_axis_off()
    for w in lay.wires:
        xs, ys = zip(*w.points)
        ax.plot(xs, ys, color=WIRE_COLOURS.get(w.kind, "#202124"), lw=1.0,
                ls="--" if w.kind in ARROWS else "-", solid_capstyle="butt")
        if w.kind in ARROWS:
            x, y = arrow_at(w.points)
            ax.plot([x], [y], marker=ARROWS[w.kind], ms=4, color=WIRE_COLOURS[w.kind], ls="none")
    for b in lay.boxes:
        r = b.rect
        ax.add_patch(Rectangle((r.x, r.y), r.w, r.h, facecolor=COLOURS.get(b.kind, "#ffffff"),
                               edgecolor="#202124", lw=1.0, zorder=2))
    for t in lay.texts:
        r = t.rect
        ax.text(r.x, r.y + r.h / 2, t.text, fontsize=FONT, va="center", ha="left", zorder=3,
                family="monospace")
    return fig


def render(lay: Layout, fmt: str = "svg", dpi: int = 144) -> bytes:
    """The layout drawn as ``"svg"`` or ``"png"`` bytes."""
    import matplotlib

    if fmt not in ("svg", "png"):
        raise ValueError(f"cannot draw to {fmt!r}: choose svg or png")
    with matplotlib.rc_context(RC):
        fig = _figure(lay)
        buf = io.BytesIO()
        meta = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, dpi=72 if fmt == "svg" else dpi, metadata=meta)
    return buf.getvalue()
