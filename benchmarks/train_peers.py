#!/usr/bin/python3
"""PyTorch (CPU) twins of netc's training runs: the book's recipes on real
data (accuracy) and training throughput on synthetic data (bench).

Run with Debian's /usr/bin/python3 (python3-torch); the pyenv python3 on
PATH has no torch.

  train_peers.py accuracy --model mnist_mlp --epochs 10 --seed 1 [--limit N]
  train_peers.py bench --model mnist_cnn --steps 200 --batch 32 [--json]
  train_peers.py data --model cifar_bn_cnn --images 1280 --out DIR

Models match dsl-examples/*.net: Keras initialization (Glorot-uniform
kernels, zero biases; batch norm gamma 1, beta 0, eps 1e-3, momentum 0.99),
softmax cross-entropy, the train section's optimizer (plain SGD without
momentum, or Adam with Keras' eps 1e-7) and batch. `accuracy` reads
Fashion-MNIST's IDX files, scales pixels by 1/255, shuffles every epoch
and prints 'test accuracy: 0.xxxx' as netc's `train` does.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

# PyTorch's convolutions and linear layers call OpenBLAS inside its own OpenMP
# threads: OpenBLAS' own threads on top only oversubscribe the cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"


def glorot(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def bn(c):
    # Keras BatchNormalization defaults: epsilon 1e-3, momentum 0.99.
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MnistMLP(nn.Module):
    """784 -> 3 x dense(128, relu) -> dense(10) (softmax in the loss)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                                  nn.Linear(128, 128), nn.ReLU(),
                                  nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.body(x)


class MnistCNN(nn.Module):
    """conv64, conv64, maxpool 2, conv128, conv128 (3x3 same, relu), dense."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(14 * 14 * 128, 10))

    def forward(self, x):
        # Keras flattens NHWC; the order only permutes the dense weights.
        return self.body(x)


class CifarBnCNN(nn.Module):
    """3 x (bn, relu, conv f) for f in 64, 128, 256, max pools between."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for f in (64, 128, 256):
            if f > 64:
                layers.append(nn.MaxPool2d(2))
            for _ in range(3):
                layers += [bn(cin), nn.ReLU(), nn.Conv2d(cin, f, 3, padding=1)]
                cin = f
        layers += [nn.Dropout(0.25), nn.AvgPool2d(8), nn.Flatten(), nn.Linear(256, 10)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class ResUnit(nn.Module):
    def __init__(self, cin, f, pool):
        super().__init__()
        self.pool = pool
        self.res = nn.Conv2d(cin, f, 1, stride=2) if pool else None
        self.a = nn.Sequential(bn(cin), nn.ReLU(), nn.Conv2d(cin, f, 3, padding=1))
        self.b = nn.Sequential(bn(f), nn.ReLU(), nn.Conv2d(f, f, 3, padding=1))

    def forward(self, x):
        res = x
        if self.pool:
            res = self.res(x)
            x = F.max_pool2d(x, 2)
        return res + self.b(self.a(x))


class ResnetMini(nn.Module):
    def __init__(self):
        super().__init__()
        units, cin = [nn.Conv2d(3, 32, 3, padding=1)], 32
        units += [ResUnit(32, 32, False) for _ in range(3)]
        for f in (64, 128, 256):
            units.append(ResUnit(cin, f, True))
            cin = f
            units += [ResUnit(f, f, False) for _ in range(2)]
        units += [bn(256), nn.ReLU(), nn.Dropout(0.25), nn.AvgPool2d(4), nn.Flatten(),
                  nn.Linear(256, 10)]
        self.body = nn.Sequential(*units)

    def forward(self, x):
        return self.body(x)


# name: (class, input shape CHW, optimizer, lr, batch) as the train sections say.
MODELS = {
    "mnist_mlp": (MnistMLP, (1, 28, 28), "sgd", 0.01, 32),
    "mnist_cnn": (MnistCNN, (1, 28, 28), "sgd", 0.1, 32),
    "cifar_bn_cnn": (CifarBnCNN, (3, 32, 32), "adam", 0.001, 128),
    "resnet_mini": (ResnetMini, (3, 32, 32), "adam", 0.001, 128),
}


def make(name, seed, lr=None):
    cls, shape, opt, lr0, batch = MODELS[name]
    torch.manual_seed(seed)
    model = cls()
    model.apply(glorot)
    lr = lr0 if lr is None else lr
    if opt == "sgd":
        o = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        o = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    return model, o, shape, batch


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    t = torch.frombuffer(bytearray(data[4 + 4 * nd:]), dtype=torch.uint8)
    return t.reshape(dims)


def fashion(split, limit):
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(FASHION, pre + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FASHION, pre + "-labels-idx1-ubyte.gz"))
    if limit:
        x, y = x[:limit], y[:limit]
    return x.float().div_(255.0).unsqueeze(1), y.long()


def step_lr(lr0, epoch):  # epoch from 0, as Keras passes it
    """The book's lr_schedule: lr0, x0.2 after 5 epochs, x0.1 after 10, x0.01 after 15."""
    if epoch > 15:
        return lr0 * 0.01
    if epoch > 10:
        return lr0 * 0.1
    if epoch > 5:
        return lr0 * 0.2
    return lr0


def accuracy(a):
    torch.set_num_threads(a.threads)
    model, opt, _, batch = make(a.model, a.seed, a.lr)
    batch = a.batch or batch
    x, y = fashion("train", a.limit)
    xt, yt = fashion("test", a.limit)
    g = torch.Generator().manual_seed(a.seed)
    n = x.shape[0]
    t0 = time.time()
    for epoch in range(1, a.epochs + 1):
        lr = step_lr(a.lr or MODELS[a.model][3], epoch - 1) if a.schedule == "step" else opt.param_groups[0]["lr"]
        for pg in opt.param_groups:
            pg["lr"] = lr
        model.train()
        perm = torch.randperm(n, generator=g)
        tot, correct, te = 0.0, 0, time.time()
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * idx.numel()
            correct += (out.argmax(1) == y[idx]).sum().item()
        print("epoch %d/%d lr %g - %.0fs - loss: %.4f - acc: %.4f" %
              (epoch, a.epochs, lr, time.time() - te, tot / n, correct / n), flush=True)
    model.eval()
    with torch.no_grad():
        hits = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                   for i in range(0, xt.shape[0], 1000))
    print("train seconds: %.1f" % (time.time() - t0))
    print("test accuracy: %.4f" % (hits / xt.shape[0]))


def bench(a):
    torch.set_num_threads(a.threads)
    model, opt, shape, batch = make(a.model, a.seed)
    batch = a.batch or batch
    g = torch.Generator().manual_seed(a.seed)
    nimg = batch * min(a.steps, 64)
    x = torch.rand((nimg,) + shape, generator=g)
    y = torch.randint(0, 10, (nimg,), generator=g)
    model.train()

    def run(steps):
        for s in range(steps):
            i = (s * batch) % nimg
            loss = F.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()

    run(min(3, a.steps))  # warm-up
    t0 = time.perf_counter()
    run(a.steps)
    dt = time.perf_counter() - t0
    ips = a.steps * batch / dt
    if a.json:
        print(json.dumps({"model": a.model, "batch": batch, "steps": a.steps,
                          "threads": a.threads, "seconds": dt, "images_per_s": ips}))
    else:
        print("%s: %d steps of batch %d in %.2f s: %.1f images/s" % (a.model, a.steps, batch, dt, ips))


def write_data(a):
    """Random images and labels in the format netc's `train --data` reads:
    an IDX pair (train-images-idx3-ubyte, train-labels-idx1-ubyte) in DIR for
    28x28x1 models, DIR/data_batch_1.bin (CIFAR-10 records) for 32x32x3."""
    _, shape, _, _, _ = MODELS[a.model]
    g = torch.Generator().manual_seed(a.seed)
    n = a.images
    x = torch.randint(0, 256, (n,) + shape, generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
    os.makedirs(a.out, exist_ok=True)
    if shape[0] == 1:
        with open(os.path.join(a.out, "train-images-idx3-ubyte"), "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, shape[1], shape[2]))
            f.write(x.numpy().tobytes())
        with open(os.path.join(a.out, "train-labels-idx1-ubyte"), "wb") as f:
            f.write(struct.pack(">II", 0x801, n))
            f.write(y.numpy().tobytes())
    else:
        rec = torch.cat([y.unsqueeze(1), x.reshape(n, -1)], 1)  # label, then R, G, B planes
        with open(os.path.join(a.out, "data_batch_1.bin"), "wb") as f:
            f.write(rec.numpy().tobytes())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("accuracy", "bench"):
        s = sub.add_parser(name)
        s.add_argument("--model", choices=sorted(MODELS), required=True)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--batch", type=int, default=0, help="default: the train section's")
        s.add_argument("--threads", type=int, default=2)
    s = sub.choices["accuracy"]
    s.add_argument("--epochs", type=int, default=10)
    s.add_argument("--lr", type=float, default=None)
    s.add_argument("--schedule", choices=("constant", "step"), default="constant")
    s.add_argument("--limit", type=int, default=0, help="first N images of each split")
    s = sub.choices["bench"]
    s.add_argument("--steps", type=int, default=100)
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("data")
    s.add_argument("--model", choices=sorted(MODELS), required=True)
    s.add_argument("--images", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", required=True)
    a = p.parse_args()
    {"accuracy": accuracy, "bench": bench, "data": write_data}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
