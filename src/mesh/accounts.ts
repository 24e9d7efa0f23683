/**
 * Accounts across the mesh. A node serves `$G`, its system account and the
 * accounts of its configuration; each end of a link announces that list in
 * the handshake (or null: every account, for a node whose accounts come
 * from an operator's JWTs). Over a link go only the interest and the
 * messages of accounts both ends serve; a frame naming an account this
 * node does not serve is dropped and counted. A difference between the two
 * lists is logged once per link and shown in /meshz: never a silent leak.
 */
import type { SecurityConfig } from '../auth/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import type { Link } from './link.js';
import type { InterestEntry, InterestUpdate } from './lsdb.js';

/** The global account: every node serves it. */
export const GLOBAL_ACCOUNT = '$G';
/**
 * Bytes of the account list in the handshake (its JSON): it travels in an
 * AUTH frame, which is small until the peer is proven (HANDSHAKE_MAX_FRAME).
 */
export const MESH_ACCOUNTS_MAX_BYTES = 3072;
/** The longest account name a peer may announce, bytes. */
export const MAX_ACCOUNT_NAME = 256;

/** The accounts this node serves (sorted), or null for every account (operator mode). */
export function nodeAccounts(security: SecurityConfig): string[] | null {
  if (security.operator !== null) return null;
  const names = new Set([GLOBAL_ACCOUNT, security.systemAccount]);
  for (const a of security.accounts) names.add(a.name);
  // No system account ('') is no name.
  names.delete('');
  return [...names].sort();
}

/** Refuses a list that cannot travel in the handshake (names the `accounts` key). */
export function checkMeshAccounts(list: readonly string[] | null): void {
  if (list === null) return;
  const bytes = Buffer.byteLength(JSON.stringify(list));
  if (bytes > MESH_ACCOUNTS_MAX_BYTES) {
    throw new ConfigError(
      'accounts',
      `a mesh node announces its accounts in the link handshake, at most ${MESH_ACCOUNTS_MAX_BYTES} bytes of names; these ${list.length} accounts take ${bytes}`,
    );
  }
}

/** An announced list from a peer: null, or names of at most MAX_ACCOUNT_NAME bytes. */
export function parseAccountList(v: unknown): string[] | null | undefined {
  if (v === null) return null;
  if (!Array.isArray(v)) return undefined;
  for (const a of v) {
    if (typeof a !== 'string' || a === '' || Buffer.byteLength(a) > MAX_ACCOUNT_NAME) {
      return undefined;
    }
  }
  return v as string[];
}

/** Accounts one list has and the other lacks (null has every account). */
export function missingFrom(
  have: readonly string[] | null,
  from: readonly string[] | null,
): string[] {
  if (from === null || have === null) return [];
  const set = new Set(from);
  return have.filter((a) => !set.has(a));
}

/** A fast membership test: null serves every account. */
export class AccountSet {
  private readonly set: Set<string> | null;
  /** The last account found in the set: frames repeat one account (as the same string). */
  private last = '';

  constructor(readonly list: readonly string[] | null) {
    this.set = list === null ? null : new Set(list);
  }

  has(account: string): boolean {
    if (account === this.last || this.set === null) return true;
    if (!this.set.has(account)) return false;
    this.last = account;
    return true;
  }

  /** Whether every entry's account is in the set. */
  all(entries: readonly InterestEntry[]): boolean {
    for (const e of entries) if (!this.has(e[0])) return false;
    return true;
  }

  /** `u` with only the entries of accounts in the set (`u` itself when nothing is left out). */
  filter(u: InterestUpdate): InterestUpdate {
    if (this.set === null || (this.all(u.add) && this.all(u.del))) return u;
    return {
      ...u,
      add: u.add.filter((e) => this.has(e[0])),
      del: u.del.filter((e) => this.has(e[0])),
    };
  }
}

/**
 * A link came up: what its peer serves decides what is sent to it. A
 * difference between the two lists is logged once, naming the accounts.
 */
export function peerAccountsUp(
  link: Link,
  mine: readonly string[] | null,
  theirs: readonly string[] | null,
  log: Logger,
): void {
  link.peerAccounts = new AccountSet(theirs);
  link.accountsMissingHere = missingFrom(theirs, mine);
  link.accountsMissingThere = missingFrom(mine, theirs);
  const here = link.accountsMissingHere;
  const there = link.accountsMissingThere;
  if (here.length === 0 && there.length === 0) return;
  const list = (a: string[]): string => a.map((n) => `"${n}"`).join(', ');
  const parts: string[] = [];
  if (there.length > 0) {
    parts.push(`"${link.peer}" does not serve ${list(there)}: nothing of them is sent to it`);
  }
  if (here.length > 0) {
    parts.push(
      `this node does not serve ${list(here)}: frames of them from "${link.peer}" are dropped`,
    );
  }
  log.warn(`mesh link to "${link.peer}": the account lists differ; ${parts.join('; ')}`);
}

/** Where frames of accounts this node does not serve are counted. */
export interface ForeignHost {
  readonly foreignAccount: { msgs: number; interest: number };
  readonly log: Logger;
}

/**
 * A frame from `link` named an account this node does not serve: a message
 * (`what`: its account), or interest entries (`what`: the update as it came,
 * `kept`: what is left). Dropped, counted, and logged once per link.
 */
export function foreignFrame(
  host: ForeignHost,
  link: Link,
  kind: 'msgs' | 'interest',
  what: string | InterestUpdate,
  kept: InterestUpdate | null,
): void {
  let accounts: string[];
  if (typeof what === 'string') {
    accounts = [what];
    host.foreignAccount.msgs++;
    link.foreignMsgs++;
  } else {
    const keptN = kept === null ? 0 : kept.add.length + kept.del.length;
    const n = what.add.length + what.del.length - keptN;
    host.foreignAccount.interest += n;
    link.foreignInterest += n;
    const seen = new Set<string>();
    for (const e of [...what.add, ...what.del]) seen.add(e[0]);
    accounts = [...seen].filter(
      (a) => kept === null || !kept.add.concat(kept.del).some((e) => e[0] === a),
    );
  }
  if (link.foreignLogged) return;
  link.foreignLogged = true;
  const names = accounts
    .slice(0, 5)
    .map((a) => JSON.stringify(a.slice(0, 64)))
    .join(', ');
  host.log.warn(
    `mesh link to "${link.peer}": ${kind === 'msgs' ? 'a message' : 'interest'} of account ${names}, which this node does not serve: dropped; further ones from this link are only counted (/meshz foreign_account)`,
  );
}
