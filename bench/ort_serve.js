#!/usr/bin/env node
// ort_serve.js MODEL.onnx INPUT.bin THREADS - ONNX Runtime (onnxruntime-node,
// CPU, all graph optimisations, sequential) as a benchmark peer.  Loads the
// model, runs it once, prints {"ready":..., "version":..., "output":[...]},
// then answers stdin lines "run N" with {"times":[ms...]} (N timed runs,
// timed here with hrtime, so the pipe is not counted) and exits on "quit".
'use strict';
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, threads] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads || 1), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const b = fs.readFileSync(input);
  const x = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const c = 3, hw = Math.round(Math.sqrt(x.length / c));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [1, c, hw, hw]) };
  const res = await session.run(feeds);
  const y = Array.from(res[session.outputNames[0]].data);
  process.stdout.write(JSON.stringify({ ready: true, version: ort.env.versions.common, output: y }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'run') {
      const times = [];
      for (let i = 0; i < Number(w[1]); i++) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      process.stdout.write(JSON.stringify({ times }) + '\n');
    } else if (w[0] === 'quit') break;
  }
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
