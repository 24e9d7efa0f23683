/**
 * `weft nkey gen user|account|operator`: a new nkey pair (as `nk -gen user
 * -pubout`): the seed (keep it secret: it signs) and the public key (put it
 * in the config: `users: [{nkey: U...}]`).
 */
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { type CommandSpec, EXIT_OK, parse, reportError, UsageError } from './args.js';

const KINDS: Record<string, () => KeyPair> = {
  user: createUser,
  account: createAccount,
  operator: createOperator,
};

const OPTIONS = { json: { type: 'boolean' } } as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'nkey',
  required: ['ACTION', 'KIND'],
  options: OPTIONS,
  usage: `Usage: weft nkey gen user|account|operator [flags]

Generates an nkey pair and prints the seed (secret: a client signs with it,
nats.js's nkeyAuthenticator(seed)) and the public key (for the config:
users: [{nkey: U...}]).

Flags:
      --json   print {"seed": ..., "public_key": ...}

Examples:
  weft nkey gen user`,
};

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    if (positionals[0] !== 'gen') {
      throw new UsageError(`unknown action ${JSON.stringify(positionals[0])} (expected gen)`);
    }
    const make = KINDS[positionals[1]];
    if (make === undefined) {
      throw new UsageError(
        `unknown kind ${JSON.stringify(positionals[1])} (expected user, account or operator)`,
      );
    }
    const kp = make();
    const seed = new TextDecoder().decode(kp.getSeed());
    const pub = kp.getPublicKey();
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ seed, public_key: pub })}\n`
        : `seed: ${seed}\npublic key: ${pub}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    return reportError('nkey', err);
  }
}
