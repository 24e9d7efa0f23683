/** `weft req SUBJECT [DATA]`: send one request and print the reply. */
import {
  CliError,
  type CommandSpec,
  EXIT_OK,
  formatDuration,
  parse,
  parseDuration,
  reportError,
} from './args.js';
import {
  CLIENT_HELP,
  CLIENT_OPTIONS,
  checkSubject,
  dial,
  formatHeaders,
  out,
  parseHeaders,
  payloadFrom,
  serverUrl,
} from './connect.js';

const OPTIONS = {
  ...CLIENT_OPTIONS,
  timeout: { type: 'string', short: 't' },
  header: { type: 'string', short: 'H', multiple: true },
  raw: { type: 'boolean', short: 'r' },
} as const;

const DEFAULT_TIMEOUT_MS = 2000;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'req',
  required: ['SUBJECT'],
  optional: ['DATA'],
  options: OPTIONS,
  usage: `Usage: weft req SUBJECT [DATA] [flags]

Sends a request to SUBJECT and prints the reply: its headers, if any, then a
blank line, then its data. Without DATA, the payload is read from stdin when
stdin is not a terminal, else it is empty. Exits 1 when nobody answers.

Flags:
  -t, --timeout DUR   how long to wait for the reply (default ${formatDuration(DEFAULT_TIMEOUT_MS)};
                      e.g. 500ms, 5s, 1m)
  -H, --header K:V    add a header; repeatable (a key may repeat)
  -r, --raw           print only the reply's data, exactly as received
${CLIENT_HELP}

Examples:
  weft req time.now
  weft req --timeout 5s -H trace:abc orders.get '{"id":1}'`,
};

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    const subject = checkSubject('subject', positionals[0]!, false);
    const timeout =
      values.timeout === undefined
        ? DEFAULT_TIMEOUT_MS
        : parseDuration('--timeout', values.timeout, { min: 1 });
    const headers = parseHeaders(values.header);
    const url = serverUrl(values.server);
    const data = await payloadFrom(positionals[1]);

    const { nc } = await dial(url, 'weft req');
    try {
      const started = performance.now();
      const m = await nc
        .request(subject, data, { timeout, ...(headers === undefined ? {} : { headers }) })
        .catch((err: unknown) => {
          throw requestError(err, subject, timeout);
        });
      const ms = performance.now() - started;
      if (values.raw) {
        await out(m.data);
      } else {
        const body = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        const nl = body.length > 0 && body[body.length - 1] !== 0x0a ? '\n' : '';
        await out(Buffer.concat([Buffer.from(formatHeaders(m.headers)), body, Buffer.from(nl)]));
      }
      process.stderr.write(
        `reply from ${JSON.stringify(subject)} in ${ms.toFixed(2)}ms (${m.data.length} bytes)\n`,
      );
      return EXIT_OK;
    } finally {
      await nc.close();
    }
  } catch (err) {
    return reportError('req', err);
  }
}

function requestError(err: unknown, subject: string, timeout: number): unknown {
  switch ((err as { code?: string } | null)?.code) {
    case '503':
      return new CliError(`no responders for ${JSON.stringify(subject)}`);
    case 'TIMEOUT':
      return new CliError(
        `no reply from ${JSON.stringify(subject)} within ${formatDuration(timeout)}`,
      );
    case 'MAX_PAYLOAD_EXCEEDED':
      return new CliError('request is larger than the server allows (max_payload)');
    default:
      return err;
  }
}
