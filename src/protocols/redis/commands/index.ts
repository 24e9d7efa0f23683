/**
 * The Redis face's command table: every group's commands, one line each.
 * The session dispatches on it (dispatch.ts); COMMAND describes it.
 */
import type { Command } from '../command.js';
import { CONNECTION_COMMANDS } from './connection.js';
import { GROUP_COMMANDS } from './groups.js';
import { PUBSUB_COMMANDS } from './pubsub.js';
import { describeTable, SERVER_COMMANDS } from './server.js';

export const COMMANDS: readonly Command[] = [
  ...CONNECTION_COMMANDS,
  ...SERVER_COMMANDS,
  ...PUBSUB_COMMANDS,
  ...GROUP_COMMANDS,
];

describeTable(COMMANDS);
