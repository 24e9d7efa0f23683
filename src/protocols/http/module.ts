/**
 * A module of the HTTP API: a group of routes with a life of its own
 * (publish and request; Server-Sent Events; webhooks). The HTTP face
 * builds every module listed in mount.ts with the node's `FaceHost`, adds
 * its routes to one table (routes.ts: the OpenAPI document is built from
 * it), starts it after its listener is bound and stops it before it
 * closes.
 */
import type { Registry } from 'prom-client';
import type { FaceHost } from '../face.js';
import type { HttpRoute } from './routes.js';

export interface HttpModule {
  /** `core`, `sse`, `webhooks`: the log, `/varz` (`http.<name>`), the routes' `module`. */
  readonly name: string;
  readonly routes: readonly HttpRoute[];
  /** After the listener is bound (webhooks start their deliveries). */
  start?(): Promise<void>;
  /** Before the listener closes: end long-lived answers, timers, outgoing requests. */
  stop?(): Promise<void>;
  /** The module's own `/varz` fields (under `http.<name>`). */
  varz?(): Record<string, unknown>;
  /** Its own metrics (`weft_http_<name>_…`). */
  metrics?(registry: Registry): void;
  /** A reload (SIGHUP) was applied: `host.options` holds the new settings. */
  reloaded?(): void;
}

/** What a module is built from: the node, and what the HTTP face shares with its modules. */
export interface HttpModuleHost {
  readonly host: FaceHost;
  /** The listener's base URL once started (`http://127.0.0.1:8080`), '' before and when only on the WebSocket port. */
  readonly baseUrl: () => string;
  /** Every route of the face (all modules'), once they are built: the OpenAPI document reads it. */
  readonly routes: () => readonly HttpRoute[];
}

export type HttpModuleFactory = (m: HttpModuleHost) => HttpModule;
