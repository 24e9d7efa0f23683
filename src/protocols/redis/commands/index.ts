/**
 * The Redis face's command table: every group's commands, one line each.
 * The session dispatches on it (dispatch.ts); COMMAND describes it.
 */
import type { Command } from '../command.js';
import { CONNECTION_COMMANDS } from './connection.js';
import { GROUP_COMMANDS, XINFO_GROUP_SUBCOMMANDS } from './groups.js';
import { KEY_COMMANDS } from './keys.js';
import { PUBSUB_COMMANDS } from './pubsub.js';
import { describeTable, SERVER_COMMANDS } from './server.js';
import { xinfoCommand } from './stream-read.js';
import { STREAM_COMMANDS } from './streams.js';

export const COMMANDS: readonly Command[] = [
  ...CONNECTION_COMMANDS,
  ...SERVER_COMMANDS,
  ...PUBSUB_COMMANDS,
  ...STREAM_COMMANDS,
  xinfoCommand(XINFO_GROUP_SUBCOMMANDS),
  ...KEY_COMMANDS,
  ...GROUP_COMMANDS,
];

describeTable(COMMANDS);
