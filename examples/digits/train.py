#!/usr/bin/python3
"""Train a small ResNet on the 8x8 handwritten digits that Debian's
python3-sklearn ships, and write what the C build is checked against.

usage: /usr/bin/python3 examples/digits/train.py [OUTDIR]
(default: the weights to models/, beside models/digits.resnet, which
describes this network; the rest beside this file)

Data: sklearn/datasets/data/digits.csv.gz from the installed package (1,797
images, 64 pixels in 0..16 then the label per row; nothing is downloaded).
Pixels are scaled to [0,1] and read as a 1x8x8 image.  The split is fixed:
the first 1,437 rows train, the last 360 (20%) are the test split.

Network (tensor names as in torchvision's ResNet state_dict):
    conv1 3x3 1->16, bn1, relu                        8x8
    layer1.0  basic block 16->16                      8x8
    layer2.0  basic block 16->32, stride 2, 1x1 downsample   4x4
    layer3.0  basic block 32->64, stride 2, 1x1 downsample  2x2
    global average pool, fc 64->10

Writes, in OUTDIR:
    digits.safetensors    the weights, BatchNorm kept unfolded (resnetc folds);
                          by default in models/
    digits.onnx           the same network as ONNX (opset 13), for the ONNX way in
    test_images.bin       float32 [360,1,8,8], little-endian, NCHW
    test_labels.bin       uint8 [360]
    torch_logits.bin      float32 [360,10]: PyTorch's logits in eval mode
    torch_predictions.bin uint8 [360]: argmax of those logits
Everything is seeded and runs on one thread, so a rerun on the same torch
gives the same files.
"""
import csv
import gzip
import importlib.util
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N_TEST = 360
EPOCHS = 60
BATCH = 32
WIDTHS = (16, 32, 64)


def digits_csv():
    """The path of digits.csv.gz inside the installed sklearn, without
    importing sklearn (its import is slow and not needed)."""
    spec = importlib.util.find_spec('sklearn')
    if spec is None or not spec.submodule_search_locations:
        sys.exit('train.py: error: python3-sklearn is not installed '
                 '(apt-get install python3-sklearn)')
    for d in spec.submodule_search_locations:
        p = os.path.join(d, 'datasets', 'data', 'digits.csv.gz')
        if os.path.exists(p):
            return p
    sys.exit('train.py: error: sklearn has no datasets/data/digits.csv.gz')


def load_digits():
    with gzip.open(digits_csv(), 'rt') as f:
        rows = [list(map(float, r)) for r in csv.reader(f) if r]
    a = np.array(rows, dtype=np.float32)
    x = (a[:, :64] / 16.0).reshape(-1, 1, 8, 8)   # [N,1,8,8] in [0,1]
    y = a[:, 64].astype(np.int64)
    return x, y


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv3x3-bn-relu-conv3x3-bn, + shortcut, relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(y + s)


class DigitsResNet(nn.Module):
    def __init__(self):
        super().__init__()
        w1, w2, w3 = WIDTHS
        self.conv1 = nn.Conv2d(1, w1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.layer1 = nn.Sequential(BasicBlock(w1, w1, 1))
        self.layer2 = nn.Sequential(BasicBlock(w1, w2, 2))
        self.layer3 = nn.Sequential(BasicBlock(w2, w3, 2))
        self.fc = nn.Linear(w3, 10)

    def forward(self, x):                      # x [N,1,8,8]
        x = F.relu(self.bn1(self.conv1(x)))    # [N,8,8,8]
        x = self.layer3(self.layer2(self.layer1(x)))  # [N,32,2,2]
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # [N,32]
        return self.fc(x)                      # [N,10]


def write_safetensors(path, tensors, metadata):
    """The safetensors format, by hand: an 8-byte little-endian header
    length, a JSON header naming each tensor's dtype, shape and byte range
    in the data that follows, padded with spaces to 8 bytes."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype='<f4')
        b = a.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = metadata
    h = json.dumps(header, sort_keys=True, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else here
    wdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', 'models')
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x, y = load_digits()
    n_train = len(x) - N_TEST
    xtr, ytr = torch.from_numpy(x[:n_train]), torch.from_numpy(y[:n_train])
    xte, yte = torch.from_numpy(x[n_train:]), torch.from_numpy(y[n_train:])

    model = DigitsResNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    g = torch.Generator().manual_seed(1)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(n_train, generator=g)
        total = 0.0
        for i in range(0, n_train, BATCH):
            idx = perm[i:i + BATCH]
            xb = xtr[idx]
            # a one-pixel random shift: the digits are tiny, this is the
            # cheapest augmentation that helps
            dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            print(f'epoch {epoch + 1}: train loss {total / n_train:.4f}')

    model.eval()
    with torch.no_grad():
        logits = model(xte)
    pred = logits.argmax(1)
    correct = int((pred == yte).sum())
    top2 = logits.topk(2, 1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    print(f'PyTorch test accuracy {100.0 * correct / N_TEST:.2f}% ({correct}/{N_TEST}), '
          f'smallest top-1/top-2 logit gap {margin:.4f}')

    sd = {k: v.numpy() for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    write_safetensors(os.path.join(wdir, 'digits.safetensors'), sd,
                      {'format': 'pt', 'source': 'examples/digits/train.py'})
    xte.numpy().astype('<f4').tofile(os.path.join(outdir, 'test_images.bin'))
    yte.numpy().astype(np.uint8).tofile(os.path.join(outdir, 'test_labels.bin'))
    logits.numpy().astype('<f4').tofile(os.path.join(outdir, 'torch_logits.bin'))
    pred.numpy().astype(np.uint8).tofile(os.path.join(outdir, 'torch_predictions.bin'))

    tmp = os.path.join(outdir, 'digits.tmp.onnx')
    torch.onnx.export(model, xte[:1], tmp, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE)
    os.replace(tmp, os.path.join(outdir, 'digits.onnx'))


if __name__ == '__main__':
    main()
