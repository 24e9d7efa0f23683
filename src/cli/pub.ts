/** `weft pub SUBJECT [DATA]`: publish one message, or N with `--count`. */
import {
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
  checkSubject,
  dial,
  expandCount,
  expandHeaders,
  hasCountToken,
  parseHeaders,
  payloadFrom,
  plural,
  serverUrl,
} from './connect.js';

const OPTIONS = {
  ...CLIENT_OPTIONS,
  count: { type: 'string', short: 'c' },
  header: { type: 'string', short: 'H', multiple: true },
  reply: { type: 'string', short: 'r' },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'pub',
  required: ['SUBJECT'],
  optional: ['DATA'],
  options: OPTIONS,
  usage: `Usage: weft pub SUBJECT [DATA] [flags]

Publishes DATA to SUBJECT. Without DATA, the payload is read from stdin when
stdin is not a terminal (echo hi | weft pub greet), else it is empty.

Flags:
  -c, --count N       publish N messages; {{count}} in DATA or header values
                      becomes the message's 1-based index
  -H, --header K:V    add a header; repeat for more (a key may repeat)
  -r, --reply SUBJ    set the reply subject
${CLIENT_HELP}

Examples:
  weft pub orders.new '{"id":1}'
  weft pub -H trace:abc -H tag:x -H tag:y orders.new hi
  weft pub --count 10 ticks 'tick {{count}}'`,
};

/** Messages between flushes, so a large --count doesn't buffer them all in memory. */
const FLUSH_EVERY = 1024;

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    const subject = checkSubject('subject', positionals[0]!, false);
    const count =
      values.count === undefined ? 1 : parseInteger('--count', values.count, { min: 1 });
    const reply =
      values.reply === undefined ? undefined : checkSubject('reply subject', values.reply, false);
    const hdrs = parseHeaders(values.header);
    const url = serverUrl(values.server);
    const data = await payloadFrom(positionals[1]);

    const { nc, errors } = await dial(url, 'weft pub');
    try {
      const templated = hasCountToken(data);
      for (let i = 1; i <= count; i++) {
        nc.publish(subject, templated ? expandCount(data, i) : data, {
          ...(reply === undefined ? {} : { reply }),
          ...(hdrs === undefined ? {} : { headers: expandHeaders(hdrs, i)! }),
        });
        if (i % FLUSH_EVERY === 0) await nc.flush();
      }
      // The flush round trip also surfaces a server error (e.g. a permissions
      // violation) sent in answer to our publishes: it arrives before the PONG.
      await nc.flush();
    } finally {
      await nc.close();
    }
    if (errors.length > 0) return EXIT_FAILURE;
    process.stderr.write(`published ${plural(count, 'message')} to ${JSON.stringify(subject)}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportError('pub', publishError(err));
  }
}

function publishError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'MAX_PAYLOAD_EXCEEDED') {
    return new Error('message is larger than the server allows (max_payload)');
  }
  return err;
}
