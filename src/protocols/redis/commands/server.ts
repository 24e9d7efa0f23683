/**
 * Server commands clients probe: COMMAND (COUNT, DOCS, INFO, LIST), INFO
 * (server, clients, persistence, replication, and a `# Weft` section).
 * COMMAND describes the face's own table, so it lists what Weft runs.
 */
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { REDIS_VERSION } from './connection.js';
import { command, str } from './define.js';

/** The table COMMAND describes: set by index.ts once every group is in (no import cycle). */
let TABLE: readonly Command[] = [];
export function describeTable(all: readonly Command[]): void {
  TABLE = all;
}

function find(name: Buffer): Command | undefined {
  const n = name.toString('latin1').toLowerCase();
  return TABLE.find((c) => c.name === n);
}

function info(c: Command): Reply {
  return R.array([
    R.bulk(c.name),
    R.int(c.arity),
    { t: 'set', v: c.flags.map((f) => R.simple(f)) },
    R.int(c.firstKey),
    R.int(c.lastKey),
    R.int(c.step),
    { t: 'set', v: [] },
    { t: 'set', v: [] },
    R.array([]),
    R.array((c.subcommands ?? []).map(info)),
  ]);
}

function docs(c: Command): Reply {
  const fields: [Reply, Reply][] = [
    [R.bulk('summary'), R.bulk('')],
    [R.bulk('since'), R.bulk('1.0.0')],
    [R.bulk('group'), R.bulk('generic')],
  ];
  const subs = c.subcommands ?? [];
  if (subs.length > 0) {
    fields.push([R.bulk('subcommands'), R.map(subs.map((s) => [R.bulk(s.name), docs(s)]))]);
  }
  return R.map(fields);
}

const COMMAND_SUBCOMMANDS: readonly Command[] = [
  command('command|count', 2, ['loading', 'stale'], () => R.int(TABLE.length)),
  command('command|info', -2, ['loading', 'stale'], (_ctx, args) => {
    const names = args.length > 2 ? args.slice(2) : null;
    if (names === null) return R.array(TABLE.map(info));
    return R.array(
      names.map((n) => {
        const c = find(n);
        return c === undefined ? { t: 'nullArray' } : info(c);
      }),
    );
  }),
  command('command|docs', -2, ['loading', 'stale'], (_ctx, args) => {
    const list = args.length > 2 ? args.slice(2).flatMap((n) => find(n) ?? []) : TABLE;
    return R.map(list.map((c) => [R.bulk(c.name), docs(c)]));
  }),
  command('command|list', -2, ['loading', 'stale'], () =>
    R.array(TABLE.map((c) => R.bulk(c.name))),
  ),
];

/** INFO's sections, in Redis's order, each a list of `key:value` lines. */
function sections(ctx: CommandContext): [string, [string, string | number][]][] {
  const node = ctx.face.host;
  const core = ctx.face.core;
  let clients = 0;
  let pubsubClients = 0;
  for (const c of core.clients()) {
    clients++;
    if (c.subscribed) pubsubClients++;
  }
  const up = Math.floor((Date.now() - core.started) / 1000);
  const counters = core.counters;
  return [
    [
      'Server',
      [
        ['redis_version', REDIS_VERSION],
        ['redis_mode', 'standalone'],
        ['os', process.platform],
        ['arch_bits', 64],
        ['process_id', process.pid],
        ['run_id', node.serverId],
        ['tcp_port', 0],
        ['uptime_in_seconds', up],
        ['uptime_in_days', Math.floor(up / 86400)],
      ],
    ],
    [
      'Clients',
      [
        ['connected_clients', clients],
        ['pubsub_clients', pubsubClients],
        ['maxclients', node.options.maxConnections],
      ],
    ],
    ['Persistence', [['loading', 0]]],
    [
      'Stats',
      [
        ['total_commands_processed', counters.commands],
        ['pubsub_channels', 0],
        ['rejected_connections', counters.refused],
      ],
    ],
    [
      'Replication',
      [
        ['role', 'master'],
        ['connected_slaves', 0],
      ],
    ],
    [
      'Weft',
      [
        ['weft_server_id', node.serverId],
        ['weft_server_name', node.name],
        ['weft_jetstream', node.jetstream === null ? 0 : 1],
        ['weft_pubsub_output_limit', node.options.redisPubsubOutputLimit],
        ['weft_protocol_errors', counters.protocolErrors],
        ['weft_pubsub_output_limit_closes', counters.pubsubOutputLimitCloses],
      ],
    ],
  ];
}

function infoCommand(ctx: CommandContext, args: readonly Buffer[]): Reply {
  const want = args.slice(1).map((a) => str(a).toLowerCase());
  const all =
    want.length === 0 ||
    want.includes('all') ||
    want.includes('everything') ||
    want.includes('default');
  const parts: string[] = [];
  for (const [name, lines] of sections(ctx)) {
    if (!all && !want.includes(name.toLowerCase())) continue;
    parts.push(`# ${name}\r\n${lines.map(([k, v]) => `${k}:${v}`).join('\r\n')}\r\n`);
  }
  const text = parts.join('\r\n');
  return ctx.client.protocol === 3 ? { t: 'verbatim', format: 'txt', v: text } : R.bulk(text);
}

export const SERVER_COMMANDS: readonly Command[] = [
  command(
    'command',
    -1,
    ['loading', 'stale'],
    (_ctx, args) => {
      if (args.length === 1) return R.array(TABLE.map(info));
      return R.error(`ERR unknown subcommand '${str(args[1]!)}'. Try COMMAND HELP.`);
    },
    { subcommands: COMMAND_SUBCOMMANDS },
  ),
  command('info', -1, ['loading', 'stale'], infoCommand),
];
