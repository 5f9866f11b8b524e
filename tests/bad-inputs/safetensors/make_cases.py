#!/usr/bin/python3
"""Writes the hostile safetensors files of the bad-input catalogue here.

usage: /usr/bin/python3 tests/bad-inputs/safetensors/make_cases.py

Each case NAME.safetensors holds weights for tiny.resnet (a 3x3 convolution
with BatchNorm, global average pooling and a 2-way classifier) and is run as
    resnetc tiny.resnet --weights NAME.safetensors -o OUT
(NAME.args), with NAME.expected the exact stderr (written by hand).  The
valid file is what good() writes; every case breaks one thing.  Plain
Python, no library: the bytes are spelled out.  Deterministic.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {}

# the tensors tiny.resnet needs, torchvision names and shapes
TENSORS = [('conv1.weight', [4, 3, 3, 3]), ('bn1.weight', [4]), ('bn1.bias', [4]),
           ('bn1.running_mean', [4]), ('bn1.running_var', [4]),
           ('fc.weight', [2, 4]), ('fc.bias', [2])]


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def header_and_data(tensors=TENSORS, dtype='F32', value=0.25):
    hdr, data = {}, b''
    for name, shape in tensors:
        blob = struct.pack('<%df' % numel(shape), *([value] * numel(shape)))
        hdr[name] = {'dtype': dtype, 'shape': shape,
                     'data_offsets': [len(data), len(data) + len(blob)]}
        data += blob
    return hdr, data


def pack(hdr, data, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(hdr).encode()
    return struct.pack('<Q', len(h)) + h + data


def good():
    return pack(*header_and_data())


# ---- the container ---------------------------------------------------------

@case
def st_empty():
    return b''


@case
def st_short_length():
    return b'\x10\x00\x00'


@case
def header_past_end():
    return struct.pack('<Q', 1000) + b'{"a": 1}'


@case
def header_length_huge():
    return struct.pack('<Q', (1 << 64) - 1) + b'{}'


@case
def invalid_json():
    hdr, data = header_and_data()
    return pack(None, data, b'{"conv1.weight": {"dtype": "F32", "shape": [4, 3, 3, 3],,}}')


@case
def json_not_object():
    return pack(None, b'', b'[1, 2, 3]')


@case
def json_trailing_garbage():
    hdr, data = header_and_data()
    return pack(None, data, json.dumps(hdr).encode() + b' xyz')


@case
def json_bad_escape():
    return pack(None, b'', b'{"a\\q": {"dtype": "F32", "shape": [], "data_offsets": [0, 0]}}')


@case
def json_not_utf8():
    return pack(None, b'', b'{"conv\xff\xfe": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}'
                + b'')


@case
def json_deep_nesting():
    # 100000 nested arrays in the metadata: the parser must not recurse that deep
    return pack(None, b'', b'{"__metadata__": {"k": '
                + b'[' * 100000 + b']' * 100000 + b'}}')


@case
def json_duplicate_key():
    return pack(None, b'\0' * 8, b'{"fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                b' "fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}')


@case
def json_nul_byte():
    return pack(None, b'', b'{"a\x00b": {"dtype": "F32", "shape": [], "data_offsets": [0, 0]}}')


# ---- tensor entries ----------------------------------------------------------

def edit(name, **fields):
    hdr, data = header_and_data()
    hdr[name].update(fields)
    return hdr, data


@case
def overlapping_offsets():
    hdr, data = header_and_data()
    hdr['bn1.bias']['data_offsets'] = [hdr['bn1.weight']['data_offsets'][0] + 8,
                                      hdr['bn1.weight']['data_offsets'][1] + 8]
    return pack(hdr, data)


@case
def offsets_past_end():
    hdr, data = edit('fc.bias', data_offsets=[len(header_and_data()[1]) - 8, 100000])
    return pack(hdr, data)


@case
def offsets_reversed():
    hdr, data = header_and_data()
    b, e = hdr['fc.bias']['data_offsets']
    hdr['fc.bias']['data_offsets'] = [e, b]
    return pack(hdr, data)


@case
def offsets_hole():
    hdr, data = header_and_data()
    return pack(hdr, data + b'\0' * 16)      # 16 bytes no tensor covers


@case
def offsets_overflow():
    return pack(*edit('fc.bias', data_offsets=[0, 99999999999999999999999]))


@case
def offsets_negative():
    return pack(*edit('fc.bias', data_offsets=[-8, 0]))


@case
def offsets_missing():
    hdr, data = header_and_data()
    del hdr['fc.bias']['data_offsets']
    return pack(hdr, data)


@case
def dtype_unknown():
    return pack(*edit('fc.bias', dtype='F128'))


@case
def dtype_size_mismatch():
    # F64 needs 16 bytes for shape [2]; the range has 8
    return pack(*edit('fc.bias', dtype='F64'))


@case
def shape_size_mismatch():
    # [3] floats = 12 bytes, the range has 8
    return pack(*edit('fc.bias', shape=[3]))


@case
def shape_negative():
    return pack(*edit('fc.bias', shape=[-2]))


@case
def shape_overflow():
    return pack(*edit('fc.bias', shape=[1 << 40, 1 << 40, 1 << 40]))


@case
def shape_not_list():
    return pack(*edit('fc.bias', shape='2'))


@case
def shape_rank_too_high():
    return pack(*edit('fc.bias', shape=[1] * 9 + [2]))


# ---- what the network needs -----------------------------------------------------

@case
def weight_missing():
    return pack(*header_and_data(TENSORS[:-1]))


@case
def weight_wrong_shape():
    t = list(TENSORS)
    t[0] = ('conv1.weight', [4, 3, 5, 5])
    return pack(*header_and_data(t))


@case
def weight_wrong_dtype():
    hdr, data = header_and_data()
    # I32 data of the right byte size for fc.bias
    hdr['fc.bias']['dtype'] = 'I32'
    return pack(hdr, data)


@case
def weight_extra():
    t = TENSORS + [('layer9.conv.weight', [1])]
    return pack(*header_and_data(t))


@case
def weight_nan():
    return pack(*header_and_data(value=float('nan')))


def main():
    for name, fn in CASES.items():
        with open(os.path.join(HERE, name + '.safetensors'), 'wb') as f:
            f.write(fn())
        with open(os.path.join(HERE, name + '.args'), 'w') as f:
            f.write('tiny.resnet --weights %s.safetensors\n' % name)
    with open(os.path.join(HERE, 'tiny.safetensors'), 'wb') as f:
        f.write(good())
    print('%d cases' % len(CASES))


if __name__ == '__main__':
    main()
