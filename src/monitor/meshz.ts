/**
 * /meshz: this node's place in the mesh: its links, the nodes it knows and
 * how it reaches them, interest counts, refusals.
 */
import type { TLSSocket } from 'node:tls';
import type { Mesh } from '../mesh/mesh.js';
import { goDuration } from './endpoints.js';
import type { MonitoredNode } from './node-view.js';

export function meshz(node: MonitoredNode): Record<string, unknown> {
  const mesh: Mesh | null = node.mesh;
  const now = Date.now();
  if (mesh === null) {
    return { server_id: node.serverId, name: node.name, enabled: false, links: [], nodes: [] };
  }
  const self = mesh.lsdb.self;
  return {
    server_id: node.serverId,
    name: node.name,
    enabled: true,
    now: new Date(now).toISOString(),
    mesh_port: mesh.port,
    links: [...mesh.links.values()].map((l) => ({
      peer: l.peer,
      peer_id: l.peerId,
      direction: l.direction,
      state: l.state,
      url: l.url || undefined,
      ip: l.remoteAddress,
      port: l.remotePort,
      cost: l.cost,
      rtt_ms: l.rttMs,
      uptime: goDuration(now - l.upSince),
      in_msgs: l.inMsgs,
      out_msgs: l.outMsgs,
      in_bytes: l.inBytes,
      out_bytes: l.outBytes,
      dropped_msgs: l.droppedMsgs,
      pending_bytes: l.pendingBytes,
      reconnects: mesh.dialers.find((d) => d.peer === l.peer)?.reconnects ?? 0,
      tls_version: (l.socket as Partial<TLSSocket>).getProtocol?.() ?? undefined,
      // The peer's account list against this node's (docs/mesh.md, "Accounts").
      accounts_missing_here: l.accountsMissingHere,
      accounts_missing_there: l.accountsMissingThere,
      withheld_msgs: l.withheldMsgs,
      foreign_account_msgs: l.foreignMsgs,
      foreign_account_interest: l.foreignInterest,
    })),
    dialers: mesh.dialers.map((d) => ({
      url: d.url.text,
      peer: d.peer || undefined,
      state: d.state,
      attempts: d.attempts,
      reconnects: d.reconnects,
      last_error: d.lastError || undefined,
    })),
    nodes: [...mesh.lsdb.nodes.values()]
      .filter((s) => s !== self)
      .map((s) => ({
        name: s.name,
        id: s.id,
        reachable: s.reachable,
        distance: s.reachable ? s.distance : null,
        next_hop: s.reachable ? s.nextHop : null,
        links: s.links,
        interest: s.interest.size,
      })),
    interest: {
      local: self.interest.size,
      advertised: mesh.localInterestCount,
      remote: mesh.remoteInterestCount,
    },
    tls: mesh.options.tls
      ? { enabled: true, reloads: mesh.options.tls.reloads, handshakes: mesh.transport.pending }
      : { enabled: false },
    accounts: mesh.served.list,
    foreign_account: mesh.foreignAccount,
    refused: mesh.refused,
    handshakes: mesh.handshakeCount,
    unencodable: mesh.unencodable,
    invalid_subjects: mesh.invalidSubjects,
    no_route: mesh.noRoute,
    ttl_expired: mesh.ttlExpired,
    name_conflicts: mesh.lsdb.nameConflicts,
    interest_gaps: mesh.lsdb.gaps,
  };
}
