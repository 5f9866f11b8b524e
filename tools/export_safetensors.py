#!/usr/bin/python3
"""Export PyTorch ResNets' weights to safetensors, for the .resnet tests.

usage: /usr/bin/python3 tools/export_safetensors.py OUTDIR NAME [NAME ...]

NAME is the models/NAME.resnet the weights are for:
  resnet18        torchvision.models.resnet18
  resnet50_v1_5   torchvision.models.resnet50 (torchvision's is v1.5)
  cifar_resnet20  the CIFAR-10 ResNet-20 of He et al. 2015, section 4.2,
                  option A shortcuts: the definition of tools/export_models.py
                  in ../shared, with torchvision's module names (conv1, bn1,
                  layerS.I.conv1, fc) as models/cifar_resnet20.resnet uses

Writes OUTDIR/NAME.safetensors (the state_dict in float32, without the
num_batches_tracked counters), NAME.input.bin and NAME.output.bin (raw
little-endian float32: NCHW input, logits), and for resnet18 also
NAME.onnx (torch.onnx.export of the same model, BatchNormalization kept),
for the test that the DSL and the ONNX front end compile to the same thing.

No pretrained weights: every model is initialised from a fixed seed and its
BatchNorm statistics are randomised (as tools/export_models.py does), so
that folding them is not a no-op.  The safetensors file is written by hand
(8-byte length, JSON header, data): Debian has no safetensors package.
The .safetensors file appears last, by rename: its presence means complete.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torchvision


class CifarBlock(nn.Module):
    """Basic block of the CIFAR-10 ResNets, option A shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            s = nn.functional.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return torch.relu(y + s)


class CifarResNet(nn.Module):
    def __init__(self, depth, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, c in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                blocks.append(CifarBlock(cin, c, 2 if (i > 0 and j == 0) else 1))
                cin = c
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    'resnet18': (torchvision.models.resnet18, 224, True),
    'resnet50_v1_5': (torchvision.models.resnet50, 224, False),
    'cifar_resnet20': (lambda: CifarResNet(20), 32, False),
}


def randomise_bn(model, g):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 tensor).  Header padded with spaces to
    a multiple of 8 bytes, as the reference implementation does."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def export(name, outdir):
    make, hw, with_onnx = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    g = torch.Generator().manual_seed(1)
    randomise_bn(model, g)
    x = torch.rand(1, 3, hw, hw, generator=g)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(outdir, name)
    x.numpy().astype('<f4').tofile(path + '.input.bin')
    y.numpy().astype('<f4').tofile(path + '.output.bin')
    if with_onnx:
        torch.onnx.export(model, x, path + '.tmp.onnx', opset_version=13,
                          input_names=['input'], output_names=['logits'],
                          do_constant_folding=True,
                          training=torch.onnx.TrainingMode.PRESERVE)
        os.replace(path + '.tmp.onnx', path + '.onnx')
    sd = [(k, v) for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')]
    write_safetensors(path + '.tmp.safetensors', sd)
    os.replace(path + '.tmp.safetensors', path + '.safetensors')
    print(name, tuple(x.shape), '->', tuple(y.shape), len(sd), 'tensors')


if __name__ == '__main__':
    if len(sys.argv) < 3 or any(n not in MODELS for n in sys.argv[2:]):
        sys.exit('usage: export_safetensors.py OUTDIR NAME...  (NAME in %s)' % ', '.join(MODELS))
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.set_num_threads(2)
    for n in sys.argv[2:]:
        export(n, sys.argv[1])
