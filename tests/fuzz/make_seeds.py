#!/usr/bin/python3
"""Builds the seed corpus of a fuzz target in a scratch folder (nothing is
copied into the repository).

usage: /usr/bin/python3 tests/fuzz/make_seeds.py TARGET OUTDIR [SHARED_DIR]

TARGET onnx: every ONNX backend test model of SHARED_DIR/onnx-tests under
  256 KiB (one node each, all the ops and opsets resnetc reads), and a
  "light" copy of each of the project's own models (SHARED_DIR/models,
  examples/, models/): the same graph with every initializer of more than
  16 elements replaced by a ConstantOfShape node of its shape, as ONNX's
  own light models do, so a seed is a few KiB and a mutation lands in the
  graph rather than in the weights.
TARGET resnet: the project's .resnet sources (models/, examples/, tests/).
TARGET safetensors: the project's .safetensors files, each cut down to its
  header plus tensors truncated to 16 elements (header offsets rewritten).
The committed hand-made seeds (tests/fuzz/seeds/TARGET/) and the hostile
inputs of the catalogue (tests/bad-inputs/TARGET/) are added too.
SHARED_DIR defaults to ../shared beside the repository.
"""
import glob
import hashlib
import json
import os
import shutil
import struct
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
MAX_SEED = 256 * 1024


def put(outdir, data, tag):
    """Writes data under a content-hash name (deduplicated)."""
    if len(data) > MAX_SEED:
        return 0
    h = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(outdir, '%s-%s' % (tag, h)), 'wb') as f:
        f.write(data)
    return 1


def light_onnx(path):
    """The model with big initializers turned into ConstantOfShape nodes."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(path, load_external_data=False)
    g = m.graph
    keep, nodes = [], []
    for init in g.initializer:
        n = 1
        for d in init.dims:
            n *= d
        if n <= 16 or init.data_type != TensorProto.FLOAT:
            keep.append(init)
            continue
        shape = helper.make_tensor(init.name + '_shape', TensorProto.INT64, [len(init.dims)],
                                   list(init.dims))
        keep.append(shape)
        value = helper.make_tensor('value', TensorProto.FLOAT, [1], [0.01])
        nodes.append(helper.make_node('ConstantOfShape', [shape.name], [init.name],
                                      name=init.name + '_cos', value=value))
    del g.initializer[:]
    g.initializer.extend(keep)
    # initializers listed as graph inputs (IR 3) must go now that nodes make them
    made = {n.output[0] for n in nodes}
    inputs = [i for i in g.input if i.name not in made]
    del g.input[:]
    g.input.extend(inputs)
    old = list(g.node)
    del g.node[:]
    g.node.extend(nodes + old)
    # ConstantOfShape needs opset >= 9
    for imp in m.opset_import:
        if imp.domain in ('', 'ai.onnx') and imp.version < 9:
            imp.version = 9
    return m.SerializeToString()


def small_safetensors(path):
    """Header + each tensor cut to its first 16 elements (shape [16] or less)."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    sizes = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2,
             'I8': 1, 'U8': 1, 'BOOL': 1}
    out, data = {}, b''
    for k, v in hdr.items():
        if k == '__metadata__':
            out[k] = v
            continue
        es = sizes.get(v['dtype'], 1)
        b, e = v['data_offsets']
        cnt = min(16, (e - b) // es)
        chunk = body[b:b + cnt * es]
        out[k] = {'dtype': v['dtype'], 'shape': [cnt], 'data_offsets': [len(data), len(data) + len(chunk)]}
        data += chunk
    h = json.dumps(out, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    return struct.pack('<Q', len(h)) + h + data


def project_files(ext):
    found = []
    for d in ('models', 'examples', 'tests'):
        found += glob.glob(os.path.join(ROOT, d, '**', '*' + ext), recursive=True)
    # tests/fuzz/pending/: known open bugs (an out-of-memory seed would stop every run)
    return sorted(p for p in found if '/fuzz/pending/' not in p)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ('onnx', 'resnet', 'safetensors'):
        sys.exit(__doc__)
    target, outdir = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, '..', 'shared')
    os.makedirs(outdir, exist_ok=True)
    count = 0
    if target == 'onnx':
        for p in sorted(glob.glob(os.path.join(shared, 'onnx-tests', '**', '*.onnx'), recursive=True)):
            with open(p, 'rb') as f:
                count += put(outdir, f.read(), 'test')
        own = sorted(glob.glob(os.path.join(shared, 'models', '*.onnx'))) + project_files('.onnx')
        for p in own:
            if '/bad-inputs/' in p:
                continue
            try:
                count += put(outdir, light_onnx(p), 'light')
            except Exception as e:          # a model onnx cannot read: skip it
                print('skipped %s: %s' % (p, e), file=sys.stderr)
    elif target == 'resnet':
        for p in project_files('.resnet'):
            if '/bad-inputs/' in p:
                continue
            with open(p, 'rb') as f:
                count += put(outdir, f.read(), 'src')
    else:
        for p in project_files('.safetensors'):
            if '/bad-inputs/' in p:
                continue
            count += put(outdir, small_safetensors(p), 'st')
    hand = glob.glob(os.path.join(ROOT, 'tests', 'fuzz', 'seeds', target, '*'))
    ext = {'onnx': '.onnx', 'resnet': '.resnet', 'safetensors': '.safetensors'}[target]
    hand += glob.glob(os.path.join(ROOT, 'tests', 'bad-inputs', target, '*' + ext))
    for p in sorted(hand):
        with open(p, 'rb') as f:
            count += put(outdir, f.read(), 'hand')
    print('%d seeds in %s' % (count, outdir))


if __name__ == '__main__':
    main()
