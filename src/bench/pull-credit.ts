/**
 * How many messages a pull consumer has asked for and not yet had, so a
 * driver keeps about one batch beyond what has arrived outstanding
 * (`$JS.API.CONSUMER.MSG.NEXT`, all answered at one inbox).
 *
 * A status ends one request only: 408 Request Timeout with what it had left
 * (`Nats-Pending-Messages`), 404 No Messages or 409 (refused) with its whole
 * batch. The other requests still wait, so a status must not reset the count
 * to what has arrived: that forgets them, every later status then adds
 * requests the server already holds, and they pile up to `max_waiting`
 * (409 Exceeded MaxWaiting), on nats-server as on Weft.
 */
export class PullCredit {
  /** Messages asked for by requests not known to have ended. */
  requested = 0;
  /** Messages delivered (each ends up counted against one request). */
  received = 0;

  constructor(readonly batch: number) {}

  /** Whether less than a batch is outstanding: time for another request. */
  get short(): boolean {
    return this.requested - this.received < this.batch;
  }

  /** A request for one batch went out. */
  asked(): void {
    this.requested += this.batch;
  }

  /** A message arrived. */
  got(): void {
    this.received++;
  }

  /**
   * A status arrived at the inbox (`NATS/1.0 <code> ...` and its headers).
   * Returns whether it ended a request; a heartbeat (100) ends none.
   */
  status(code: string, headers: string): boolean {
    if (code === '100') return false;
    const left = code === '408' ? /Nats-Pending-Messages: *(\d+)/i.exec(headers)?.[1] : undefined;
    this.requested -= left !== undefined ? Number(left) : this.batch;
    return true;
  }
}
