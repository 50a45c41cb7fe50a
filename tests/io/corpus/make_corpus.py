#!/usr/bin/env python3
"""Writes the fuzz seed corpora under tests/io/corpus/: safetensors/ (small
valid files covering every dtype, metadata, scalars and empty tensors, and
mutated ones covering each way a header can lie), npy/ and png/ (valid
files of each supported kind and broken ones). Deterministic; rerun it after
changing the cases. Other files beside these (fuzz-*: inputs the fuzzer
found interesting; hf-*: files written by the reference Python library) are
not touched by this script."""
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2,
         "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def header_bytes(header, pad=True):
    text = header if isinstance(header, (bytes, str)) else json.dumps(header, separators=(",", ":"))
    if isinstance(text, str):
        text = text.encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return text


def raw(header, data=b"", hlen=None, pad=True):
    h = header_bytes(header, pad)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def valid(tensors, metadata=None):
    """tensors: list of (name, dtype, shape); data bytes are a simple ramp."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in sorted(tensors):
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i) * 37 % 251 for i in range(n))
    return raw(header, data)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


CASES = {
    # Valid files.
    "valid-empty": valid([]),
    "valid-one-f32": valid([("w", "F32", [2, 3])]),
    "valid-conv": valid([("conv_1.kernel", "F32", [3, 3, 1, 4]), ("conv_1.bias", "F32", [4]),
                         ("dense.kernel", "F32", [16, 10]), ("dense.bias", "F32", [10])],
                        {"format": "netc", "model": "tiny"}),
    "valid-all-dtypes": valid([("t_" + d.lower(), d, [3]) for d in SIZES]),
    "valid-scalar": valid([("step", "I64", []), ("lr", "F32", [])]),
    "valid-zero-size": valid([("a", "F32", [0]), ("b", "F32", [2]), ("c", "U8", [3, 0, 2])]),
    "valid-rank8": valid([("r8", "F32", [1, 2, 1, 2, 1, 2, 1, 1])]),
    "valid-checkpoint": valid([("rng_state", "U8", [16]), ("step", "I64", [1]),
                               ("w", "F32", [4]), ("m.w", "F32", [4]), ("v.w", "F64", [4])],
                              {"epoch": "3", "note": "quote \" and \\ and \u00e9"}),
    "valid-meta-only": raw({"__metadata__": {"k": "v"}}),
    "valid-unpadded": raw({"a": entry("U8", [3], 0, 3)}, b"abc", pad=False),
    "valid-extra-field": raw({"a": dict(entry("U8", [2], 0, 2), extra=[1, 2])}, b"xy"),
    "valid-unaligned": raw({"a": entry("U8", [1], 0, 1), "b": entry("F32", [1], 1, 5)},
                           b"\x01\x00\x00\x80\x3f"),
    "valid-many": valid([("t%03d" % i, "F32", [1]) for i in range(60)]),
    "valid-unicode-name": valid([("couche_\u00e9t\u00e9", "F32", [1]), ("\u5c42", "F32", [2])]),
    # Broken files.
    "bad-short": b"\x05\x00\x00",
    "bad-hlen-past-end": raw({}, hlen=1000),
    "bad-hlen-huge": struct.pack("<Q", 2**64 - 1) + b"{}",
    "bad-hlen-zero": struct.pack("<Q", 0),
    "bad-json": raw('{"a": {"dtype": "F32",, }'),
    "bad-json-unterminated": raw('{"a": {"dtype": "F32"'),
    "bad-array": raw("[1, 2, 3]"),
    "bad-string": raw('"hello"'),
    "bad-trailing": raw("{} x", pad=False),
    "bad-nul": raw(b"{}\x00     "),
    "bad-entry-array": raw({"w": [1]}),
    "bad-no-dtype": raw({"w": {"shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
    "bad-no-shape": raw({"w": {"dtype": "F32", "data_offsets": [0, 4]}}, bytes(4)),
    "bad-no-offsets": raw({"w": {"dtype": "F32", "shape": [1]}}, bytes(4)),
    "bad-dtype": raw({"w": entry("F128", [1], 0, 16)}, bytes(16)),
    "bad-dtype-number": raw({"w": entry(32, [1], 0, 4)}, bytes(4)),
    "bad-dup-field": raw('{"w": {"dtype": "F32", "dtype": "F64", "shape": [1], '
                         '"data_offsets": [0, 4]}}', bytes(4)),
    "bad-shape-negative": raw({"w": entry("F32", [2, -1], 0, 4)}, bytes(4)),
    "bad-shape-float": raw({"w": entry("F32", [1.5], 0, 4)}, bytes(4)),
    "bad-shape-huge": raw('{"w": {"dtype": "F32", "shape": [1e300], "data_offsets": [0, 4]}}',
                          bytes(4)),
    "bad-shape-overflow": raw({"w": entry("F32", [2**32, 2**32], 0, 4)}, bytes(4)),
    "bad-bytes-overflow": raw({"w": entry("F64", [2**32, 2**30], 0, 4)}, bytes(4)),
    "bad-rank9": raw({"w": entry("F32", [1] * 9, 0, 4)}, bytes(4)),
    "bad-offsets-arity": raw({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}},
                             bytes(4)),
    "bad-offsets-backwards": raw({"w": entry("F32", [1], 4, 0)}, bytes(4)),
    "bad-offsets-range": raw({"w": entry("F32", [2], 0, 8)}, bytes(4)),
    "bad-offsets-size": raw({"w": entry("F32", [3], 0, 8)}, bytes(8)),
    "bad-overlap": raw({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, bytes(12)),
    "bad-gap": raw({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, bytes(12)),
    "bad-tail": raw({"a": entry("F32", [1], 0, 4)}, bytes(10)),
    "bad-dup-name": raw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                        '"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', bytes(8)),
    "bad-empty-name": raw({"": entry("F32", [1], 0, 4)}, bytes(4)),
    "bad-meta-number": raw({"__metadata__": {"a": 1}}),
    "bad-meta-array": raw({"__metadata__": ["a"]}),
    "bad-truncated": valid([("conv_1.kernel", "F32", [3, 3, 1, 4]), ("z", "F32", [2])])[:-3],
    "bad-deep-json": raw("[" * 2000 + "]" * 2000),
}



def npy(descr, shape, data, fortran=False, version=1, dict_text=None):
    d = dict_text or "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False",
        "(%s)" % ", ".join("%d" % x for x in shape) if len(shape) != 1
        else "(%d,)" % shape[0])
    pre = 10 if version == 1 else 12
    text = d.encode() + b" " * (-(pre + len(d) + 1) % 64) + b"\n"
    lenfield = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + lenfield + text + data


NPY = {
    "valid-f4-2d": npy("<f4", (2, 3), struct.pack("<6f", *range(6))),
    "valid-f4-1d": npy("<f4", (4,), struct.pack("<4f", 1, -1, 0.5, 1e30)),
    "valid-f4-scalar": npy("<f4", (), struct.pack("<f", 2.5)),
    "valid-f4-empty": npy("<f4", (0, 3), b""),
    "valid-f8": npy("<f8", (3,), struct.pack("<3d", 0.1, -2, 1e300)),
    "valid-u1": npy("|u1", (2, 2), bytes([0, 1, 128, 255])),
    "valid-v2": npy("<f4", (2,), struct.pack("<2f", 7, 8), version=2),
    "valid-v3": npy("<f4", (1,), struct.pack("<f", 3), version=3),
    "valid-keys-reordered": npy(None, None, struct.pack("<2f", 1, 2), dict_text=
                                "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}"),
    "bad-fortran": npy("<f4", (2, 3), bytes(24), fortran=True),
    "bad-big-endian": npy(">f4", (1,), bytes(4)),
    "bad-structured": npy(None, None, bytes(8), dict_text=
                          "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"),
    "bad-truncated": npy("<f4", (2, 3), bytes(20)),
    "bad-extra-data": npy("<f4", (2,), bytes(12)),
    "bad-unknown-key": npy(None, None, bytes(4), dict_text=
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"),
    "bad-negative-dim": npy(None, None, bytes(4), dict_text=
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"),
    "bad-overflow": npy(None, None, bytes(4), dict_text=
                        "{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(4294967296, 4294967296, 4)}"),
    "bad-version": b"\x93NUMPY\x04\x00\x02\x00{}",
    "bad-magic": b"PK\x03\x04 not numpy",
    "bad-hlen": b"\x93NUMPY\x01\x00\xff\x00{}",
}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xffffffff)


def png(w, h, depth, color, rows, interlace=0, extra=b"", ihdr=None):
    """rows: list of already packed scanlines (filter byte 0 is added)."""
    ihdr = ihdr or struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    raw_data = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw_data, 9)) + chunk(b"IEND", b""))


def ramp(n, k=37):
    return bytes((i * k) % 256 for i in range(n))


RGB8 = png(4, 3, 8, 2, [ramp(12, 37 + y) for y in range(3)])
PNGS = {
    "valid-gray8": png(5, 4, 8, 0, [ramp(5, 11 + y) for y in range(4)]),
    "valid-gray1": png(8, 2, 1, 0, [b"\xb1", b"\x4e"]),
    "valid-gray16": png(3, 2, 16, 0, [ramp(6), ramp(6, 5)]),
    "valid-ga8": png(3, 3, 8, 4, [ramp(6, 3 + y) for y in range(3)]),
    "valid-rgb8": RGB8,
    "valid-rgba16": png(2, 2, 16, 6, [ramp(16), ramp(16, 9)]),
    "valid-palette": png(4, 2, 2, 3, [b"\x19", b"\xe4"],
                         extra=chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 10, 20, 30, 1, 2, 3]))
                         + chunk(b"tRNS", bytes([255, 128, 0]))),
    "valid-gray-key": png(3, 1, 8, 0, [bytes([7, 8, 7])], extra=chunk(b"tRNS", b"\x00\x07")),
    "valid-interlaced-1x1": png(1, 1, 8, 2, [b"\x10\x20\x30"], interlace=1),
    "valid-text-chunk": png(1, 1, 8, 0, [b"\x80"], extra=chunk(b"tEXt", b"Comment\0netc")),
    "bad-signature": b"GIF89a" + bytes(20),
    "bad-truncated": RGB8[:len(RGB8) // 2],
    "bad-no-iend": RGB8[:-12],
    "bad-ihdr-crc": RGB8[:29] + bytes([RGB8[29] ^ 1]) + RGB8[30:],
    "bad-zero-width": png(0, 1, 8, 0, [b""]),
    "bad-depth": png(1, 1, 3, 0, [b"\x00"]),
    "bad-huge": png(30000, 30000, 8, 6, [b"\0\0\0\0"]),
    "bad-palette-missing": png(2, 1, 8, 3, [b"\x00\x01"]),
    "bad-short-idat": png(4, 4, 8, 2, [ramp(12)]),
    "bad-zlib": RGB8[:45] + b"\xff\xff\xff" + RGB8[48:],
}


def write_dir(name, cases, prefixes=("valid-", "bad-")):
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.startswith(prefixes):
            os.remove(os.path.join(out, f))
    ext = {"safetensors": ".safetensors", "npy": ".npy", "png": ".png"}[name]
    for case, data in sorted(cases.items()):
        with open(os.path.join(out, case + ext), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(cases), out), file=sys.stderr)


def main():
    write_dir("safetensors", CASES)
    write_dir("npy", NPY)
    write_dir("png", PNGS)


if __name__ == "__main__":
    main()
