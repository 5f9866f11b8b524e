#!/usr/bin/python3
"""bench.py - resnetc against ONNX Runtime and PyTorch, in one invocation.

usage: /usr/bin/python3 bench/bench.py [--rounds R] [--runs N] [--models a,b]
                                       [--out BENCHMARKS.md]
(or simply `bench/run.sh`, which installs onnxruntime-node first).

For each model (default: cifar_resnet56, resnet18, resnet50; torchvision's
definitions with seeded random weights, tools/export_models.py):
  - resnetc: the ONNX file compiled with build/resnetc (-O2); the generated
    driver (its Makefile: cc -O3 -march=native) checks the output, and the
    same files with the same flags, built as a shared library, are timed
    here: NAME_run() called through ctypes (the call costs about a
    microsecond);
  - ONNX Runtime: onnxruntime-node (CPU, all graph optimisations), one
    intra-op thread, bench/ort_serve.js;
  - PyTorch: the same model, TorchScript traced, frozen and optimised for
    inference, one thread (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset).
The engines run interleaved: every round gives each engine N runs in turn
(default: 1), the order rotating from round to round, so the shared
machine's slow and fast spells (they come and go within seconds and can
halve the speed) fall on all engines alike.  Reported: median and min ms
over all runs, the ratio resnetc / ONNX Runtime of the medians and the median
of the ratios of pairs (a round's resnetc and ORT runs), GFLOP/s
(2 x multiply-adds / median) and % of the single-core FMA peak measured by
bench/peak.c when present.  Every engine's logits are checked against
PyTorch's first.  Writes BENCHMARKS.md.
"""
import argparse, ctypes, json, os, platform, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools'))


def aligned(src, align=64):
    """A 64-byte aligned uint8 array: a copy of the array src, or src zero bytes."""
    import numpy as np
    n = src if isinstance(src, int) else src.nbytes
    raw = np.zeros(n + align, np.uint8)
    off = (-raw.ctypes.data) % align
    buf = raw[off:off + n]
    if not isinstance(src, int):
        buf[:] = src.view(np.uint8).ravel()
    return buf


PROFILE_LINE = re.compile(r"^\s*\d+\s+([0-9.]+)\s+[0-9.]+\s+([0-9.]+)\s+[0-9.]+%\s+\d+\s+\d+ Conv '([^']*)': "
                          r"\[1,(\d+),(\d+),(\d+)\] \[(\d+),\d+,3,3\].*-> \[1,\d+,(\d+),(\d+)\]", re.M)


def direct_profile(model, prof_exe, inp, top, budget=30.0):
    """The stride-1 3x3 convs of one profile build: each layer's best mean
    time over the runs of `budget` seconds (`NAME_profile --bench 3`, so
    four calls per run), against the best FMA peak seen (top: measured
    before; every run's profile measures it again).  The shared machine has
    spells, from a fraction of a second to minutes, in which the FMA loop,
    or only the memory-bound part of a conv, runs at two thirds of its speed
    or less; sampling for a while and keeping the best finds the fast
    spells, and dividing by the best peak keeps the share conservative.
    Returns ({layer: row}, runs)."""
    runs, best, t_end = 0, {}, time.time() + budget
    while time.time() < t_end or runs < 3:
        prof = sh(f'{prof_exe} --bench 3 {inp}')
        top = max(top, float(re.search(r'peak ([0-9.]+) GFLOP/s', prof).group(1)))
        runs += 1
        for m in PROFILE_LINE.finditer(prof):
            ms, gf, lname, c, h, w, k, oh, ow = m.groups()
            if (h, w) == (oh, ow) and (lname not in best or float(ms) < best[lname]['ms']):
                best[lname] = dict(model=model, layer=lname, shape=f'{c} -> {k}, {h}x{w}', ms=float(ms),
                                   gf=float(gf))
    for r in best.values():
        r['pct'] = 100 * r['gf'] / top
    return best, runs


def timed(f, n):
    """n calls of f(), each timed, in ms."""
    ts = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        f()
        ts.append((time.perf_counter_ns() - t0) / 1e6)
    return ts


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw).stdout


def cpu_name():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def cpu_flags():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('flags'):
                have = line.split(':', 1)[1].split()
                return ', '.join(f for f in ('avx512f', 'avx512_vnni', 'avx512_bf16', 'avx2', 'fma') if f in have)
    except OSError:
        pass
    return 'flags unknown'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=200)
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--models', default='cifar_resnet56,resnet18,resnet50')
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'BENCHMARKS.md'))
    a = ap.parse_args()
    for v in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
        os.environ.pop(v, None)
    import numpy as np
    import torch
    import export_models
    torch.set_num_threads(1)
    work = os.path.join(a.build, 'bench')
    os.makedirs(work, exist_ok=True)
    resnetc = os.path.join(a.build, 'resnetc')

    peak = None
    peak_c = os.path.join(HERE, 'peak.c')
    if os.path.exists(peak_c):
        sh(f'cc -O2 -march=native -o {work}/peak {peak_c} -lm')
        m = re.search(r'([0-9.]+)\s*GFLOP', sh(f'{work}/peak'))
        peak = float(m.group(1)) if m else None

    load0 = os.getloadavg()[0]
    rows, direct, memory, profile_runs = [], [], [], {}
    for name in a.models.split(','):
        d = os.path.join(work, name)
        onnx = os.path.join(work, name + '.onnx')
        if not os.path.exists(onnx):
            export_models.export(name, work)
        inp = os.path.join(work, name + '.input.bin')
        ref = np.fromfile(os.path.join(work, name + '.output.bin'), '<f4')
        macs = int(re.search(r'([0-9,]+) multiply-adds', sh(f'{resnetc} --summary {onnx}')).group(1).replace(',', ''))
        sh(f'{resnetc} {onnx} -o {d} --name {name} -q && make -s -C {d}')
        exe = os.path.join(d, name)
        sh(f'{exe} {inp} {d}/out.bin')
        err = {'resnetc': float(np.abs(np.fromfile(f'{d}/out.bin', '<f4') - ref).max() / np.abs(ref).max())}

        ort = subprocess.Popen(['node', os.path.join(HERE, 'ort_serve.js'), onnx, inp, '1'],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, NODE_PATH=os.path.join(HERE, 'node_modules')))
        hello = json.loads(ort.stdout.readline())
        ort_version = hello['version']
        err['onnxruntime'] = float(np.abs(np.array(hello['output'], 'f4') - ref).max() / np.abs(ref).max())

        model, x = export_models.build(name)
        with torch.no_grad():
            ts_model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
            for _ in range(3):
                y = ts_model(x)
        err['pytorch'] = float(np.abs(y.numpy().ravel() - ref).max() / np.abs(ref).max())

        # the generated files as a shared library, with the Makefile's flags
        hdr = open(os.path.join(d, name + '.h')).read()
        define = lambda key: int(re.search(r'#define %s_%s (\d+)' % (name, key), hdr).group(1))
        cflags = re.search(r'^CFLAGS \?= (.*)$', open(os.path.join(d, 'Makefile')).read(), re.M).group(1)
        srcs = ' '.join(os.path.join(d, f) for f in (name + '.c', name + '_weights.c')
                        if os.path.exists(os.path.join(d, f)))
        sh(f'cc {cflags} -fPIC -shared -o {d}/lib{name}.so {srcs}')
        lib = ctypes.CDLL(os.path.join(d, f'lib{name}.so'))
        crun = getattr(lib, name + '_run')
        crun.restype = ctypes.c_int
        crun.argtypes = [ctypes.c_void_p] * 4
        xin, abuf, yout = aligned(np.fromfile(inp, np.uint8)), aligned(max(define('ARENA_BYTES'), 1)), \
            aligned(4 * define('OUT0_NUMEL'))
        wfile = os.path.join(d, name + '.weights')
        wts = aligned(np.fromfile(wfile, np.uint8)) if os.path.exists(wfile) else None
        args = (xin.ctypes.data, yout.ctypes.data, abuf.ctypes.data, None if wts is None else wts.ctypes.data)
        if crun(*args) != 0:
            sys.exit(f'{name}_run failed')
        if not np.array_equal(yout.view('<f4'), np.fromfile(f'{d}/out.bin', '<f4')):
            sys.exit(f'{name}: the shared library and the driver disagree')

        def time_resnetc(n):
            return timed(lambda: crun(*args), n)

        def time_ort(n):
            ort.stdin.write(f'run {n}\n')
            ort.stdin.flush()
            return json.loads(ort.stdout.readline())['times']

        def time_torch(n):
            with torch.no_grad():
                return timed(lambda: ts_model(x), n)

        engines = [('resnetc', time_resnetc), ('onnxruntime', time_ort), ('pytorch', time_torch)]
        for _, f in engines:  # warm-up
            f(3)
        t = {k: [] for k, _ in engines}
        for r in range(a.rounds):
            for k, f in engines[r % 3:] + engines[:r % 3]:
                t[k] += f(a.runs)
        ort.stdin.write('quit\n')
        ort.stdin.flush()
        ort.wait()
        med = {k: statistics.median(v) for k, v in t.items()}
        mn = {k: min(v) for k, v in t.items()}
        # paired: each round's resnetc run against its ORT run, a fraction of
        # a second apart, so mostly in the same spell of the machine
        paired = statistics.median(a_ / b_ for a_, b_ in zip(t['resnetc'], t['onnxruntime']))
        rows.append(dict(name=name, macs=macs, med=med, mn=mn, err=err, paired=paired))

        # peak resident memory of the generated binary, one run, against
        # the weights and the arena it must hold anyway
        wbytes = os.path.getsize(wfile) if wts is not None else define('WEIGHTS_BYTES')
        rss = subprocess.run(['/usr/bin/time', '-f', '%M', exe, inp, f'{d}/out.bin'], check=True,
                             capture_output=True, text=True).stderr.strip().splitlines()[-1]
        memory.append(dict(name=name, rss=int(rss) * 1024, weights=wbytes, arena=define('ARENA_BYTES')))

        # the direct method's stride-1 3x3 convs, from the per-layer profile
        dd = d + '-direct'
        sh(f'{resnetc} {onnx} -o {dd} --name {name} --winograd off -q && make -s -C {dd} profile')
        best, profile_runs[name] = direct_profile(name, f'{dd}/{name}_profile', inp, peak or 0)
        direct += best.values()
        print(f"{name}: resnetc {med['resnetc']:.2f} ms, ORT {med['onnxruntime']:.2f} ms, "
              f"PyTorch {med['pytorch']:.2f} ms, ratio {med['resnetc'] / med['onnxruntime']:.2f}", flush=True)

    cc = sh('cc --version').splitlines()[0]
    lines = [
        '# Benchmarks',
        '',
        f'Made by `{" ".join(["bench/run.sh"] + sys.argv[1:])}`' +
        ' (`/usr/bin/python3 bench/bench.py` after installing onnxruntime-node), '
        f'{time.strftime("%Y-%m-%d")}. Batch 1, float32, one thread, engines interleaved: '
        f'{a.rounds} rounds, each giving every engine {a.runs} run{"s" if a.runs > 1 else ""} in turn, the order rotating '
        '(resnetc: the generated files built with the Makefile\'s flags as a shared library, `NAME_run()` timed '
        'through ctypes). Latency in ms; ratio = resnetc / ONNX Runtime '
        '(median); GFLOP/s = 2 x multiply-adds / median.',
        '',
        f'- Machine: {cpu_name()} ({cpu_flags()}), {os.cpu_count()} cores, shared: load average '
        f'{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (medians and ratios, not absolute '
        'times, are what to read)',
        f'- resnetc: generated C built with `{cc}`, `{cflags}`',
        f'- ONNX Runtime: onnxruntime-node {ort_version} (CPU, graph optimisation level all)',
        f'- PyTorch: {torch.__version__} (TorchScript traced, frozen, optimize_for_inference)',
        '- Single-core FMA peak (bench/peak.c): ' + (f'{peak:.0f} GFLOP/s' if peak else 'not measured'),
        '',
        '| model | GMAC | resnetc median / min | ONNX Runtime median / min | PyTorch median / min | resnetc / ORT, medians | resnetc / ORT, minima | resnetc / ORT, median of pairs | resnetc GFLOP/s | % of peak | max rel. error vs PyTorch (resnetc, ORT) |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        md, mn = r['med'], r['mn']
        gf = 2 * r['macs'] / (md['resnetc'] * 1e6)
        pct = f'{100 * gf / peak:.0f}%' if peak else '-'
        lines.append(f"| {r['name']} | {r['macs'] / 1e9:.2f} | {md['resnetc']:.2f} / {mn['resnetc']:.2f} | "
                     f"{md['onnxruntime']:.2f} / {mn['onnxruntime']:.2f} | {md['pytorch']:.2f} / {mn['pytorch']:.2f} | "
                     f"**{md['resnetc'] / md['onnxruntime']:.2f}** | {mn['resnetc'] / mn['onnxruntime']:.2f} | {r['paired']:.2f} | {gf:.1f} | {pct} | "
                     f"{r['err']['resnetc']:.1e}, {r['err']['onnxruntime']:.1e} |")
    lines += [
        '',
        '"% of peak" counts the multiply-adds of the direct method; Winograd layers (`--winograd auto`, '
        'the default) do fewer, so the figure can pass 100% for them.',
        '',
        '## Stride-1 3x3 convolutions, direct method',
        '',
        'The same models compiled with `--winograd off`, built with `make profile`, and run for 30 s each '
        f'({", ".join(f"{n}: {k} runs" for n, k in profile_runs.items())}) with `NAME_profile --bench 3`. '
        'Per layer: its best mean time over the runs, against the best FMA peak the profile measured in any '
        'of them. (The shared machine has spells, from a fraction of a second to minutes, in which the FMA '
        'loop, or only the memory-bound part of a conv, runs at two thirds of its speed or less: the best of '
        'many runs finds the fast spells, the best peak keeps the share conservative.)',
        '',
        '| model | channels, output size | layers | ms per layer | GFLOP/s | % of peak: mean (lowest) |',
        '|---|---|---|---|---|---|',
    ]
    groups = {}
    for r in direct:
        groups.setdefault((r['model'], r['shape']), []).append(r)
    for (model, shape), g in groups.items():
        lines.append(f"| {model} | {shape} | {len(g)} | {statistics.mean(r['ms'] for r in g):.3f} | "
                     f"{statistics.mean(r['gf'] for r in g):.1f} | {statistics.mean(r['pct'] for r in g):.1f}% "
                     f"({min(r['pct'] for r in g):.1f}%) |")
    if direct:
        lo = min(direct, key=lambda r: r['pct'])
        below = sorted((r for r in direct if r['pct'] < 75), key=lambda r: r['pct'])
        lines += ['', f"Lowest layer: {lo['pct']:.1f}% ({lo['model']} `{lo['layer']}`); median "
                      f"{statistics.median(r['pct'] for r in direct):.1f}% over {len(direct)} layers; "
                      f"{len(below)} below 75%" + (': ' + ', '.join(f"{r['model']} `{r['layer']}` {r['pct']:.1f}%"
                                                            for r in below) if below else '') + '.']
    lines += [
        '',
        '## Peak resident memory of the generated binary',
        '',
        'The driver run once (`/usr/bin/time -f %M`), the weights blob read into memory: what it needs beyond '
        'the weights and the arena is the code, the stack, libc and the input and output buffers.',
        '',
        '| model | weights | arena | peak RSS | RSS - weights - arena |',
        '|---|---|---|---|---|',
    ]
    mib = lambda b: f'{b / 2**20:.1f} MiB'
    for r in memory:
        lines.append(f"| {r['name']} | {mib(r['weights'])} | {mib(r['arena'])} | {mib(r['rss'])} | "
                     f"{mib(r['rss'] - r['weights'] - r['arena'])} |")
    lines.append('')
    with open(a.out + '.tmp', 'w') as f:
        f.write('\n'.join(lines))
    os.replace(a.out + '.tmp', a.out)
    print('wrote', a.out)


if __name__ == '__main__':
    main()
