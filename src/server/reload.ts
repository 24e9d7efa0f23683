/**
 * Reloading a running node's configuration (SIGHUP, as nats-server): users,
 * permissions, accounts and limits, certificates (the mesh's re-read at the
 * paths it started with), the log level and the config's webhooks (applied
 * by the HTTP face) take effect at once; every other setting needs a restart and is named in the
 * log. Connections that are still allowed keep going untouched. One whose
 * credentials no longer hold (its user removed, its password changed, its
 * account changed) is closed with 'Authorization Violation'; one whose
 * permissions shrank loses the subscriptions no longer allowed, each with
 * nats-server's violation text, and stays.
 */
import { JwtAuthenticator } from '../auth/jwt-auth.js';
import { validateOptions } from '../config/config.js';
import { type ServerOptions, withDefaults } from '../config/options.js';
import type { FaceConnection } from '../protocols/face.js';
import type { WeftNode } from './server.js';

/** Settings a reload applies; a change to any other is logged as needing a restart. */
export const RELOADABLE: readonly (keyof ServerOptions)[] = [
  'security',
  'authTimeoutMs',
  'tls',
  'logLevel',
  // Applied by the HTTP face (docs/webhooks.md); when that face is not
  // running (no http.port and no webhooks at start), a change needs a restart.
  'webhooks',
];

export interface ReloadReport {
  /** Connections closed because their credentials no longer hold. */
  closed: number;
  /** Connections whose permissions or limits were replaced. */
  updated: number;
  /** Subscriptions removed because they are no longer permitted. */
  subscriptionsRemoved: number;
  /** Settings that changed but need a restart. */
  needRestart: string[];
}

/**
 * Applies `next` (the whole configuration, as read again from its sources)
 * to `node`. Throws a ConfigError, changing nothing, when `next` is invalid.
 */
export async function reloadNode(
  node: WeftNode,
  next: Partial<ServerOptions>,
): Promise<ReloadReport> {
  const o = withDefaults(next);
  validateOptions(o);
  const prev = node.options;
  const needRestart: string[] = [];
  for (const k of Object.keys(o) as (keyof ServerOptions)[]) {
    if (RELOADABLE.includes(k)) continue;
    if (JSON.stringify(o[k]) !== JSON.stringify(prev[k])) needRestart.push(k);
  }
  if (
    JSON.stringify(o.webhooks) !== JSON.stringify(prev.webhooks) &&
    !node.faces.some((f) => f.name === 'http')
  ) {
    needRestart.push('webhooks');
  }
  // The system account is fixed at start (advisories, the mesh's account list).
  if (o.security.systemAccount !== prev.security.systemAccount) needRestart.push('system_account');
  // Operator mode: the operator and account JWTs read again (a bad one throws, changing nothing).
  const sec = o.security;
  const operator =
    sec.operator === null
      ? null
      : new JwtAuthenticator(sec.operator, node.accounts, sec.systemAccount);
  // Certificates first: a bad file throws before anything else changed.
  node.reloadCertificates(o);
  node.security.replace(o.security, operator);
  node.setReloadable(o);
  for (const a of o.security.accounts) node.accounts.getOrCreate(a.name);
  node.accounts.getOrCreate(operator?.systemAccount ?? sec.systemAccount);
  node.useOperator(operator);
  node.replaceImports({ ...o.security, ...node.jetstreamAccounts() });
  // JetStream in newly enabled accounts, and the accounts' new limits.
  await node.jetstream?.apply(node.jetstreamAccounts());

  const report: ReloadReport = { closed: 0, updated: 0, subscriptionsRemoved: 0, needRestart };
  await Promise.all([...node.connections.values()].map((c) => recheck(node, c, report)));
  for (const k of needRestart) {
    node.log.warn(`reload: ${k} changed; it takes effect after a restart`);
  }
  node.log.info(
    `Reloaded configuration: ${report.closed} connection(s) closed, ${report.updated} updated, ${report.subscriptionsRemoved} subscription(s) removed`,
  );
  return report;
}

async function recheck(node: WeftNode, s: FaceConnection, report: ReloadReport): Promise<void> {
  const old = s.identity;
  const creds = s.credentials;
  if (old === null || creds === null || s.closed) return;
  const r = await node.security.authenticator.authenticate(creds);
  if (s.closed) return;
  if (!r.ok || r.identity.account !== old.account) {
    const why = r.ok ? `its account is now ${r.identity.account.name}` : r.why;
    node.log.warn(
      `cid:${s.id} ${s.remoteAddress}:${s.remotePort} user "${old.user}" - closed on reload: ${why}`,
    );
    s.revoked(why);
    report.closed++;
    return;
  }
  report.subscriptionsRemoved += s.reauthorized(r.identity);
  report.updated++;
}
