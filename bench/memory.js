// 5. Memory: rexecd's peak RSS (VmHWM in /proc/<pid>/status), a fresh rexecd for
// every case and round:
//   (a) while one client reads 1 GiB slowly: a reader that pauses so that the
//       transfer takes about 15 s, so output backs up in the server if it buffers.
//       Reference: the raw relay (bench/raw-relay-server.js, a fresh one per round)
//       under the same slow reader: what a minimal Node pipe-to-socket relay costs.
//   (b) with 1,000 idle authenticated connections, opened in batches and held.
//       Reference: rexecd's own RSS right after start.
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from '../dist/index.js';
import { NODE, REPO, memoryOf, readLine, sleep, start, startRexecd, stop, withTimeout } from './processes.js';
import { GiB, MB, MiB, summary } from './stats.js';

/** A sink that takes `bytesPerSecond` at most: it waits whenever it is ahead. */
function pacedSink(bytesPerSecond) {
  const state = { bytes: 0, chunks: 0, pauses: 0, start: undefined };
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk, _encoding, callback) {
      state.start ??= performance.now();
      state.bytes += chunk.length;
      state.chunks += 1;
      const ahead = (state.bytes / bytesPerSecond) * 1000 - (performance.now() - state.start);
      if (ahead > 2) {
        state.pauses += 1;
        setTimeout(callback, ahead);
      } else {
        callback();
      }
    },
  });
  return { sink, state };
}

async function slowRead(size, seconds, log) {
  const rexecd = await startRexecd();
  let client;
  let sampler;
  try {
    const baseline = memoryOf(rexecd.pid);
    client = await connect({ host: '127.0.0.1', port: rexecd.port, key: rexecd.key });
    let maxRss = 0;
    sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, memoryOf(rexecd.pid).rss);
      } catch {
        // gone
      }
    }, 100);
    const { sink, state } = pacedSink(size / seconds);
    const started = performance.now();
    const proc = client.exec({ argv: ['head', '-c', String(size), '/dev/zero'] });
    // The sink may still hold queued chunks when `exit` resolves: wait for its 'finish' too.
    const finished = new Promise((resolve) => sink.once('finish', resolve));
    proc.stdout.pipe(sink);
    proc.stderr.resume();
    const [exit] = await withTimeout(Promise.all([proc.exit, finished]), seconds * 4000 + 60_000, 'slow 1 GiB read');
    if (exit.code !== 0) throw new Error(`head exited with ${exit.code}/${exit.signal}`);
    if (state.bytes !== size) throw new Error(`slow reader got ${state.bytes} bytes, expected ${size}`);
    const seconds_ = (performance.now() - started) / 1000;
    const peak = memoryOf(rexecd.pid).hwm;
    log(
      `slow read: ${size / MiB} MiB in ${seconds_.toFixed(1)} s (${state.pauses} pauses); rexecd peak RSS ${(peak / MB).toFixed(1)} MB, baseline ${(baseline.rss / MB).toFixed(1)} MB`,
    );
    return {
      peakBytes: peak,
      maxSampledRssBytes: maxRss,
      baselineRssBytes: baseline.rss,
      seconds: seconds_,
      pauses: state.pauses,
    };
  } finally {
    clearInterval(sampler);
    await client?.close().catch(() => {});
    await rexecd.stop();
  }
}

async function relaySlowRead(size, seconds, log) {
  const relay = start(NODE, [join(REPO, 'bench/raw-relay-server.js'), 'head', '-c', String(size), '/dev/zero'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [, port] = await readLine(
      relay,
      relay.stdout,
      /^raw-relay listening on 127\.0\.0\.1:(\d+)$/,
      10000,
      'raw relay',
    );
    const baseline = memoryOf(relay.pid);
    const { sink, state } = pacedSink(size / seconds);
    const done = new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port: Number(port) });
      socket.once('error', reject);
      sink.once('finish', resolve);
      socket.pipe(sink);
    });
    await withTimeout(done, seconds * 4000 + 60_000, 'raw relay slow read');
    if (state.bytes !== size) throw new Error(`raw relay slow read got ${state.bytes} bytes, expected ${size}`);
    const peak = memoryOf(relay.pid).hwm;
    log(
      `raw relay, same slow read: peak RSS ${(peak / MB).toFixed(1)} MB, baseline ${(baseline.rss / MB).toFixed(1)} MB`,
    );
    return { peakBytes: peak, baselineRssBytes: baseline.rss };
  } finally {
    await stop(relay);
  }
}

async function idleConnections(count, batch, log) {
  const rexecd = await startRexecd(['--max-connections', String(count + 100)]);
  const clients = [];
  try {
    const baseline = memoryOf(rexecd.pid);
    for (let opened = 0; opened < count; opened += batch) {
      const n = Math.min(batch, count - opened);
      const batchClients = await withTimeout(
        Promise.all(
          Array.from({ length: n }, () =>
            connect({ host: '127.0.0.1', port: rexecd.port, key: rexecd.key, connectTimeoutMs: 30_000 }),
          ),
        ),
        60_000,
        `opening connections ${opened + 1}..${opened + n}`,
      );
      clients.push(...batchClients);
    }
    const authenticated = clients.filter((c) => c.authenticated && !c.isClosed).length;
    if (authenticated !== count)
      throw new Error(`only ${authenticated} of ${count} connections are open and authenticated`);
    // Hold them (idle) a moment, then check the server still answers on one.
    await sleep(2000);
    await withTimeout(clients[0].ping(), 10_000, 'ping while holding idle connections');
    const now = memoryOf(rexecd.pid);
    log(
      `${count} idle connections: rexecd peak RSS ${(now.hwm / MB).toFixed(1)} MB, now ${(now.rss / MB).toFixed(1)} MB, baseline ${(baseline.rss / MB).toFixed(1)} MB`,
    );
    return {
      peakBytes: now.hwm,
      rssBytes: now.rss,
      baselineRssBytes: baseline.rss,
      perConnectionBytes: (now.rss - baseline.rss) / count,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => withTimeout(c.close(), 10_000, 'close')));
    await rexecd.stop();
  }
}

export async function run(ctx) {
  const size = ctx.quick ? 64 * MiB : GiB;
  const seconds = ctx.quick ? 3 : 15;
  const idle = ctx.quick ? 100 : 1000;
  const slowRounds = ctx.quick ? 1 : 2;
  const idleRounds = ctx.quick ? 1 : 3;
  const notes = [];
  const slow = [];
  const relay = [];
  const held = [];
  for (let round = 0; round < slowRounds && !ctx.outOfTime(); round++) {
    slow.push(await slowRead(size, seconds, ctx.log));
    relay.push(await relaySlowRead(size, seconds, ctx.log));
  }
  for (let round = 0; round < idleRounds && !ctx.outOfTime(); round++)
    held.push(await idleConnections(idle, 50, ctx.log));
  if (slow.length < slowRounds || held.length < idleRounds)
    notes.push('fewer rounds than planned: time budget reached');
  const mb = (list, key) => summary(list.map((r) => r[key] / MB));
  const slowPeak = mb(slow, 'peakBytes');
  const idlePeak = mb(held, 'peakBytes');
  const label = ctx.quick ? `${size / MiB} MiB` : '1 GiB';
  const rows = [
    {
      bench: 'memory',
      measure: `rexecd peak RSS, slow ${label} read (~${seconds} s)`,
      unit: 'MB',
      value: slowPeak,
      ref: { label: 'raw relay, same slow read', value: mb(relay, 'peakBytes') },
      target: {
        text: '< 100 MB (every round)',
        achieved: `max ${slowPeak.max.toFixed(1)} = ${(slowPeak.max / 100).toFixed(2)}× limit`,
        ok: slowPeak.max < 100,
      },
    },
    {
      bench: 'memory',
      measure: 'RSS right after start (no connection)',
      unit: 'MB',
      value: mb([...slow, ...held], 'baselineRssBytes'),
      ref: { label: 'raw relay right after start', value: mb(relay, 'baselineRssBytes') },
    },
    {
      bench: 'memory',
      measure: `rexecd peak RSS, ${idle} idle connections`,
      unit: 'MB',
      value: idlePeak,
      ref: { label: 'rexecd RSS at start', value: mb(held, 'baselineRssBytes') },
      target: {
        text: '< 150 MB (every round)',
        achieved: `max ${idlePeak.max.toFixed(1)} = ${(idlePeak.max / 150).toFixed(2)}× limit`,
        ok: idlePeak.max < 150,
      },
    },
  ];
  return { rows, notes, data: { size, seconds, idle, slow, relay, held } };
}
