/**
 * One connection's permissions at work, the same for every face: a face asks
 * the guard before it publishes or subscribes for its client, and tells it
 * of each delivery (which may be refused, and which opens a response
 * permission). The guard holds no socket and speaks no protocol; the face
 * turns a `false` into its own wire error (NATS: nats-server's texts).
 */
import { type Permissions, ResponseGrants } from './permissions.js';

export class Guard {
  private readonly grants: ResponseGrants | null;

  constructor(readonly permissions: Permissions) {
    this.grants = permissions.responses === null ? null : new ResponseGrants(permissions.responses);
  }

  /** May this connection publish to `subject` now (a rule, or an open response)? */
  publish(subject: string): boolean {
    if (this.permissions.canPublish(subject)) return true;
    return this.grants?.use(subject, Date.now()) === true;
  }

  /**
   * May it subscribe to `subject` (in `queue`)? `check` is set when each
   * delivery to the subscription must then pass `receive`.
   */
  subscribe(subject: string, queue: string): { ok: boolean; check: boolean } {
    if (!this.permissions.canSubscribe(subject, queue)) return { ok: false, check: false };
    return { ok: true, check: this.permissions.needsDeliveryCheck(subject, queue) };
  }

  /** A message on `subject` may be delivered to a subscription (in `queue`) marked `check`. */
  receive(subject: string, queue = ''): boolean {
    return this.permissions.canReceive(subject, queue);
  }

  /** A request with `reply` was delivered: its responder may answer once (allow_responses). */
  delivered(reply: string): void {
    if (this.grants !== null && reply !== '') this.grants.grant(reply, Date.now());
  }

  /** Open response permissions (for monitoring). */
  get openResponses(): number {
    return this.grants?.size ?? 0;
  }

  /** Response permissions dropped at the bound (RESPONSE_GRANTS_MAX). */
  get droppedResponses(): number {
    return this.grants?.dropped ?? 0;
  }
}
