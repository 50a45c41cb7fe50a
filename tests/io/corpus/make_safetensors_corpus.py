#!/usr/bin/env python3
"""Writes the safetensors seed corpus (tests/io/corpus/safetensors/): small
valid files covering every dtype, metadata, scalars and empty tensors, and
mutated ones covering each way a header can lie. Deterministic; rerun it
after changing the cases. Other files beside these (fuzz-*: inputs the fuzzer
found interesting; hf-*: files written by the reference Python library) are
not touched by this script."""
import json
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors")
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


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.startswith(("valid-", "bad-")):
            os.remove(os.path.join(OUT, name))
    for name, data in sorted(CASES.items()):
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(CASES), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
