#!/usr/bin/env python3
"""Turns a tmux capture with colours (`tmux capture-pane -e -p`) into an SVG screenshot.

    tmux capture-pane -e -p -t SESSION > screen.ansi
    python3 assets/ansi2svg.py < screen.ansi > assets/screen.svg

Handles the SGR codes syncwatch uses: reset, bold, reverse, 8/16 colours and 256 colours.
"""
import html
import re
import sys

BASE = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"]
FG, BG = "#d4d4d4", "#1e1e1e"


def color256(n):
    if n < 16:
        return BASE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def parse(line):
    """Yields (text, fg, bg, bold) runs."""
    fg, bg, bold, rev = None, None, False, False
    pos = 0
    for m in re.finditer(r"\x1b\[([0-9;]*)m", line):
        if m.start() > pos:
            f, b = (bg or BG, fg or FG) if rev else (fg, bg)
            yield line[pos:m.start()], f, b, bold
        codes = [int(c) if c else 0 for c in m.group(1).split(";")]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                fg, bg, bold, rev = None, None, False, False
            elif c == 1:
                bold = True
            elif c == 7:
                rev = True
            elif c == 22:
                bold = False
            elif c == 27:
                rev = False
            elif 30 <= c <= 37:
                fg = BASE[c - 30]
            elif 90 <= c <= 97:
                fg = BASE[c - 90 + 8]
            elif c == 39:
                fg = None
            elif 40 <= c <= 47:
                bg = BASE[c - 40]
            elif c == 49:
                bg = None
            elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                if c == 38:
                    fg = color256(codes[i + 2])
                else:
                    bg = color256(codes[i + 2])
                i += 2
            i += 1
        pos = m.end()
    if pos < len(line):
        f, b = (bg or BG, fg or FG) if rev else (fg, bg)
        yield line[pos:], f, b, bold


def main():
    lines = sys.stdin.read().rstrip("\n").split("\n")
    cw, ch = 8.4, 17
    width = max(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in lines)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="DejaVu Sans Mono, Menlo, monospace" font-size="14">'
           % (width * cw + 16, len(lines) * ch + 16),
           '<rect width="100%%" height="100%%" fill="%s"/>' % BG]
    for row, line in enumerate(lines):
        col = 0
        y = 8 + row * ch
        for text, fg, bg, bold in parse(line):
            x = 8 + col * cw
            if bg:
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (x, y, len(text) * cw, ch, bg))
            weight = ' font-weight="bold"' if bold else ""
            out.append('<text x="%.1f" y="%d" fill="%s"%s xml:space="preserve" textLength="%.1f">%s</text>'
                       % (x, y + 13, fg or FG, weight, len(text) * cw, html.escape(text)))
            col += len(text)
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
