#!/usr/bin/env python3
"""Checks that a PNG (e.g. a headless-Chromium screenshot of a summary report) is not blank.

Usage: png-colors.py FILE.png [--min-colors N] [--crop Y0 Y1 OUT.png]

Prints `WIDTHxHEIGHT, N distinct colours, M% non-background pixels` and exits 1 when the image
has fewer than --min-colors distinct colours (default 64). Standard library only (zlib).
--crop writes rows Y0..Y1 to OUT.png (for looking at a tall screenshot piece by piece).
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are supported")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def write(path, width, bpp, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, 2 if bpp == 3 else 6, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, minimum = argv[1], 64
    if "--min-colors" in argv:
        minimum = int(argv[argv.index("--min-colors") + 1])
    width, height, bpp, rows = decode(path)
    if "--crop" in argv:
        k = argv.index("--crop")
        y0, y1, out = int(argv[k + 1]), int(argv[k + 2]), argv[k + 3]
        write(out, width, bpp, rows[y0:y1])
    colours, counts = set(), {}
    for r in rows:
        for x in range(0, len(r), bpp):
            px = r[x:x + 3]
            colours.add(px)
            counts[px] = counts.get(px, 0) + 1
    background = max(counts.values())
    share = 100 * (1 - background / (width * height))
    print(f"{width}x{height}, {len(colours)} distinct colours, {share:.1f}% non-background pixels")
    return 0 if len(colours) >= minimum else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
