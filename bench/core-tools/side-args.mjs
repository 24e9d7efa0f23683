/**
 * What the per-side JetStream tools (js-pub-threads.mjs, js-pub-fill.mjs)
 * share: the command line — sides as `name=<main.js>` or
 * `name=<main.js>|<server args>`, `--name value` options, `--size`,
 * `--msgs`, `--rounds` — and the load generator of the tree in $DIST (or
 * this one's dist).
 */
export async function jsSides(argv) {
  const D = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
  const { runJetStream } = await import(`${D}/src/bench/jetstream.js`);
  const { parseServerUrl } = await import(`${D}/src/bench/protocol.js`);
  const { startWeft } = await import(`${D}/bench/servers.js`);
  const opt = (n, d) => {
    const i = argv.indexOf(n);
    return i < 0 ? d : argv[i + 1];
  };
  const sides = argv
    .filter((x) => x.includes('=') && !x.startsWith('--'))
    .map((x) => {
      const [name, rest] = [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)];
      const [main, args = ''] = rest.split('|');
      return { name, main, args: args.split(' ').filter(Boolean) };
    });
  return {
    runJetStream,
    parseServerUrl,
    startWeft,
    opt,
    sides,
    size: Number(opt('--size', 16)),
    msgs: Number(opt('--msgs', 200000)),
    rounds: Number(opt('--rounds', 6)),
  };
}
