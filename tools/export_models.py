#!/usr/bin/python3
"""Export reference ResNets to ONNX, with their PyTorch input and output.

usage: /usr/bin/python3 tools/export_models.py OUTDIR SPEC [SPEC ...]

SPEC is NAME, or NAME with options: NAME:opset=N (ONNX opset, default 13)
and NAME:batch=B (the batch dimension exported as dynamic, the input and the
reference output computed for batch B), e.g. cifar_resnet20:opset=17:batch=2.
Writes OUTDIR/STEM.onnx, OUTDIR/STEM.input.bin and OUTDIR/STEM.output.bin
(raw little-endian float32: NCHW input, logits output), where STEM is the
SPEC with ':' as '_' and '=' dropped (cifar_resnet20_opset17_batch2).  Needs Debian's
python3-torch, python3-torchvision and python3-onnx.  No pretrained weights:
each model is initialised from a fixed seed and its BatchNorm statistics
are randomised so that folding them is not a no-op; BatchNormalization
nodes are kept in the ONNX file (folding them is resnetc's job).
The end-to-end tests call this for the models that ../shared lacks.
"""
import os
import sys
import warnings

import torch
import torch.nn as nn
import torchvision

class CifarBlock(nn.Module):
    """Basic block of the CIFAR-10 ResNets (He et al. 2015, sec. 4.2), option A."""
    def __init__(self, cin, cout, stride, residual):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.residual, self.stride, self.pad = residual, stride, cout - cin

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        if self.residual:
            s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
            if self.pad:   # option A: zero-padded channels, half on each side
                s = nn.functional.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            y = y + s
        return torch.relu(y)


class CifarNet(nn.Module):
    """The 6n+2-layer CIFAR-10 networks: 16, 32, 64 filters on 32, 16, 8 maps."""
    def __init__(self, depth, residual=True, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        layers, cin = [], 16
        for i, c in enumerate((16, 32, 64)):
            for j in range(n):
                layers.append(CifarBlock(cin, c, 2 if (i > 0 and j == 0) else 1, residual))
                cin = c
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    'cifar_resnet20': (lambda: CifarNet(20), 32),
    'cifar_resnet56': (lambda: CifarNet(56), 32),
    'cifar_resnet110': (lambda: CifarNet(110), 32),
    'cifar_plain20': (lambda: CifarNet(20, residual=False), 32),
    'resnet18': (torchvision.models.resnet18, 224),
    'resnet34': (torchvision.models.resnet34, 224),
    'resnet50': (torchvision.models.resnet50, 224),
    'resnet101': (torchvision.models.resnet101, 224),
    'resnet152': (torchvision.models.resnet152, 224),
    'resnext50_32x4d': (torchvision.models.resnext50_32x4d, 224),
    'wide_resnet50_2': (torchvision.models.wide_resnet50_2, 224),
}


def randomise_bn(model, g):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def build(name, batch=1):
    """The model with its seeded weights, and its input (used by bench/ too)."""
    make, hw = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    g = torch.Generator().manual_seed(1)
    randomise_bn(model, g)
    return model, torch.rand(batch, 3, hw, hw, generator=g)


def parse_spec(spec):
    """'name:opset=N:batch=B' -> (name, stem, opset, batch, dynamic), or exit."""
    name, *opts = spec.split(':')
    if name not in MODELS:
        sys.exit('export_models.py: unknown model %r (known: %s)' % (name, ', '.join(MODELS)))
    vals = {'opset': 13, 'batch': 1}
    for o in opts:
        k, _, v = o.partition('=')
        if k not in vals or not v.isdigit():
            sys.exit('export_models.py: bad option %r in %r (opset=N, batch=B)' % (o, spec))
        vals[k] = int(v)
    stem = spec.replace(':', '_').replace('=', '')
    dynamic = any(o.startswith('batch=') for o in opts)
    return name, stem, vals['opset'], vals['batch'], dynamic


def export(spec, outdir):
    name, stem, opset, batch, dynamic = parse_spec(spec)
    model, x = build(name, batch)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(outdir, stem)
    tmp = path + '.tmp.onnx'
    axes = {'input': {0: 'N'}, 'logits': {0: 'N'}} if dynamic else None
    torch.onnx.export(model, x, tmp, opset_version=opset,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes=axes, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE)
    x.numpy().astype('<f4').tofile(path + '.input.bin')
    y.numpy().astype('<f4').tofile(path + '.output.bin')
    os.replace(tmp, path + '.onnx')   # the .onnx appears last: its presence means complete
    print(stem, tuple(x.shape), '->', tuple(y.shape), os.path.getsize(path + '.onnx'), 'bytes')


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit('usage: export_models.py OUTDIR NAME[:opset=N][:batch=B]...  (NAME in %s)'
                 % ', '.join(MODELS))
    for spec in sys.argv[2:]:
        parse_spec(spec)      # every spec checked before the first export
    os.makedirs(sys.argv[1], exist_ok=True)
    # torch.onnx's advice on constant folding in PRESERVE mode and on Slice
    # steps concerns training graphs: noise here
    warnings.filterwarnings('ignore', category=UserWarning)
    torch.set_num_threads(2)
    for n in sys.argv[2:]:
        export(n, sys.argv[1])
