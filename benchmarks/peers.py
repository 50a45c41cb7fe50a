#!/usr/bin/env python3
"""peers.py: netc against PyTorch (CPU, eager) and ONNX Runtime (CPU) on the
book's models, on the same machine in the same run.

Each model is written again here in PyTorch, from its .net file and the
language's Keras semantics (NHWC, TensorFlow 'same' padding, BN epsilon
1e-3, dropout an identity at inference); its parameter count must equal
`netc report`'s total less the BN moving statistics, which PyTorch keeps as
buffers, not parameters. The PyTorch model is exported to ONNX and run by
ONNX Runtime with every graph optimization on; its outputs are checked
against PyTorch's.

Measurements are interleaved: each round times every (model, batch,
engine, thread count) once, as a block of runs after warm-up, and keeps the
block's median; the figure quoted is the median of the rounds' medians, so
that a compile another user starts on this shared machine spoils one block,
not a whole column. For every engine and batch the better thread count
(1 or 2 here) is kept, by that median.

Run it through benchmarks/run.sh, which installs PyTorch, ONNX Runtime and
ONNX and builds the netc programs.
"""

import os

# PyTorch's convolutions call OpenBLAS inside its own OpenMP threads;
# OpenBLAS threading on top oversubscribes the cores. Set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def fit_openblas_coretype():
    """OPENBLAS_CORETYPE for PyTorch's OpenBLAS, as the netc programs set it
    for themselves (rt_blas_better_coretype): where OpenBLAS would load its
    SSE kernels on a CPU with AVX2 and FMA (Debian 12's 0.3.21 on a CPU
    model newer than it), the kernels that fit. Probed in a child process:
    the variable is read when the library loads."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    probe = ("import ctypes; f = ctypes.CDLL('libopenblas.so.0').openblas_get_corename;"
             " f.restype = ctypes.c_char_p; print(f().decode())")
    try:
        core = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                              text=True, timeout=60).stdout.strip()
        flags = set()
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except (OSError, subprocess.SubprocessError):
        return
    fitting = {"SkylakeX", "Cooperlake", "SapphireRapids", "Haswell", "Zen"}
    if not core or core in fitting or not {"avx2", "fma"} <= flags:
        return
    wide = {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX" if wide else "Haswell"

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time

fit_openblas_coretype()

import numpy as np
import torch
from torch import nn

MODELS = ["mnist_cnn", "cifar_bn_cnn", "resnet_mini", "mobilenet_mini"]
ENGINES = ["netc", "pytorch", "onnxruntime"]
BN_EPS = 1e-3  # Keras' BatchNormalization default, which netc's bn takes


# ---------------------------------------------------------------- models


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS)


def conv_same(cin, cout, k, stride=1, groups=1):
    """A Keras 'same' convolution. For odd k at stride 1 TensorFlow pads
    (k-1)/2 on every side; the only strided one here is 1x1 stride 2 on
    even sizes, where TensorFlow pads nothing."""
    pad = (k - 1) // 2 if stride == 1 else 0
    assert k % 2 == 1 and (stride == 1 or k == 1)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, groups=groups)


class Head(nn.Module):
    """flatten -> dense(classes, softmax). Keras flattens NHWC, so the
    tensor is put in that order first (only mnist_cnn flattens more than
    1x1 pixels; the transpose costs a copy of the features)."""

    def __init__(self, features, classes):
        super().__init__()
        self.dense = nn.Linear(features, classes)

    def forward(self, x):
        x = torch.flatten(x.permute(0, 2, 3, 1), 1)
        return torch.softmax(self.dense(x), dim=1)


def mnist_cnn(classes=10):
    return nn.Sequential(
        conv_same(1, 64, 3), nn.ReLU(),
        conv_same(64, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        conv_same(64, 128, 3), nn.ReLU(),
        conv_same(128, 128, 3), nn.ReLU(),
        Head(14 * 14 * 128, classes))


def cifar_bn_cnn(classes=10):
    layers, cin = [], 3
    for f in [64, 128, 256]:
        if f > 64:
            layers.append(nn.MaxPool2d(2))
        for _ in range(3):  # unit(x, f) = bn -> relu -> conv(f, 3, same)
            layers += [bn(cin), nn.ReLU(), conv_same(cin, f, 3)]
            cin = f
    layers += [nn.Dropout(0.25), nn.AvgPool2d(8), Head(256, classes)]
    return nn.Sequential(*layers)


class Unit(nn.Module):
    """The residual unit of resnet_mini (dw = False: two bn-relu-conv3x3)
    and of mobilenet_mini (dw = True: bn-relu-dwconv3x3, bn-relu-conv1x1).
    With pool, the input is max-pooled and the shortcut is a 1x1 stride-2
    convolution of the unpooled input."""

    def __init__(self, cin, f, pool=False, dw=False):
        super().__init__()
        self.pool = nn.MaxPool2d(2) if pool else None
        self.short = conv_same(cin, f, 1, stride=2) if pool else None
        assert pool or cin == f
        if dw:
            self.body = nn.Sequential(
                bn(cin), nn.ReLU(), conv_same(cin, cin, 3, groups=cin),
                bn(cin), nn.ReLU(), conv_same(cin, f, 1))
        else:
            self.body = nn.Sequential(
                bn(cin), nn.ReLU(), conv_same(cin, f, 3),
                bn(f), nn.ReLU(), conv_same(f, f, 3))

    def forward(self, x):
        res = x
        if self.pool is not None:
            res = self.short(x)
            x = self.pool(x)
        return res + self.body(x)


def residual(first_units, dw, classes=10):
    layers = [conv_same(3, 32, 3)]
    layers += [Unit(32, 32, dw=dw) for _ in range(first_units)]
    cin = 32
    for f in [64, 128, 256]:
        layers.append(Unit(cin, f, pool=True, dw=dw))
        layers += [Unit(f, f, dw=dw) for _ in range(2)]
        cin = f
    layers += [bn(256), nn.ReLU(), nn.Dropout(0.25), nn.AvgPool2d(4),
               Head(256, classes)]
    return nn.Sequential(*layers)


def resnet_mini(classes=10):
    return residual(3, dw=False, classes=classes)


def mobilenet_mini(classes=10):
    return residual(2, dw=True, classes=classes)


BUILDERS = {"mnist_cnn": mnist_cnn, "cifar_bn_cnn": cifar_bn_cnn,
            "resnet_mini": resnet_mini, "mobilenet_mini": mobilenet_mini}

# Single layers of the four models at their shapes (--layers): name, input
# HxWxC, filters (None: depthwise), kernel, stride, where it comes from.
LAYERS = [
    ("conv3x3_28x28x64_64", (28, 28, 64), 64, 3, 1, "mnist_cnn"),
    ("conv3x3_14x14x128_128", (14, 14, 128), 128, 3, 1, "mnist_cnn"),
    ("conv3x3_28x28x1_64", (28, 28, 1), 64, 3, 1, "mnist_cnn stem"),
    ("conv3x3_32x32x3_64", (32, 32, 3), 64, 3, 1, "cifar_bn_cnn stem"),
    ("conv3x3_32x32x3_32", (32, 32, 3), 32, 3, 1, "resnet_mini stem"),
    ("conv3x3_32x32x64_64", (32, 32, 64), 64, 3, 1, "cifar_bn_cnn"),
    ("conv3x3_8x8x256_256", (8, 8, 256), 256, 3, 1, "cifar_bn_cnn, resnet_mini"),
    ("conv3x3_32x32x32_32", (32, 32, 32), 32, 3, 1, "resnet_mini"),
    ("conv3x3_4x4x256_256", (4, 4, 256), 256, 3, 1, "resnet_mini"),
    ("conv1x1s2_32x32x32_64", (32, 32, 32), 64, 1, 2, "resnet_mini shortcut"),
    ("conv1x1_16x16x64_64", (16, 16, 64), 64, 1, 1, "mobilenet_mini"),
    ("dwconv3x3_32x32x32", (32, 32, 32), None, 3, 1, "mobilenet_mini"),
    ("dwconv3x3_8x8x128", (8, 8, 128), None, 3, 1, "mobilenet_mini"),
]


def layer_net(name, shape, filters, k, stride):
    """The .net text of one layer alone."""
    h, w, c = shape
    op = (f"dwconv({k}, pad = same)" if filters is None else
          f"conv({filters}, {k}, stride = {stride}, pad = same)")
    return f"network {name}(input: {h}x{w}x{c}) {{\n    return input -> {op}\n}}\n"


def layer_model(shape, filters, k, stride):
    c = shape[2]
    if filters is None:
        return conv_same(c, c, k, groups=c)
    return conv_same(c, filters, k, stride=stride)


# ---------------------------------------------------------------- checks


def netc_params(netc, net_file):
    """`netc report`'s total and its BN moving statistics (the BN layers'
    non-trainable parameters)."""
    out = subprocess.run([netc, "report", net_file, "--json"], check=True,
                         capture_output=True, text=True).stdout
    rep = json.loads(out)
    moving = sum(layer["params"] - layer["trainable_params"]
                 for layer in rep["layers"] if layer["type"] == "bn")
    shape = rep["layers"][0]["output_shape"]  # the input, HxWxC
    return rep["params"]["total"], moving, rep["macs"], shape


def randomize_bn(model, gen):
    """Non-trivial BN statistics, so that the ONNX check means something."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


# ---------------------------------------------------------------- timing


def runs_for(seconds_per_run, batch, quick):
    """Enough runs for about a second (batch 1) or three (batch 64) a
    block, within bounds."""
    budget, lo, hi = (1.0, 30, 400) if batch == 1 else (3.0, 5, 40)
    if quick:
        budget, lo, hi = budget / 4, max(3, lo // 4), hi // 4
    return int(min(hi, max(lo, budget / max(seconds_per_run, 1e-6))))


def time_python(fn, batch, quick):
    fn()  # first call: allocation, ORT's and PyTorch's lazy set-up
    t0 = time.perf_counter()
    fn()
    runs = runs_for(time.perf_counter() - t0, batch, quick)
    for _ in range(max(2, runs // 10)):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_ms": statistics.median(times) * 1e3, "runs": runs}


def time_netc(prog, batch, threads, estimate, quick, layers=False):
    """One block of netc runs; with layers, as many more runs again timed
    layer by layer (`bench --layers`): each layer's median ms and GFLOP/s."""
    runs = runs_for(estimate, batch, quick)
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)  # netc sets OpenBLAS' count itself
    out = subprocess.run(
        [prog, "bench", "--batch", str(batch), "--threads", str(threads),
         "--runs", str(runs), "--warmup", str(max(2, runs // 10)), "--json"]
        + (["--layers"] if layers else []),
        check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out)
    block = {"median_ms": r["latency_ms"]["median"], "runs": runs,
             "gflops": r["gflops"], "sgemm_gflops": r["sgemm_gflops"],
             "fraction_of_peak": r["fraction_of_peak"]}
    if layers:
        block["layers"] = [{"name": l["name"], "median_ms": l["median_ms"],
                            "gflops": l.get("gflops", 0.0)}
                           for l in r["layers"]]
    return block


# ---------------------------------------------------------------- main


def versions():
    import onnxruntime as ort
    import onnx
    v = {"python": platform.python_version(), "torch": torch.__version__,
         "onnxruntime": ort.__version__, "onnx": onnx.__version__,
         "numpy": np.__version__}
    try:
        v["openblas"] = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "libopenblas0-pthread"],
            capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    v["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE", "")
    return v


def netc_commit():
    """The commit netc was built from, marked when the tree had changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--",
                                "compiler", "runtime"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except OSError:
        return "?"


def machine():
    model, cores = platform.processor(), os.cpu_count()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True,
                                   text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": cores}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", default="build-bench/compiler/netc")
    ap.add_argument("--progs", default="build-bench/bench-progs",
                    help="folder for the netc-built programs")
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--layers", action="store_true",
                    help="time single layers of the models instead")
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="short blocks, for trying the script out")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--summarize", metavar="JSON",
                    help="print the tables of an earlier run's JSON and stop")
    args = ap.parse_args()
    if args.summarize:
        with open(args.summarize) as f:
            result = json.load(f)
        blocks = [b for m in result["models"].values() for b in m["blocks"]]
        args.batches = sorted({b["batch"] for b in blocks})
        args.threads = sorted({b["threads"] for b in blocks})
        summarize(result, args)
        return

    import onnxruntime as ort
    import onnx

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="netc-peers-")
    os.makedirs(args.progs, exist_ok=True)
    result = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "versions": versions(), "netc_commit": netc_commit(),
              "rounds": args.rounds, "kind": "layers" if args.layers else "models",
              "models": {}}
    print(f"machine: {result['machine']['cpu']}, {result['machine']['cores']} cores")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    print(f"netc: {result['netc_commit']}")

    cases = []  # (name, .net file, PyTorch model, where from)
    if args.layers:
        for name, shape, filters, k, stride, where in LAYERS:
            net_file = os.path.join(tmp, f"{name}.net")
            with open(net_file, "w") as f:
                f.write(layer_net(name, shape, filters, k, stride))
            cases.append((name, net_file, layer_model(shape, filters, k, stride), where))
        args.models = [c[0] for c in cases]
    else:
        cases = [(n, f"dsl-examples/{n}.net", BUILDERS[n](), n) for n in args.models]

    setups = {}
    for name, net_file, model, where in cases:
        total, moving, macs, (h, w, c) = netc_params(args.netc, net_file)
        model.eval()
        randomize_bn(model, gen)
        ours = sum(p.numel() for p in model.parameters())
        ok = ours == total - moving
        print(f"{name}: netc report {total:,} params - {moving:,} BN moving stats"
              f" = {total - moving:,}; PyTorch {ours:,} {'ok' if ok else 'MISMATCH'}")
        if not ok:
            sys.exit(f"{name}: the PyTorch model does not match the .net file")
        prog = os.path.join(args.progs, name)
        subprocess.run([args.netc, "build", net_file, "-o", prog], check=True)
        path = os.path.join(tmp, f"{name}.onnx")
        x1 = torch.rand(1, c, h, w, generator=gen)
        torch.onnx.export(model, x1, path, opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"},
                                        "output": {0: "batch"}})
        onnx.checker.check_model(onnx.load(path))
        sessions = {}
        for t in args.threads:
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.intra_op_num_threads = t
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            sessions[t] = ort.InferenceSession(
                path, so, providers=["CPUExecutionProvider"])
        xb = torch.rand(4, c, h, w, generator=gen)
        with torch.inference_mode():
            want = model(xb).numpy()
        got = sessions[args.threads[0]].run(None, {"input": xb.numpy()})[0]
        err = float(np.abs(got - want).max())
        print(f"{name}: ONNX Runtime vs PyTorch max |diff| {err:.2e}")
        if err > 1e-4:
            sys.exit(f"{name}: ONNX Runtime disagrees with PyTorch")
        setups[name] = (model, sessions, (c, h, w), prog)
        result["models"][name] = {"params": total, "macs_per_image": macs,
                                  "from": where, "onnx_max_abs_diff": err,
                                  "blocks": []}

    estimates = {}
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds}", flush=True)
        for name in args.models:
            model, sessions, (c, h, w), prog = setups[name]
            for batch in args.batches:
                x = torch.rand(batch, c, h, w, generator=gen)
                xn = x.numpy()
                for engine in ENGINES:
                    for t in args.threads:
                        if engine == "pytorch":
                            torch.set_num_threads(t)
                            with torch.inference_mode():
                                r = time_python(lambda: model(x), batch, args.quick)
                        elif engine == "onnxruntime":
                            sess = sessions[t]
                            r = time_python(lambda: sess.run(None, {"input": xn}),
                                            batch, args.quick)
                        else:
                            key = (name, batch, t)
                            est = estimates.get(key, 0.25 if batch > 1 else 0.005)
                            r = time_netc(prog, batch, t, est, args.quick,
                                          layers=batch > 1 and not args.layers)
                            estimates[key] = r["median_ms"] / 1e3
                        r.update(round=rnd, batch=batch, engine=engine, threads=t)
                        result["models"][name]["blocks"].append(r)
                        print(f"  {name:15s} b{batch:<3d} {engine:12s} t{t}"
                              f" {r['median_ms']:9.3f} ms", flush=True)

    summarize(result, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {args.json}")


def summarize(result, args):
    """Per model, batch and engine: the median over rounds of each thread
    count's block medians, the best thread count, and the ratios."""
    table = {}
    for name, m in result["models"].items():
        for batch in args.batches:
            for engine in ENGINES:
                best = None
                for t in args.threads:
                    blocks = [b for b in m["blocks"] if b["batch"] == batch
                              and b["engine"] == engine and b["threads"] == t]
                    med = statistics.median(b["median_ms"] for b in blocks)
                    cand = {"threads": t, "median_ms": med,
                            "round_min_ms": min(b["median_ms"] for b in blocks),
                            "round_max_ms": max(b["median_ms"] for b in blocks),
                            "images_per_s": batch / med * 1e3}
                    if engine == "netc":
                        cand["fraction_of_peak"] = statistics.median(
                            b["fraction_of_peak"] for b in blocks)
                        cand["gflops"] = statistics.median(b["gflops"] for b in blocks)
                        cand["sgemm_gflops"] = statistics.median(
                            b["sgemm_gflops"] for b in blocks)
                    if best is None or med < best["median_ms"]:
                        best = cand
                table.setdefault(name, {}).setdefault(batch, {})[engine] = best
    # The SGEMM peak each netc block measured moves with the load, as does
    # the network's own speed; the best peak seen in the whole run, per
    # thread count, is the steadier denominator.
    peak_best = {}
    for m in result["models"].values():
        for b in m["blocks"]:
            if b["engine"] == "netc":
                t = b["threads"]
                peak_best[t] = max(peak_best.get(t, 0), b["sgemm_gflops"])
    for v in table.values():
        for row in v.values():
            n = row["netc"]
            n["fraction_of_best_peak"] = n["gflops"] / peak_best[n["threads"]]
    # Paired ratios: within each round the engines ran minutes apart at
    # most, under about the same load; the median of the per-round ratio
    # (each at the thread count chosen above) is steadier than the ratio of
    # the medians when the load changes between rounds.
    for name, v in table.items():
        blocks = result["models"][name]["blocks"]
        for batch, row in v.items():
            def at(engine, rnd):
                t = row[engine]["threads"]
                return next(b["median_ms"] for b in blocks if b["round"] == rnd
                            and b["batch"] == batch and b["engine"] == engine
                            and b["threads"] == t)
            rounds = sorted({b["round"] for b in blocks})
            row["paired_ratio"] = statistics.median(
                min(at("pytorch", r), at("onnxruntime", r)) / at("netc", r)
                for r in rounds)
    result["sgemm_peak_best"] = {str(t): g for t, g in peak_best.items()}
    result["summary"] = {n: {str(b): e for b, e in v.items()} for n, v in table.items()}
    print()
    print("SGEMM peak, best seen in this run (1024^3, GFLOP/s): " +
          ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.1f}"
                    for t, g in sorted(peak_best.items())))

    for batch in args.batches:
        print()
        if batch == 1:
            print("Batch 1 latency, ms (median of rounds; best thread count in brackets)")
            head = "best peer / netc"
        else:
            print(f"Batch {batch} throughput, images/s (best thread count in brackets)")
            head = "netc / best peer"
        print(f"{'model':22s} {'netc':>12s} {'PyTorch':>12s} {'ORT':>12s}"
              f" {head:>17s} {'paired':>7s} {'netc GFLOP/s':>13s} {'% peak':>7s} {'% best':>7s}")
        for name, v in table.items():
            row = v[batch]
            key = "median_ms" if batch == 1 else "images_per_s"
            fmt = "8.3f" if batch == 1 else "8.1f"
            cells = " ".join(f"{row[e][key]:{fmt}} [{row[e]['threads']}]" for e in ENGINES)
            peer_ms = min(row["pytorch"]["median_ms"], row["onnxruntime"]["median_ms"])
            ratio = peer_ms / row["netc"]["median_ms"]  # same for both views
            n = row["netc"]
            print(f"{name:22s} {cells} {ratio:16.2f}x {row['paired_ratio']:6.2f}x"
                  f" {n['gflops']:13.1f}"
                  f" {100 * n['fraction_of_peak']:6.1f}%"
                  f" {100 * n['fraction_of_best_peak']:6.1f}%")
    print("paired: median over rounds of the same ratio within each round;")
    print("% peak: of the SGEMM peak `prog bench` measured in the same process"
          " (median of rounds);\n% best: of the best SGEMM peak seen in this run.")
    summarize_layers(result, table, peak_best)


# The batch-64 target: convolution layers at 60% of the SGEMM peak.
LAYER_TARGET = 0.60


def summarize_layers(result, table, peak_best):
    """netc's layers at each batch > 1 it timed layer by layer, at the
    model's best thread count: the median over rounds of each layer's
    GFLOP/s, as a fraction of the best SGEMM peak of the run. A layer's
    FLOPs are those of every layer fused into it (a depthwise conv run
    before its 1x1, a shortcut conv); Winograd layers count the direct
    convolution's and may pass 100%."""
    per_layer = {}
    for name, v in table.items():
        blocks = result["models"][name]["blocks"]
        for batch, row in v.items():
            t = row["netc"]["threads"]
            timed = [b for b in blocks if b["engine"] == "netc"
                     and b["batch"] == batch and b["threads"] == t and "layers" in b]
            if not timed:
                continue
            rows = []
            for i, layer in enumerate(timed[0]["layers"]):
                g = statistics.median(b["layers"][i]["gflops"] for b in timed)
                if g <= 0:
                    continue  # no MACs: pools, flatten, softmax
                frac = g / peak_best[t]
                rows.append({"name": layer["name"], "threads": t, "gflops": g,
                             "fraction_of_best_peak": frac,
                             "median_ms": statistics.median(
                                 b["layers"][i]["median_ms"] for b in timed)})
            per_layer.setdefault(name, {})[str(batch)] = rows
    if not per_layer:
        return
    result["layers_summary"] = per_layer
    print()
    print(f"netc per layer (layers with MACs; median of rounds, best thread count;"
          f" % of the best SGEMM peak; * below {100 * LAYER_TARGET:.0f}%)")
    for name, v in per_layer.items():
        for batch, rows in v.items():
            cells = ", ".join(f"{r['name']} {100 * r['fraction_of_best_peak']:.0f}%"
                              + ("*" if r["fraction_of_best_peak"] < LAYER_TARGET else "")
                              for r in rows)
            convs = [r for r in rows if r["name"].startswith(("conv", "dwconv"))]
            low = sum(r["fraction_of_best_peak"] < LAYER_TARGET for r in convs)
            print(f"{name} b{batch} [{rows[0]['threads']}]: {len(convs) - low} of"
                  f" {len(convs)} conv layers at {100 * LAYER_TARGET:.0f}% or more; {cells}")

if __name__ == "__main__":
    main()
