/** `weft sub SUBJECT`: print messages as they arrive, until --count or Ctrl-C. */
import {
  CliError,
  type CommandSpec,
  EXIT_FAILURE,
  EXIT_OK,
  parse,
  parseInteger,
  reportError,
} from './args.js';
import {
  CLIENT_HELP,
  CLIENT_OPTIONS,
  checkQueue,
  checkSubject,
  describeConnectError,
  dial,
  displayUrl,
  formatMessage,
  interrupted,
  out,
  plural,
  serverUrl,
} from './connect.js';

const OPTIONS = {
  ...CLIENT_OPTIONS,
  queue: { type: 'string', short: 'q' },
  count: { type: 'string', short: 'c' },
  raw: { type: 'boolean', short: 'r' },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'sub',
  required: ['SUBJECT'],
  options: OPTIONS,
  usage: `Usage: weft sub SUBJECT [flags]

Subscribes to SUBJECT (wildcards * and > allowed) and prints each message:
  [#n] subject (reply) size bytes
  headers, if any, then a blank line
  data
Runs until --count messages have arrived or Ctrl-C, then drains and exits 0.

Flags:
  -q, --queue GROUP   join queue group GROUP (each message goes to one member)
  -c, --count N       exit after N messages
  -r, --raw           print only each payload, one per line
${CLIENT_HELP}

Examples:
  weft sub 'orders.>'
  weft sub --queue workers --count 1 jobs`,
};

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    const subject = checkSubject('subject', positionals[0]!, true);
    const queue = values.queue === undefined ? undefined : checkQueue(values.queue);
    const count =
      values.count === undefined ? undefined : parseInteger('--count', values.count, { min: 1 });
    const url = serverUrl(values.server);

    const { nc, closed } = await dial(url, 'weft sub');
    const sub = nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      ...(count === undefined ? {} : { max: count }),
    });
    // After the flush round trip the server has the SUB: messages published
    // from now on reach us. Scripts (and our tests) wait for this line.
    await nc.flush();
    const group = queue === undefined ? '' : ` in queue group ${JSON.stringify(queue)}`;
    process.stderr.write(`subscribed to ${JSON.stringify(subject)}${group}\n`);

    const signal = interrupted();
    let stopping = false;
    void signal.promise.then(() => {
      stopping = true;
      // Drain: unsubscribe, deliver what is in flight, then close.
      nc.drain().catch(() => {});
    });
    let n = 0;
    try {
      for await (const m of sub) {
        n++;
        if (values.raw) {
          await out(Buffer.concat([m.data, NEWLINE]));
        } else {
          await out(formatMessage(n, m));
        }
      }
    } finally {
      signal.dispose();
    }
    if (!stopping && count !== undefined && n >= count) {
      await nc.drain();
      return EXIT_OK;
    }
    const err = await closed;
    if (stopping) return EXIT_OK;
    const why = err === undefined ? '' : `: ${describeConnectError(err)}`;
    throw new CliError(
      `lost the connection to ${displayUrl(url)} after ${plural(n, 'message')}${why}`,
      EXIT_FAILURE,
    );
  } catch (err) {
    return reportError('sub', err);
  }
}

const NEWLINE = Buffer.from('\n');
