/**
 * Where webhooks created through the API are kept across restarts: a file
 * stream in the JetStream of the webhook's own account,
 * `$WEFT_webhooks[_<node>]`, one message per webhook on `$WEFT.HOOK.def.<token>.<name>` (at most one
 * message per subject, as a key-value bucket keeps them), its definition
 * as JSON (with its secret and account). Deleting purges the subject.
 *
 * The subjects are under `$WEFT.HOOK.`, reserved (src/auth/reserved.ts):
 * no client publishes a definition of its own. A named node's stream and
 * subjects carry its name, so the nodes of a mesh keep theirs apart (as
 * the MQTT face's streams do).
 */
import { createHash } from 'node:crypto';
import type { AccountJetStream } from '../../../jetstream/service.js';
import type { Stream } from '../../../streams/stream.js';
import { normalizeConfig } from '../../../streams/stream-config.js';
import { parseWebhook, specRecord, type WebhookSpec } from './spec.js';

/** The stream and subject prefix of a node's webhook definitions. */
export function storeNames(node: string): { stream: string; prefix: string } {
  const token =
    node === ''
      ? 'local'
      : /^[A-Za-z0-9_-]{1,64}$/.test(node)
        ? node
        : createHash('sha256').update(node).digest('hex').slice(0, 16);
  return {
    stream: node === '' ? '$WEFT_webhooks' : `$WEFT_webhooks_${token}`,
    prefix: `$WEFT.HOOK.def.${token}.`,
  };
}

export class WebhookStore {
  private stream: Stream | null = null;
  private readonly names: { stream: string; prefix: string };

  constructor(
    private readonly js: AccountJetStream,
    node: string,
  ) {
    this.names = storeNames(node);
  }

  /** The account whose webhooks this keeps. */
  get account(): string {
    return this.js.account.name;
  }

  /**
   * Opens the stream and reads the definitions back. When it is missing,
   * `create` makes it (the account's first API webhook); otherwise there
   * is nothing to read and nothing is created.
   */
  async open(create: boolean): Promise<{ specs: WebhookSpec[]; bad: string[] }> {
    const name = this.names.stream;
    const have = this.js.streams.get(name);
    if (have === undefined && !create) return { specs: [], bad: [] };
    this.stream =
      have?.stream ??
      (
        await this.js.create(
          normalizeConfig(
            {
              name,
              subjects: [`${this.names.prefix}>`],
              max_msgs_per_subject: 1,
              storage: 'file',
              description: 'webhooks created through the HTTP API (docs/webhooks.md)',
            },
            name,
          ),
        )
      ).stream;
    const specs: WebhookSpec[] = [];
    const bad: string[] = [];
    let seq = 1;
    for (;;) {
      const m = await this.stream.messages.next(seq, `${this.names.prefix}>`);
      if (m === null) break;
      seq = m.seq + 1;
      try {
        const rec = JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>;
        // The account's own stream: its webhooks run in it, whatever the record says.
        delete rec.account;
        specs.push(parseWebhook(rec, '', { account: this.account, allowAccount: false }));
      } catch (err) {
        bad.push(`${m.subject} (seq ${m.seq}): ${(err as Error).message}`);
      }
    }
    return { specs, bad };
  }

  async put(spec: WebhookSpec): Promise<void> {
    if (this.stream === null) throw new Error('webhook store not open');
    const body = Buffer.from(JSON.stringify(specRecord(spec, true)));
    await this.stream.store(this.names.prefix + spec.name, null, body);
  }

  async delete(name: string): Promise<void> {
    if (this.stream === null) return;
    await this.stream.purge({ filter: this.names.prefix + name });
  }
}
