/**
 * The Redis face's consumer groups of every account (service.ts), opened
 * at an account's first group command; `ofNow` for the commands' paths in
 * this turn once opened.
 */
import type { Account } from '../../../core/account.js';
import type { FaceHost } from '../../face.js';
import { type GroupCounters, GroupError } from './live.js';
import { AccountGroups } from './service.js';
import { GroupStore } from './store.js';
import type { StreamsView } from './view.js';

/** Every account's groups, opened on first use. */
export class RedisGroups {
  private readonly accounts = new Map<string, Promise<AccountGroups>>();
  readonly counters: GroupCounters = {
    readsCapped: 0,
    lateEntries: 0,
    writeFailures: 0,
    directEntries: 0,
    pullRequests: 0,
    commandsInTurn: 0,
  };
  private readonly opened: AccountGroups[] = [];
  /** The accounts opened, by name (what `of` resolves with from then on). */
  private readonly ready = new Map<string, AccountGroups>();

  /** What `/varz` shows of the face's groups (summed over the accounts opened). */
  varz(): Record<string, number> {
    const v = {
      groups: 0,
      reads_capped: this.counters.readsCapped,
      late_entries: this.counters.lateEntries,
      write_failures: this.counters.writeFailures,
      direct_entries: this.counters.directEntries,
      pull_requests: this.counters.pullRequests,
      commands_in_turn: this.counters.commandsInTurn,
      snapshots: 0,
      skipped_records: 0,
      stale_groups: 0,
    };
    for (const a of this.opened) {
      v.groups += a.size;
      v.snapshots += a.store.counters.snapshots;
      v.skipped_records += a.store.counters.skippedRecords;
      v.stale_groups += a.store.counters.staleGroups;
    }
    return v;
  }

  constructor(
    private readonly host: FaceHost,
    readonly view: StreamsView,
  ) {}

  /** The groups of `account`; rejects when JetStream is off for it. */
  of(account: Account): Promise<AccountGroups> {
    let p = this.accounts.get(account.name);
    if (p === undefined) {
      p = (async () => {
        const js = this.host.jetstream?.account(account.name);
        if (js === undefined) throw new GroupError('ERR JetStream is not enabled for this account');
        // The configured name (`server_name`), '' when unnamed: the node's id changes on every start.
        const store = new GroupStore(js, this.host.options.name);
        const groups = new AccountGroups(account, js, this.host, this.view, store, this.counters);
        await groups.open();
        this.opened.push(groups);
        this.ready.set(account.name, groups);
        return groups;
      })();
      this.accounts.set(account.name, p);
      p.catch(() => this.accounts.delete(account.name));
    }
    return p;
  }

  /** What `of` resolves with, when it has: undefined before the account's groups are open. */
  ofNow(account: Account): AccountGroups | undefined {
    return this.ready.get(account.name);
  }
}
