/**
 * Does a JetStream publish run's place in a sequence change its rate?
 * nats-server -js and Weft on one machine, async publish alternating
 * N W N W … (WFIRST=1: W N W N …), each run on a fresh stream; prints the
 * runs, then Weft over the nats-server run it is paired with in compare.js
 * and Weft over the mean of its nats-server neighbours.
 * bench/PROFILE.md, "the Kafka rows' bracket".
 *   node bench/core-tools/js-position.mjs [size] [msgs] [pairs] [dist]
 */
const [sizeS = '1024', msgsS = '250000', pairsS = '4', dist = `${process.cwd()}/dist`] =
  process.argv.slice(2);
const [size, msgs, pairs] = [sizeS, msgsS, pairsS].map(Number);
const { startNatsJetStream, startWeft } = await import(`${dist}/bench/servers.js`);
const { warmUpJetStream } = await import(`${dist}/bench/jetstream.js`);
const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
const nats = await startNatsJetStream('nats-server');
const weft = await startWeft(`${dist}/src/cli/main.js`, ['--mesh-port', '-1']);
for (const s of [nats, weft]) await warmUpJetStream(s.url, 20000, () => {});
const order = process.env.WFIRST
  ? [
      ['W', weft],
      ['N', nats],
    ]
  : [
      ['N', nats],
      ['W', weft],
    ];
const seq = [];
for (let i = 0; i < pairs; i++)
  for (const [name, s] of order) {
    const r = await runJetStream('js-pub-async', {
      server: parseServerUrl(s.url),
      msgs,
      size,
      window: 256,
    });
    seq.push([name, r.msgsPerSec]);
  }
await nats.stop();
await weft.stop();
console.log(seq.map(([n, v]) => `${n} ${Math.round(v / 1000)}k`).join(' '));
const paired = [];
const bracket = [];
for (let i = 0; i < seq.length; i++) {
  if (seq[i][0] !== 'W') continue;
  const mate = process.env.WFIRST ? seq[i + 1] : seq[i - 1];
  if (mate) paired.push(seq[i][1] / mate[1]);
  const nb = [seq[i - 1], seq[i + 1]].filter((x) => x?.[0] === 'N').map((x) => x[1]);
  if (nb.length > 0) bracket.push(seq[i][1] / (nb.reduce((a, b) => a + b) / nb.length));
}
const f = (a) => a.map((x) => x.toFixed(2)).join(' ');
console.log(`Weft / its paired nats-server run: ${f(paired)}`);
console.log(`Weft / mean of its nats-server neighbours: ${f(bracket)}`);
