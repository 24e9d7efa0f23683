/** `weft reply SUBJECT [RESPONSE]`: answer requests, echoing them by default. */
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
  expandCount,
  expandHeaders,
  formatMessage,
  hasCountToken,
  interrupted,
  out,
  parseHeaders,
  plural,
  serverUrl,
} from './connect.js';

const OPTIONS = {
  ...CLIENT_OPTIONS,
  queue: { type: 'string', short: 'q' },
  count: { type: 'string', short: 'c' },
  header: { type: 'string', short: 'H', multiple: true },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'reply',
  required: ['SUBJECT'],
  optional: ['RESPONSE'],
  options: OPTIONS,
  usage: `Usage: weft reply SUBJECT [RESPONSE] [flags]

Answers each request on SUBJECT (wildcards allowed) with RESPONSE, or with the
request's own payload when RESPONSE is omitted, and prints each request as
weft sub does. Runs until --count requests or Ctrl-C.

Flags:
  -q, --queue GROUP   answer as a member of queue group GROUP
  -c, --count N       exit after N requests
  -H, --header K:V    add a header to each response; repeatable
                      ({{count}} in RESPONSE or header values becomes the
                      request's 1-based index)
${CLIENT_HELP}

Examples:
  weft reply time.now "$(date)"
  weft reply --queue echo --count 1 echo`,
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
    const hdrs = parseHeaders(values.header);
    const response = positionals[1] === undefined ? undefined : Buffer.from(positionals[1]);
    const templated = response !== undefined && hasCountToken(response);
    const url = serverUrl(values.server);

    const { nc, closed } = await dial(url, 'weft reply');
    // With max, the client also tells the server to stop after N messages, so
    // no request beyond the Nth is taken from other responders.
    const sub = nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      ...(count === undefined ? {} : { max: count }),
    });
    await nc.flush();
    const group = queue === undefined ? '' : ` in queue group ${JSON.stringify(queue)}`;
    process.stderr.write(`listening for requests on ${JSON.stringify(subject)}${group}\n`);

    const signal = interrupted();
    let stopping = false;
    void signal.promise.then(() => {
      stopping = true;
      nc.drain().catch(() => {});
    });
    let n = 0;
    try {
      for await (const m of sub) {
        n++;
        await out(formatMessage(n, m));
        if (!m.reply) {
          process.stderr.write(`[#${n}] has no reply subject; not answered\n`);
          continue;
        }
        const body =
          response === undefined ? m.data : templated ? expandCount(response, n) : response;
        const headers = expandHeaders(hdrs, n);
        m.respond(body, headers === undefined ? undefined : { headers });
      }
    } finally {
      signal.dispose();
    }
    if (!stopping && count !== undefined && n >= count) {
      // Drain flushes the last responses before closing.
      await nc.drain();
      process.stderr.write(`answered ${plural(n, 'request')}\n`);
      return EXIT_OK;
    }
    const err = await closed;
    if (stopping) return EXIT_OK;
    const why = err === undefined ? '' : `: ${describeConnectError(err)}`;
    throw new CliError(
      `lost the connection to ${displayUrl(url)} after ${plural(n, 'request')}${why}`,
      EXIT_FAILURE,
    );
  } catch (err) {
    return reportError('reply', err);
  }
}
