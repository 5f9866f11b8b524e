#!/usr/bin/env node
// ort_check.js - ONNX Runtime (onnxruntime-node, CPU) as an independent
// reference for the ONNX files resnetc writes (tests/test_emit_onnx_ort.sh).
//
//   node ort_check.js input C,H,W OUT.bin
//       writes a deterministic pseudo-random float32 input [1,C,H,W]
//   node ort_check.js run MODEL.onnx INPUT.bin C,H,W REF.bin TOL
//       runs MODEL on INPUT and compares its first output with REF (the
//       output of the C that resnetc generated for the same network):
//       max|out - ref| / max|ref| must be <= TOL.  Exit 0 when it is, 1
//       when not or when ONNX Runtime refuses the model (a failure, not a
//       skip: a model ONNX Runtime cannot load is the bug this catches).
//   node ort_check.js probe
//       exit 0 when onnxruntime-node can be loaded (else the test skips)
'use strict';
const fs = require('fs');

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'probe') {
    const ort = require('onnxruntime-node');
    console.log('onnxruntime-node ' + ort.env.versions.common);
    return 0;
  }
  if (cmd === 'input') {
    const dims = a[0].split(',').map(Number);
    const n = dims.reduce((p, d) => p * d, 1);
    const x = new Float32Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {     // LCG, values in [-1, 1)
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      x[i] = (s / 4294967296) * 2 - 1;
    }
    fs.writeFileSync(a[1], Buffer.from(x.buffer));
    return 0;
  }
  if (cmd === 'run') {
    const ort = require('onnxruntime-node');
    const [model, input, shape, refFile, tolText] = a;
    const dims = [1, ...shape.split(',').map(Number)];
    let session;
    try {
      session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (e) {
      console.log(`FAIL: ONNX Runtime refuses ${model}: ${e.message}`);
      return 1;
    }
    const x = readF32(input);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, dims) };
    const res = await session.run(feeds);
    const y = res[session.outputNames[0]].data;
    const r = readF32(refFile);
    if (y.length !== r.length) {
      console.log(`FAIL: ONNX Runtime gives ${y.length} values, the C ${r.length}`);
      return 1;
    }
    let maxd = 0, maxr = 0;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(y[i] - r[i]);
      if (!(d <= maxd)) maxd = d;          // NaN counts as a difference
      maxr = Math.max(maxr, Math.abs(r[i]));
    }
    const rel = maxr > 0 ? maxd / maxr : maxd;
    const tol = Number(tolText);
    const ok = rel <= tol && maxr > 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${model.split('/').pop()}: ONNX Runtime ${ort.env.versions.common} vs the generated C: ` +
                `rel err ${rel.toExponential(2)} (max|ref| ${maxr.toPrecision(3)}, ${y.length} values, tolerance ${tol})`);
    return ok ? 0 : 1;
  }
  console.error('usage: ort_check.js probe | input C,H,W OUT.bin | run MODEL.onnx INPUT.bin C,H,W REF.bin TOL');
  return 2;
}
main().then((rc) => process.exit(rc), (e) => { console.log('FAIL: ' + (e && e.stack || e)); process.exit(1); });
