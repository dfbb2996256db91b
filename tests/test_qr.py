"""The QR codes the app draws scale to their box instead of being cropped by it."""

from __future__ import annotations

import re

from msc.qr import QUIET_ZONE, qr_svg


def assert_scalable_qr(html: str) -> None:
    """The page's QR code has a viewBox and no fixed size, so CSS shrinks it whole (the card's 28 mm box
    cut off two finder patterns of a 114 px SVG); its quiet zone is the four modules the standard asks for."""
    svgs = re.findall(r"<svg[^>]*class=\"qr-code\"[^>]*>", html)
    assert len(svgs) == 1, svgs
    tag = svgs[0]
    assert re.search(r'viewBox="0 0 (\d+) \1"', tag), tag
    assert " width=" not in tag and " height=" not in tag, tag


def test_the_qr_code_scales_and_keeps_its_quiet_zone():
    svg = qr_svg("ABCD-EFGH-JKLM-NPQR")
    assert_scalable_qr(svg)
    size = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    assert size == 21 + 2 * QUIET_ZONE  # a version 1 symbol: 21 modules, and the margin round it
    assert svg.count('fill="#fff"') == 1 and 'stroke="#000"' in svg  # dark on light, the light drawn
