#!/usr/bin/python3
"""Writes the hostile .resnet sources of the bad-input catalogue here.

usage: /usr/bin/python3 tests/bad-inputs/resnet/make_cases.py

Each case NAME.resnet is committed (all under 10 KB); NAME.expected beside
it is the exact stderr resnetc must print (written by hand).  Cases too big
to commit (a 1 MB line) are NAME.gen instead: a shell script that writes the
source to the file named by its argument, run by tests/test_bad_inputs.sh
at test time.  Every case has exactly one error, so its message is the one
line (plus the source line and caret) that resnetc prints.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {}
GEN = {}

BASIC = '''block basic(c, stride=1) {
  conv3x3(c, stride) bn relu
  conv3x3(c) bn
  add(shortcut) relu
}
'''


def net(body, blocks=BASIC, head='global_avgpool fc(10)', inp='input[3, 8, 8]', extra=''):
    return ('%s\nnetwork n : %s {\n%s  stem conv3x3(4) bn relu\n%s  head %s\n}\n'
            % (blocks, inp, extra, body, head)).encode()


def case(data):
    def reg(fn):
        CASES[fn.__name__] = data if not callable(data) else data()
        return fn
    return reg


CASES['empty'] = b''
CASES['only_comments'] = b'# nothing here\n// nor here\n/* nor here */\n'
CASES['unterminated_comment'] = net('  stage basic(4)\n') + b'/* this comment never ends\n'
CASES['unterminated_string'] = b'network n : input[3, 8, 8] {\n  weights "w.safetensors\n}\n'
CASES['syntax_error'] = net('  stage basic(4) x2 )\n')
CASES['missing_brace'] = net('  stage basic(4)\n')[:-2]
CASES['deep_nesting'] = (b'network n : input[3, 8, 8] {\n  let k = ' + b'(' * 4000 + b'1' +
                         b')' * 4000 + b'\n  head fc(10)\n}\n')
CASES['deep_expression'] = (b'network n : input[3, 8, 8] {\n  let k = ' + b'1 + ' * 2000 + b'1\n'
                            b'  head fc(10)\n}\n')
CASES['self_recursive_block'] = net('  stage loop(4)\n', blocks='block loop(c) {\n  conv3x3(c) loop(c)\n}\n')
CASES['mutual_recursion'] = net('  stage ping(4)\n', blocks='block ping(c) {\n  conv3x3(c) pong(c)\n}\n'
                                'block pong(c) {\n  conv3x3(c) ping(c)\n}\n')
CASES['repeat_billion'] = net('  stage basic(4) x1000000000\n')
CASES['repeat_overflow'] = net('  stage basic(4) x99999999999999999999999\n')
CASES['layers_too_many'] = net('  stage basic(4) x9000\n  stage basic(4) x9000\n  stage basic(4) x9000\n')
CASES['non_utf8'] = net('  stage basic(4)\n').replace(b'stage basic', b'stage bas\xffic')
CASES['non_utf8_comment'] = b'# caf\xe9 (latin-1, not UTF-8)\n' + net('  stage basic(4)\n')
CASES['utf8_character'] = net('  stage basic(4)\n').replace(b'stage basic(4)', b'stage basic(4) \xc3\xa4')
CASES['nul_byte'] = net('  stage basic(4)\n').replace(b'stage basic', b'stage \x00basic')
CASES['long_token'] = net('  stage ' + 'b' * 5000 + '(4)\n')
CASES['unknown_layer'] = net('  stage basic(4)\n', head='global_avgpool fully_connected(10)')
CASES['unknown_parameter'] = net('  stage basic(4, strides=2)\n')
CASES['missing_argument'] = net('  stage basic()\n')
CASES['too_many_arguments'] = net('  stage basic(4, 2, 1)\n')
CASES['argument_twice'] = net('  stage basic(4, stride=1, stride=2)\n')
CASES['duplicate_block'] = net('  stage basic(4)\n', blocks=BASIC + BASIC)
CASES['block_named_builtin'] = net('  stage basic(4)\n', blocks=BASIC + 'block relu(c) {\n  conv3x3(c)\n}\n')
CASES['no_network'] = BASIC.encode()
CASES['two_networks'] = net('  stage basic(4)\n') + b'network m : input[3, 8, 8] {\n  head fc(2)\n}\n'
CASES['zero_channels'] = net('  stage basic(0)\n')
CASES['negative_stride'] = net('  stage basic(4, stride=-1)\n')
CASES['huge_channels'] = net('  stage basic(100000000)\n')
CASES['huge_input'] = net('  stage basic(4)\n', inp='input[3, 100000000, 100000000]')
CASES['division_by_zero'] = net('  stage basic(4 / 0)\n')
CASES['integer_overflow'] = net('  stage basic(9223372036854775807 * 2)\n')
CASES['shape_mismatch'] = net('  stage basic(2)\n', extra='  shortcut A\n')   # 4 -> 2 channels
CASES['weights_missing_file'] = b'network n : input[3, 8, 8] {\n  weights "no_such.safetensors"\n  head fc(2)\n}\n'
CASES['weights_absolute'] = b'network n : input[3, 8, 8] {\n  weights "/etc/passwd"\n  head fc(2)\n}\n'
CASES['weights_dotdot'] = b'network n : input[3, 8, 8] {\n  weights "../../../etc/passwd"\n  head fc(2)\n}\n'
CASES['no_weights'] = b'network n : input[3, 8, 8] {\n  head fc(2)\n}\n'

# generated at test time: a 1 MB line (too big to commit)
GEN['long_line'] = ('python3 -c "import sys; sys.stdout.write(\'network n : input[3, 8, 8] {\\\\n  head fc(2) \''
                    ' + \' \' * 1048576 + \')\\\\n}\\\\n\')" > \"$1\"\n')


def main():
    for name, data in CASES.items():
        with open(os.path.join(HERE, name + '.resnet'), 'wb') as f:
            f.write(data)
    for name, sh in GEN.items():
        with open(os.path.join(HERE, name + '.gen'), 'w') as f:
            f.write('# writes the source of case %s to $1 (see make_cases.py)\n' % name + sh)
    print('%d cases, %d generated at test time' % (len(CASES), len(GEN)))


if __name__ == '__main__':
    main()
