"""QR codes drawn as inline SVG, one way for every page that shows one (card, poster, MFA enrolment)."""

from __future__ import annotations

import segno

#: The quiet zone ISO/IEC 18004 asks for: four light modules round the symbol. Desk scanners and
#: phone cameras find the finder patterns by the light margin round them.
QUIET_ZONE = 4


def qr_svg(data: str) -> str:
    """The QR code of `data` as an inline SVG that scales to the box CSS gives it.

    It carries a viewBox and no width or height: a fixed pixel size in a smaller CSS box (the 28 mm
    of the card) would crop the symbol, cutting off finder patterns, instead of shrinking it.
    """
    return segno.make(data, error="m").svg_inline(
        scale=1, border=QUIET_ZONE, dark="#000", light="#fff", omitsize=True, svgclass="qr-code"
    )
