"""Read the QR codes a page shows the way a scanner does: from a screenshot's pixels.

zxing-cpp (the `test` extra) decodes; the PNG Chromium writes is unpacked here with zlib, so the
tests need no imaging library.
"""

from __future__ import annotations

import struct
import zlib


def _grey(png: bytes) -> tuple[bytes, int, int]:
    """The 8-bit greyscale pixels, width and height of a non-interlaced 8-bit RGB(A) or grey PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and colour in (0, 2, 4, 6), f"unexpected PNG: {depth=} {colour=}"
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    grey = bytearray(width * height)
    for y, line in enumerate(rows):
        for x in range(width):
            px = line[x * bpp : x * bpp + bpp]
            grey[y * width + x] = px[0] if bpp <= 2 else (px[0] * 299 + px[1] * 587 + px[2] * 114) // 1000
    return bytes(grey), width, height


def decode_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a screenshot (empty if none can be read)."""
    import zxingcpp

    grey, width, height = _grey(png)
    image = memoryview(grey).cast("B", (height, width))
    return [code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def scan(locator, scale: float = 1.0) -> list[str]:
    """Screenshot one element (what a scanner sees of it) and decode it. `scale` > 1 looks closer
    (device pixels per CSS pixel), like a 300 dpi desk scanner reading the printed card."""
    page = locator.page
    if scale != 1.0:
        size = page.viewport_size
        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": size["width"], "height": size["height"], "deviceScaleFactor": scale, "mobile": False},
        )
        try:
            return decode_qr(locator.screenshot(animations="disabled"))
        finally:
            cdp.send("Emulation.clearDeviceMetricsOverride")
            cdp.detach()
    return decode_qr(locator.screenshot(animations="disabled"))
