// 6. Codec: the frame decoder (dist/protocol/frame-decoder.js) in this process, on
// 64 KiB bodies and on tiny frames ({"type":"stdout","id":1} with a 1-byte body). The
// encoded stream is cut into random read sizes of 1..65536 bytes (seeded) before the
// clock starts, so only decoding is timed. References: copying the same chunks into
// one buffer (the memory-bandwidth bound for 64 KiB frames), and JSON.parse of each
// tiny frame's header text (the per-frame parse cost the protocol's JSON headers imply).
import { FrameDecoder } from '../dist/protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../dist/protocol/frame-encoder.js';
import { MB, seededRandom, summary } from './stats.js';

const HEADER = { type: 'stdout', id: 1 };

function buildStream(frames, bodyLength, seed) {
  const body = Buffer.alloc(bodyLength, 0x61);
  const frame = encodeFrameBuffer(HEADER, body);
  const stream = Buffer.allocUnsafe(frame.length * frames);
  for (let i = 0; i < frames; i++) frame.copy(stream, i * frame.length);
  const random = seededRandom(seed);
  const chunks = [];
  for (let offset = 0; offset < stream.length;) {
    const size = 1 + Math.floor(random() * 65536);
    chunks.push(stream.subarray(offset, offset + size));
    offset += size;
  }
  return { stream, chunks, frameLength: frame.length };
}

function decodeOnce(chunks, expectedFrames) {
  let frames = 0;
  let bodyBytes = 0;
  const decoder = new FrameDecoder((frame) => {
    frames += 1;
    bodyBytes += frame.body.length;
  });
  const start = performance.now();
  for (let i = 0; i < chunks.length; i++) decoder.push(chunks[i]);
  const seconds = (performance.now() - start) / 1000;
  if (frames !== expectedFrames || !decoder.idle)
    throw new Error(`decoder produced ${frames} frames, expected ${expectedFrames}`);
  return { seconds, frames, bodyBytes };
}

function copyOnce(chunks, total) {
  const out = Buffer.allocUnsafe(total).fill(1); // touched first: page faults are not timed
  const start = performance.now();
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) offset += chunks[i].copy(out, offset);
  return (performance.now() - start) / 1000;
}

function parseOnce(count) {
  const text = JSON.stringify(HEADER);
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) sink += JSON.parse(text).id;
  const seconds = (performance.now() - start) / 1000;
  if (sink !== count) throw new Error('JSON.parse reference went wrong');
  return seconds;
}

export async function run(ctx) {
  const rounds = ctx.quick ? 2 : 5;
  const bigFrames = ctx.quick ? 512 : 4096; // 32 MiB / 256 MiB of bodies
  const tinyFrames = ctx.quick ? 200_000 : 2_000_000;
  const notes = [];
  const big = buildStream(bigFrames, 64 * 1024, 1);
  const tiny = buildStream(tinyFrames, 1, 2);
  ctx.log(
    `streams: ${bigFrames} × 64 KiB frames in ${big.chunks.length} chunks; ${tinyFrames} tiny frames in ${tiny.chunks.length} chunks`,
  );
  const results = { big: [], tiny: [], copy: [], parse: [] };
  decodeOnce(big.chunks, bigFrames); // warm-up
  decodeOnce(tiny.chunks, tinyFrames);
  for (let round = 0; round < rounds && !ctx.outOfTime(); round++) {
    // Yield between rounds so that Ctrl-C and the watchdog are handled.
    await new Promise((resolve) => setImmediate(resolve));
    const b = decodeOnce(big.chunks, bigFrames);
    const t = decodeOnce(tiny.chunks, tinyFrames);
    results.big.push({ bytesPerSecond: b.bodyBytes / b.seconds, framesPerSecond: b.frames / b.seconds });
    results.tiny.push({ bytesPerSecond: t.bodyBytes / t.seconds, framesPerSecond: t.frames / t.seconds });
    results.copy.push({ bytesPerSecond: big.stream.length / copyOnce(big.chunks, big.stream.length) });
    results.parse.push({ framesPerSecond: tinyFrames / parseOnce(tinyFrames) });
    ctx.log(
      `round ${round + 1}/${rounds}: 64 KiB ${(results.big.at(-1).bytesPerSecond / 1e9).toFixed(2)} GB/s; ` +
        `tiny ${(results.tiny.at(-1).framesPerSecond / 1e6).toFixed(2)} M frames/s`,
    );
  }
  const pick = (name, key, scale) => summary(results[name].map((r) => r[key] / scale));
  const bigRate = pick('big', 'bytesPerSecond', 1e9);
  const tinyRate = pick('tiny', 'framesPerSecond', 1e6);
  const rows = [
    {
      bench: 'codec',
      measure: '64 KiB frames, random reads: bytes/s',
      unit: 'GB/s',
      value: bigRate,
      ref: { label: 'memcpy of the same chunks', value: pick('copy', 'bytesPerSecond', 1e9) },
      target: { text: '≥ 2 GB/s', achieved: `${(bigRate.median / 2).toFixed(2)}× target`, ok: bigRate.median >= 2 },
    },
    {
      bench: 'codec',
      measure: '64 KiB frames, random reads: frames/s',
      unit: 'k frames/s',
      value: pick('big', 'framesPerSecond', 1e3),
    },
    {
      bench: 'codec',
      measure: 'tiny frames (1-byte body), random reads',
      unit: 'M frames/s',
      value: tinyRate,
      ref: { label: 'JSON.parse of the header alone', value: pick('parse', 'framesPerSecond', 1e6) },
      target: { text: '≥ 1 M frames/s', achieved: `${tinyRate.median.toFixed(2)}× target`, ok: tinyRate.median >= 1 },
    },
    {
      bench: 'codec',
      measure: 'tiny frames: bytes/s (stream incl. headers)',
      unit: 'MB/s',
      value: summary(results.tiny.map((r) => (r.framesPerSecond * tiny.frameLength) / MB)),
    },
  ];
  return {
    rows,
    notes,
    data: { rounds, bigFrames, tinyFrames, chunkSizes: '1..65536 (mulberry32 seeds 1 and 2)', results },
  };
}
