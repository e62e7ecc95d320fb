"""The geometry of a diagram: boxes, wire polylines and text rectangles, in points (y up).

Pure data with the checks the layouts promise: no two boxes overlap, no two labels
overlap, no label lies on a box (but its own), and no wire passes through a box.
"""

from __future__ import annotations

from dataclasses import dataclass

FONT = 9.0  # points; a monospaced font, so a label's width is its length times CHAR_W
CHAR_W = 0.6 * FONT
TEXT_H = 1.3 * FONT
PAD = 6.0


def text_width(s: str) -> float:
    return len(s) * CHAR_W


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, o: Rect, eps: float = 1e-6) -> bool:
        return (self.x < o.x + o.w - eps and o.x < self.x + self.w - eps
                and self.y < o.y + o.h - eps and o.y < self.y + self.h - eps)

    def shifted(self, dx: float, dy: float) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)


@dataclass(frozen=True)
class Box:
    rect: Rect
    label: str
    kind: str


@dataclass(frozen=True)
class Wire:
    """A polyline of axis-parallel segments; ``kind`` is forward, backward, param or param-back."""

    points: tuple[tuple[float, float], ...]
    label: str = ""
    kind: str = "forward"


@dataclass(frozen=True)
class Text:
    rect: Rect
    text: str
    owner: int | None = None  # the index of the box this text names, if any


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    boxes: tuple[Box, ...]
    wires: tuple[Wire, ...]
    texts: tuple[Text, ...]
    title: str = ""


def centred_text(rect: Rect, label: str, owner: int | None = None) -> Text:
    """``label`` in the middle of ``rect`` (a box's name)."""
    tw = text_width(label)
    return Text(Rect(rect.x + (rect.w - tw) / 2, rect.y + (rect.h - TEXT_H) / 2, tw, TEXT_H), label, owner)


def segment_crosses(a, b, r: Rect, eps: float = 1e-6) -> bool:
    """Whether the axis-parallel segment ``a``-``b`` passes through the interior of ``r``."""
    (x0, y0), (x1, y1) = a, b
    lo_x, hi_x, lo_y, hi_y = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return lo_x < r.x + r.w - eps and hi_x > r.x + eps and lo_y < r.y + r.h - eps and hi_y > r.y + eps


def problems(layout: Layout) -> list[str]:
    """Everything wrong with a layout (empty when boxes, labels and wires keep apart)."""
    out = []
    boxes = [b.rect for b in layout.boxes]
    for i, r in enumerate(boxes):
        out += [f"boxes {i} and {j} overlap" for j in range(i + 1, len(boxes)) if r.overlaps(boxes[j])]
    for i, t in enumerate(layout.texts):
        out += [f"labels {t.text!r} and {u.text!r} overlap" for u in layout.texts[i + 1:] if t.rect.overlaps(u.rect)]
        out += [f"label {t.text!r} lies on box {j}" for j, r in enumerate(boxes) if j != t.owner and t.rect.overlaps(r)]
    for w in layout.wires:
        for a, b in zip(w.points, w.points[1:]):
            out += [f"wire {w.label!r} crosses box {layout.boxes[j].label!r}"
                    for j, r in enumerate(boxes) if segment_crosses(a, b, r)]
    for w in layout.wires:
        out += [f"wire {w.label!r} is not axis-parallel" for a, b in zip(w.points, w.points[1:])
                if a[0] != b[0] and a[1] != b[1]]
    return out
