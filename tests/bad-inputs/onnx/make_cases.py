#!/usr/bin/python3
"""Writes the hostile ONNX files of the bad-input catalogue into this folder.

usage: /usr/bin/python3 tests/bad-inputs/onnx/make_cases.py

Each case is NAME.onnx (a few hundred bytes, committed; this script is how
they were made and how to remake them), beside NAME.expected, the exact
line resnetc must print (written by hand: it is the specification), and
optionally NAME.args (extra command-line arguments) or data files that the
case reads as external data.  tests/test_bad_inputs.sh runs them all.
Deterministic: running it again gives the same bytes.
"""
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def model(nodes, inputs, outputs, inits=(), opset=13, ir=8, **kw):
    g = helper.make_graph(nodes, 'g', inputs, outputs, initializer=list(inits), **kw)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)],
                          producer_name='bad-inputs')
    m.ir_version = ir
    return m.SerializeToString()


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def w(name, shape, value=0.5, dtype=np.float32):
    return numpy_helper.from_array(np.full(shape, value, dtype=dtype), name)


def relu_model(**kw):
    """x[1,2,4,4] -> Relu -> y: the smallest valid model."""
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 2, 4, 4])], [vi('y', [1, 2, 4, 4])], **kw)


def conv_model(wshape=(4, 2, 3, 3), xshape=(1, 2, 8, 8), attrs=None, winit=None, extra=(),
               opset=13):
    attrs = attrs or {}
    wt = winit if winit is not None else w('W', wshape)
    return model([helper.make_node('Conv', ['x', 'W'], ['y'], name='conv1', **attrs)],
                 [vi('x', list(xshape))], [vi('y', None)], [wt] + list(extra), opset=opset)


def varint(v):
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


# ---- the protobuf layer ---------------------------------------------------

@case
def empty():
    return b''


@case
def garbage_text():
    return b'this is not an ONNX model, it is a text file\n' * 4


@case
def truncated():
    m = conv_model()
    return m[:len(m) * 2 // 3]


@case
def wrong_wire_type():
    # ModelProto.graph (field 7) as a varint instead of a message
    return field(1, 0, varint(8)) + field(7, 0, varint(1234))


@case
def length_past_end():
    # graph declared 1000 bytes long, 3 present
    return field(1, 0, varint(8)) + varint(7 << 3 | 2) + varint(1000) + b'abc'


@case
def varint_overflow():
    return field(1, 0, b'\xff' * 11)


@case
def group_wire_type():
    return field(1, 0, varint(8)) + varint(7 << 3 | 3) + varint(7 << 3 | 4)


@case
def deep_nesting():
    # If-free recursion: a graph attribute inside a node inside a graph... 200 deep
    g = b''
    for _ in range(200):
        attr = field(1, 2, b'then_branch') + field(20, 0, varint(5)) + field(6, 2, g)
        node = field(4, 2, b'If') + field(5, 2, attr)
        g = field(1, 2, node)
    return field(1, 0, varint(8)) + field(7, 2, g)


@case
def no_graph():
    return field(1, 0, varint(8)) + field(2, 2, b'producer')


# ---- versions --------------------------------------------------------------

@case
def opset_too_new():
    return relu_model(opset=99)


@case
def ir_version_too_new():
    return relu_model(ir=99)


@case
def no_opset_import():
    g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',
                          [vi('x', [1, 2])], [vi('y', [1, 2])])
    m = helper.make_model(g)
    del m.opset_import[:]
    m.ir_version = 8
    return m.SerializeToString()


@case
def op_newer_than_opset():
    return model([helper.make_node('HardSwish', ['x'], ['y'], name='hs')],
                 [vi('x', [1, 2])], [vi('y', [1, 2])], opset=13)


# ---- dimensions and sizes ----------------------------------------------------

@case
def negative_dim():
    t = TensorProto(name='W', data_type=F, dims=[4, -2, 3, 3])
    return conv_model(winit=t)


@case
def zero_dim_input():
    return conv_model(xshape=(1, 2, 0, 8))


@case
def huge_dim_input():
    return conv_model(xshape=(1, 2, 1 << 40, 1 << 40))


@case
def size_t_overflow():
    # 2^32 * 2^32 * 16 elements: the element count overflows 64 bits
    t = TensorProto(name='W', data_type=F, dims=[1 << 32, 1 << 32, 16])
    return conv_model(winit=t)


@case
def huge_initializer():
    # declares 2^31 x 2^31 floats (16 EiB): refused from the wire, before unpacking
    t = TensorProto(name='W', data_type=F, dims=[1 << 31, 1 << 31])
    t.raw_data = b'\0' * 16
    return conv_model(winit=t)


@case
def over_max_memory():
    # 1024 x 1024 x 2 floats = 8 MiB of weights with --max-memory 1M
    t = TensorProto(name='W', data_type=F, dims=[1024, 1024, 2])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (('location', 'over_max_memory.bin'),):
        e = t.external_data.add()
        e.key, e.value = k, v
    return conv_model(winit=t)


@case
def raw_data_too_short():
    t = TensorProto(name='W', data_type=F, dims=[4, 2, 3, 3])
    t.raw_data = b'\0' * 100
    return conv_model(winit=t)


@case
def float_data_count():
    t = TensorProto(name='W', data_type=F, dims=[4, 2, 3, 3])
    t.float_data.extend([0.5] * 70)
    return conv_model(winit=t)


@case
def rank_too_high():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1] * 9)], [vi('y', None)])


@case
def dynamic_dim():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 'C', 4, 4])], [vi('y', None)])


@case
def input_without_shape():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [helper.make_tensor_value_info('x', F, None)], [vi('y', None)])


# ---- names and structure ---------------------------------------------------

@case
def missing_initializer():
    return model([helper.make_node('Conv', ['x', 'W'], ['y'], name='conv1')],
                 [vi('x', [1, 2, 8, 8])], [vi('y', None)])


@case
def dangling_output():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 2])], [vi('z', [1, 2])])


@case
def duplicate_output():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu1'),
                  helper.make_node('Sigmoid', ['x'], ['y'], name='sig1')],
                 [vi('x', [1, 2])], [vi('y', [1, 2])])


@case
def duplicate_initializer():
    return conv_model(extra=[w('W', [4, 2, 3, 3])])


@case
def initializer_shadows_output():
    return model([helper.make_node('Relu', ['x'], ['W'], name='relu')],
                 [vi('x', [1, 2])], [vi('W', [1, 2])], [w('W', [1, 2])])


@case
def cycle():
    return model([helper.make_node('Add', ['x', 'b'], ['a'], name='add_a'),
                  helper.make_node('Relu', ['a'], ['b'], name='relu_b')],
                 [vi('x', [1, 2])], [vi('a', [1, 2])])


@case
def self_loop():
    return model([helper.make_node('Add', ['x', 'a'], ['a'], name='add_self')],
                 [vi('x', [1, 2])], [vi('a', [1, 2])])


@case
def no_outputs():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 2])], [])


@case
def input_listed_twice():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 2]), vi('x', [1, 2])], [vi('y', [1, 2])])


@case
def empty_input_name():
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('', [1, 2])], [vi('y', [1, 2])])


# ---- operators ---------------------------------------------------------------

@case
def unsupported_op():
    return model([helper.make_node('LSTM', ['x', 'W', 'R'], ['y'], name='lstm1', hidden_size=4)],
                 [vi('x', [1, 1, 2])], [vi('y', None)], [w('W', [1, 16, 2]), w('R', [1, 16, 4])])


@case
def custom_domain():
    m = model([helper.make_node('FusedConv', ['x'], ['y'], name='fc', domain='com.microsoft')],
              [vi('x', [1, 2])], [vi('y', [1, 2])])
    return m


@case
def subgraph_if():
    then_g = helper.make_graph([helper.make_node('Relu', ['x'], ['t'])], 'then', [], [vi('t', [1, 2])])
    else_g = helper.make_graph([helper.make_node('Sigmoid', ['x'], ['e'])], 'else', [], [vi('e', [1, 2])])
    return model([helper.make_node('If', ['c'], ['y'], name='if1', then_branch=then_g,
                                   else_branch=else_g)],
                 [vi('x', [1, 2]), vi('c', [], TensorProto.BOOL)], [vi('y', [1, 2])])


@case
def subgraph_loop():
    body = helper.make_graph([helper.make_node('Identity', ['cond_in'], ['cond_out']),
                              helper.make_node('Relu', ['v_in'], ['v_out'])], 'body',
                             [vi('i', [], TensorProto.INT64), vi('cond_in', [], TensorProto.BOOL),
                              vi('v_in', [1, 2])],
                             [vi('cond_out', [], TensorProto.BOOL), vi('v_out', [1, 2])])
    return model([helper.make_node('Loop', ['n', 'c', 'x'], ['y'], name='loop1', body=body)],
                 [vi('x', [1, 2]), vi('n', [], TensorProto.INT64), vi('c', [], TensorProto.BOOL)],
                 [vi('y', [1, 2])])


@case
def subgraph_in_known_op():
    g = helper.make_graph([], 'sub', [], [])
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu', body=g)],
                 [vi('x', [1, 2])], [vi('y', [1, 2])])


@case
def unsupported_dtype_input():
    return model(
        [helper.make_node('Relu', ['x'], ['y'], name='relu')],
        [vi('x', [1, 2], TensorProto.COMPLEX64)], [vi('y', None)])


@case
def unsupported_dtype_initializer():
    t = TensorProto(name='W', data_type=TensorProto.COMPLEX128, dims=[4, 2, 3, 3])
    t.raw_data = b'\0' * 72 * 16
    return conv_model(winit=t)


@case
def string_initializer():
    t = TensorProto(name='W', data_type=TensorProto.STRING, dims=[1])
    t.string_data.append(b'abc')
    return conv_model(winit=t)


@case
def sequence_input():
    x = helper.make_tensor_sequence_value_info('x', F, [1, 2])
    return model([helper.make_node('Relu', ['x'], ['y'], name='relu')], [x], [vi('y', None)])


@case
def wrong_input_count():
    return model([helper.make_node('Relu', ['x', 'x'], ['y'], name='relu2')],
                 [vi('x', [1, 2])], [vi('y', [1, 2])])


@case
def unknown_attribute():
    return conv_model(attrs={'kernel_shapes': [3, 3]})


@case
def attribute_wrong_type():
    return conv_model(attrs={'group': 1.5})


@case
def bad_auto_pad():
    return conv_model(attrs={'auto_pad': 'SAME_MIDDLE'})


@case
def odd_pads():
    return conv_model(attrs={'pads': [1, 1, 1]})


@case
def zero_stride():
    return conv_model(attrs={'strides': [0, 1]})


@case
def channel_mismatch():
    return conv_model(wshape=(4, 3, 3, 3))


@case
def group_mismatch():
    return conv_model(wshape=(4, 1, 3, 3), attrs={'group': 3})


@case
def kernel_larger_than_input():
    return conv_model(wshape=(4, 2, 9, 9))


@case
def gemm_mismatch():
    return model([helper.make_node('Gemm', ['x', 'W'], ['y'], name='fc', transB=1)],
                 [vi('x', [1, 8])], [vi('y', None)], [w('W', [10, 7])])


@case
def broadcast_mismatch():
    return model([helper.make_node('Add', ['x', 'b'], ['y'], name='add1')],
                 [vi('x', [1, 3, 4, 4])], [vi('y', None)], [w('b', [2, 1, 1])])


@case
def reshape_bad_size():
    s = numpy_helper.from_array(np.array([5, 7], dtype=np.int64), 'shape')
    return model([helper.make_node('Reshape', ['x', 'shape'], ['y'], name='reshape1')],
                 [vi('x', [1, 2, 4, 4])], [vi('y', None)], [s])


@case
def reshape_runtime_shape():
    return model([helper.make_node('Reshape', ['x', 's'], ['y'], name='reshape1')],
                 [vi('x', [1, 2, 4, 4]), vi('s', [2], TensorProto.INT64)], [vi('y', None)])


@case
def transpose_bad_perm():
    return model([helper.make_node('Transpose', ['x'], ['y'], name='tr', perm=[0, 0, 1])],
                 [vi('x', [1, 2, 3])], [vi('y', None)])


@case
def batchnorm_training():
    inits = [w('s', [2]), w('b', [2]), w('m', [2]), w('v', [2])]
    return model([helper.make_node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'],
                                   name='bn1', training_mode=1)],
                 [vi('x', [1, 2, 4, 4])], [vi('y', None)], inits, opset=15)


@case
def concat_without_axis():
    return model([helper.make_node('Concat', ['x', 'x'], ['y'], name='cat')],
                 [vi('x', [1, 2])], [vi('y', None)])


@case
def gather_out_of_range():
    idx = numpy_helper.from_array(np.array([5], dtype=np.int64), 'idx')
    return model([helper.make_node('Gather', ['c', 'idx'], ['y'], name='gather1', axis=0)],
                 [vi('x', [1, 2])], [vi('y', None)], [w('c', [3]), idx])


@case
def slice_step_zero():
    cs = [numpy_helper.from_array(np.array([v], dtype=np.int64), n)
          for n, v in (('st', 0), ('en', 2), ('ax', 1), ('sp', 0))]
    return model([helper.make_node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['y'], name='slice1')],
                 [vi('x', [1, 4])], [vi('y', None)], cs)


@case
def fold_too_big():
    # ConstantOfShape of 2^40 floats: refused before anything is allocated
    s = numpy_helper.from_array(np.array([1 << 20, 1 << 20], dtype=np.int64), 'shape')
    return model([helper.make_node('ConstantOfShape', ['shape'], ['c'], name='cos1'),
                  helper.make_node('Add', ['x', 'c'], ['y'], name='add1')],
                 [vi('x', [1, 1])], [vi('y', None)], [s])


@case
def fold_total_too_big():
    # eight ConstantOfShape of 256 KiB each: every one fits --max-memory 1M, together they do not
    s = numpy_helper.from_array(np.array([1, 65536], dtype=np.int64), 'shape')
    nodes, prev = [], 'x'
    for i in range(8):
        nodes.append(helper.make_node('ConstantOfShape', ['shape'], ['c%d' % i], name='cos%d' % i))
        nodes.append(helper.make_node('Add', [prev, 'c%d' % i], ['a%d' % i], name='add%d' % i))
        prev = 'a%d' % i
    return model(nodes, [vi('x', [1, 65536])], [vi(prev, None)], [s])


@case
def string_constant():
    return model([helper.make_node('Constant', [], ['c'], name='const1', value_string='hello'),
                  helper.make_node('Relu', ['x'], ['y'], name='relu')],
                 [vi('x', [1, 2])], [vi('y', None)])


@case
def sparse_initializer():
    vals = numpy_helper.from_array(np.array([1.0], dtype=np.float32), 'W')
    idx = numpy_helper.from_array(np.array([0], dtype=np.int64), 'W_idx')
    sp = helper.make_sparse_tensor(vals, idx, [4])
    g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'], name='relu')], 'g',
                          [vi('x', [1, 2])], [vi('y', [1, 2])], sparse_initializer=[sp])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    return m.SerializeToString()


@case
def segmented_tensor():
    t = w('W', [4, 2, 3, 3])
    t.segment.begin, t.segment.end = 0, 72
    return conv_model(winit=t)


# ---- external data -----------------------------------------------------------

def external(loc, offset=None, length=None, shape=(4, 2, 3, 3)):
    t = TensorProto(name='W', data_type=F, dims=list(shape))
    t.data_location = TensorProto.EXTERNAL
    for k, v in (('location', loc), ('offset', offset), ('length', length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return conv_model(winit=t)


@case
def external_absolute():
    return external('/etc/passwd')


@case
def external_dotdot():
    return external('../../../etc/passwd')


@case
def external_dotdot_inside():
    return external('weights/../../secret.bin')


@case
def external_missing():
    return external('no_such_file.bin')


@case
def external_short():
    return external('short_data.bin')        # a 100-byte file, 288 needed


@case
def external_offset_past_end():
    return external('short_data.bin', offset=4096)


@case
def external_bad_offset():
    return external('short_data.bin', offset='-8')


@case
def external_directory():
    return external('.')


@case
def wrong_wire_type_node():
    # NodeProto.op_type (field 4) as a varint inside an otherwise valid model
    node = field(1, 2, b'x') + field(2, 2, b'y') + field(4, 0, varint(3))
    graph = field(1, 2, node) + field(2, 2, b'g')
    return field(1, 0, varint(8)) + field(7, 2, graph) + field(8, 2, field(2, 0, varint(13)))


@case
def negative_dim_input():
    return conv_model(xshape=(1, -3, 8, 8))


@case
def negative_pads():
    return conv_model(attrs={'pads': [-1, 0, 0, 0]})


@case
def huge_kernel_attr():
    return conv_model(attrs={'kernel_shape': [1 << 40, 3]})


@case
def huge_stride():
    # one output row, but a stride the generated code's int cannot hold
    return conv_model(attrs={'strides': [1 << 33, 1]})


@case
def huge_group():
    return conv_model(attrs={'group': 1 << 62})


@case
def huge_activation():
    # 1 x 2 x 2^20 x 2^20 floats: more elements than the generated code indexes
    return conv_model(xshape=(1, 2, 1 << 20, 1 << 20))


@case
def arena_over_max_memory():
    # no weights to speak of, but 8 x 1024 x 1024 floats (32 MiB) of activations
    # between the two convolutions, with --max-memory 1M
    return model([helper.make_node('Conv', ['x', 'W1'], ['h'], name='conv1', pads=[1, 1, 1, 1]),
                  helper.make_node('Relu', ['h'], ['r'], name='relu1'),
                  helper.make_node('Conv', ['r', 'W2'], ['y'], name='conv2')],
                 [vi('x', [1, 1, 1024, 1024])], [vi('y', None)],
                 [w('W1', [8, 1, 3, 3]), w('W2', [1, 8, 1, 1])])


# ---- values --------------------------------------------------------------------

@case
def nan_weights():
    return conv_model(winit=w('W', [4, 2, 3, 3], value=np.nan))


@case
def negative_variance():
    inits = [w('s', [2]), w('b', [2]), w('m', [2]), w('v', [2], value=-1.0)]
    return model([helper.make_node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'],
                                   name='bn1')],
                 [vi('x', [1, 2, 4, 4])], [vi('y', None)], inits)


@case
def inf_weights():
    return conv_model(winit=w('W', [4, 2, 3, 3], value=np.inf))


DATA = {'short_data.bin': b'\x00' * 100}


def main():
    for name, fn in CASES.items():
        with open(os.path.join(HERE, name + '.onnx'), 'wb') as f:
            f.write(fn())
    for name, data in DATA.items():
        with open(os.path.join(HERE, name), 'wb') as f:
            f.write(data)
    print('%d cases' % len(CASES))


if __name__ == '__main__':
    main()
