"""kfup's offline NAS trial: builds the network an enas suggestion describes, trains it
briefly on scikit-learn's digits (8x8 grey images, 10 classes, shipped with
scikit-learn: no download) and prints Validation-Accuracy=<v> after each epoch, in
Katib's name=value format.

It takes Katib's ENAS trial flags, so an upstream enas Experiment runs it with only the
image and command changed:

    python3 nas_digits.py --architecture=<the architecture assignment> \
        --nn_config=<the nn_config assignment> --num_epochs=3

(as upstream's template writes them, in double quotes, or without).

The architecture is Katib's: per layer [operation id, skip bit to each earlier layer];
nn_config's embedding says what each id is (convolution, separable_convolution,
depthwise_convolution, reduction, with their parameters). As in Katib's trial, a layer's
input is the previous layer's output concatenated (channels) with what its skip bits
name (bit i: the network's input for i = 0, else layer i-1's output, Katib's
ModelConstructor's reading); inputs of different sizes are pooled to the smallest.

With --synthetic-target=<architecture> it trains nothing and prints, as
Validation-Accuracy, the share of the architecture's decisions (operations and skip
bits) equal to the target's: a task where one architecture is best, to watch the
controller learn in seconds.
"""

import argparse
import json
import sys


def parse(value):
    """Katib's encoding: JSON with ' for ", here maybe still in the template's quotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return json.loads(value.replace("'", '"'))


def synthetic(arch, target):
    hit = total = 0
    for row, want in zip(arch, target):
        for a, b in zip(row, want):
            total += 1
            hit += a == b
    return hit / max(total, 1)


def build(arch, nn_config):
    import torch
    from torch import nn
    import torch.nn.functional as F

    h, w, c = (list(nn_config["input_sizes"]) + [1, 1, 1])[:3]
    classes = nn_config["output_sizes"][-1]
    emb = {int(k): v for k, v in nn_config["embedding"].items()}

    def op_module(cfg, cin):
        kind, p = cfg["opt_type"], cfg["opt_params"]
        k = int(p.get("filter_size", 3))
        s = int(p.get("stride", 1))
        if kind == "convolution":
            cout = int(p["num_filter"])
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2), nn.BatchNorm2d(cout), nn.ReLU()), cout, s
        if kind == "separable_convolution":
            dm, cout = int(p.get("depth_multiplier", 1)), int(p["num_filter"])
            return nn.Sequential(nn.Conv2d(cin, cin * dm, k, s, k // 2, groups=cin), nn.Conv2d(cin * dm, cout, 1),
                                 nn.BatchNorm2d(cout), nn.ReLU()), cout, s
        if kind == "depthwise_convolution":
            dm = int(p.get("depth_multiplier", 1))
            return nn.Sequential(nn.Conv2d(cin, cin * dm, k, s, k // 2, groups=cin), nn.BatchNorm2d(cin * dm), nn.ReLU()), cin * dm, s
        if kind == "reduction":
            size = int(p.get("pool_size", 2))
            pool = nn.MaxPool2d if p.get("reduction_type", "max_pooling") == "max_pooling" else nn.AvgPool2d
            return pool(size, size, ceil_mode=True), cin, size
        raise SystemExit(f"operation type {kind!r} is not one this trial builds")

    # outs[0] is the input, outs[l+1] layer l's output; layer l reads outs[l] and, as in
    # Katib's ModelConstructor, outs[i] for each skip bit i (0 … l-1) that is 1.
    def inputs_of(l, row):
        return [l] + [i for i, b in enumerate(row[1:l + 1]) if b == 1]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ops = nn.ModuleList()
            channels, sizes = [c], [h]
            for l, row in enumerate(arch):
                ins = inputs_of(l, row)
                m, cout, stride = op_module(emb[row[0]], sum(channels[i] for i in ins))
                self.ops.append(m)
                channels.append(cout)
                sizes.append(-(-min(sizes[i] for i in ins) // stride))
            self.head = nn.Linear(channels[-1], classes)
            self.drop = nn.Dropout(0.4)

        def forward(self, x):
            outs = [x]
            for l, row in enumerate(arch):
                ins = [outs[i] for i in inputs_of(l, row)]
                side = min(t.shape[-1] for t in ins)
                ins = [t if t.shape[-1] == side else F.adaptive_avg_pool2d(t, side) for t in ins]
                outs.append(self.ops[l](torch.cat(ins, 1)))
            return self.head(self.drop(outs[-1].mean((2, 3))))

    return Net()


def main():
    ap = argparse.ArgumentParser(description="kfup's NAS trial on scikit-learn's digits")
    ap.add_argument("--architecture", required=True)
    ap.add_argument("--nn_config", default="")
    ap.add_argument("--num_epochs", type=int, default=3)
    ap.add_argument("--synthetic-target", default="")
    args = ap.parse_args()
    arch = parse(args.architecture)
    print(">>> architecture", json.dumps(arch), flush=True)
    if args.synthetic_target:
        print(f"Validation-Accuracy={synthetic(arch, parse(args.synthetic_target)):.6f}", flush=True)
        return

    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.manual_seed(0)
    torch.set_num_threads(1)
    nn_config = parse(args.nn_config)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    xtr, xva, ytr, yva = train_test_split(x, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    xtr, xva = torch.tensor(xtr), torch.tensor(xva)
    ytr, yva = torch.tensor(ytr), torch.tensor(yva)
    net = build(arch, nn_config)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(1, args.num_epochs + 1):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xva).argmax(1) == yva).float().mean().item()
        print(f"epoch {epoch}/{args.num_epochs}", flush=True)
        print(f"Training-Loss={loss.item():.6f}", flush=True)
        print(f"Validation-Accuracy={acc:.6f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
