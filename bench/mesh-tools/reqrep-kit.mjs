/**
 * What the request-reply tail tools (tail-reqrep.mjs, slow-rt.mjs) share:
 * a bare NATS responder, a bare requester (one request at a time, 16 B,
 * WARM requests first) and starting a target `<dist>[+<flag>,...]` with
 * those node flags added to WEFT_BENCH_NODE_ARGS.
 */
import net from 'node:net';
import { resolve } from 'node:path';

/** Requests sent before the measured ones. */
export const WARM = 5000;

/**
 * Source of a responder to run with `node -e` or as an eval'd worker: it
 * answers each request on `req` with 16 B. `port` is an expression for the
 * port, `ready` the statement run once it is subscribed.
 */
export const responderSrc = (port, ready) => `
const net = require('node:net');
const s = net.connect({ host: '127.0.0.1', port: ${port}, noDelay: true });
let buf = '';
const body = 'x'.repeat(16);
s.setEncoding('latin1');
s.write('CONNECT {"verbose":false,"pedantic":false}\\r\\nSUB req 1\\r\\nPING\\r\\n');
s.on('data', (d) => {
  buf += d;
  for (;;) {
    const i = buf.indexOf('\\r\\n');
    if (i < 0) return;
    const line = buf.slice(0, i);
    if (line.startsWith('MSG ')) {
      const f = line.split(' ');
      const len = Number(f[f.length - 1]);
      if (buf.length < i + 2 + len + 2) return;
      buf = buf.slice(i + 2 + len + 2);
      s.write('PUB ' + f[3] + ' 16\\r\\n' + body + '\\r\\n');
    } else {
      buf = buf.slice(i + 2);
      if (line === 'PONG') ${ready};
      else if (line === 'PING') s.write('PONG\\r\\n');
    }
  }
});
`;

/**
 * Runs WARM + `count` requests on the node at `port`; `record(i, t0, t1)`
 * gets each measured round trip (hrtime bigints), `between` (if given) is
 * awaited after the warm-up. Requests are probed every 20 ms until the
 * responder's interest has crossed the links.
 */
export function requester(port, count, record, between) {
  return new Promise((ok) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
    s.setEncoding('latin1');
    let buf = '';
    let phase = 'probe';
    const body = 'x'.repeat(16);
    let i = -WARM;
    let t0 = 0n;
    let probe;
    const send = () => {
      t0 = process.hrtime.bigint();
      s.write(`PUB req inbox.1 16\r\n${body}\r\n`);
    };
    s.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB inbox.1 1\r\nPING\r\n');
    s.on('data', (d) => {
      buf += d;
      for (;;) {
        const k = buf.indexOf('\r\n');
        if (k < 0) return;
        const line = buf.slice(0, k);
        if (line.startsWith('MSG ')) {
          const f = line.split(' ');
          const len = Number(f[f.length - 1]);
          if (buf.length < k + 2 + len + 2) return;
          buf = buf.slice(k + 2 + len + 2);
          if (phase === 'probe') {
            phase = 'run';
            clearInterval(probe);
            send();
            continue;
          }
          const t1 = process.hrtime.bigint();
          if (i >= 0) record(i, t0, t1);
          i++;
          if (i === 0 && between) {
            between().then(send);
            continue;
          }
          if (i === count) {
            s.end();
            ok();
          } else send();
        } else {
          buf = buf.slice(k + 2);
          if (line === 'PONG' && phase === 'probe' && !probe) probe = setInterval(send, 20);
          else if (line === 'PING') s.write('PONG\r\n');
        }
      }
    });
  });
}

/**
 * Starts a target: 'nats' (a cluster of 2 of `natsBin`) or a chain of
 * NODES (default `nodes`) Weft nodes of `<dist>`, with the `+<flag>,<flag>`
 * flags added to WEFT_BENCH_NODE_ARGS for them alone.
 */
export async function startTarget(spec, { natsBin, nodes = 2 } = {}) {
  const [t, flags = ''] = spec.split('+');
  const baseArgs = process.env.WEFT_BENCH_NODE_ARGS ?? '';
  process.env.WEFT_BENCH_NODE_ARGS = `${baseArgs} ${flags.replaceAll(',', ' ')}`;
  try {
    const servers = await import(`${resolve('dist')}/bench/servers.js`);
    const started =
      t === 'nats'
        ? await servers.startNatsCluster(natsBin, 2)
        : await servers.startWeftChain(
            `${resolve(t)}/src/cli/main.js`,
            Number(process.env.NODES ?? nodes),
          );
    return { t, flags, nodes: started };
  } finally {
    process.env.WEFT_BENCH_NODE_ARGS = baseArgs;
  }
}

/** A node's client port. */
export const portOf = (x) => Number(new URL(x.url.replace(/^nats:/, 'http:')).port);
