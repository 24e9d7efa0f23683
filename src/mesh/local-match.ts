/**
 * The local match for the frames a node delivers from its links. A run of
 * frames repeats account and subject (the decoder hands them out as the
 * same strings): the last result is kept until the account's sublist
 * changes (`generation`), as the NATS session keeps its publisher's.
 * Matching every frame was 4 % of a receiving node's time
 * (bench/PROFILE.md, "Issue 16 — mesh, round 3").
 */
import type { Accounts } from '../core/account.js';
import type { MatchResult, Sublist } from '../core/sublist.js';

export class LocalMatch {
  private account = '';
  private list: Sublist | null = null;
  private subject = '';
  private generation = -1;
  private result: MatchResult | null = null;

  constructor(private readonly accounts: Accounts) {}

  /** The match of `subject` in `account`'s sublist (the account made if new). */
  match(account: string, subject: string): MatchResult {
    let list = this.list;
    if (account !== this.account || list === null) {
      list = this.accounts.getOrCreate(account).sublist;
      this.account = account;
      this.list = list;
    } else if (subject === this.subject && list.generation === this.generation) {
      return this.result!;
    }
    const result = list.match(subject);
    this.subject = subject;
    this.generation = list.generation;
    this.result = result;
    return result;
  }
}
