/**
 * The last line of defence: an exception nobody caught, or a promise
 * rejection nobody handled, is a bug in Weft. The process's state can no
 * longer be trusted, so the node is shut down, gracefully but within a
 * bound, and the process exits with EXIT_INTERNAL (70, sysexits' EX_SOFTWARE)
 * so a supervisor sees it was not a clean stop. The error is logged with its
 * stack and counted (`uncaught_errors` in /varz, `weft_uncaught_errors_total`
 * in /metrics, both still served while the node shuts down), and /healthz
 * says why the node is going away.
 *
 * Nothing a client, a peer or the disk does may reach this: each such path
 * handles its own errors. Tests assert the handler was not reached by the
 * process's exit status (0 after SIGTERM, 70 had it been reached).
 */
import { ConfigError } from '../errors.js';
import type { Health } from '../util/health.js';
import type { Logger } from '../util/logger.js';

/** Exit status after an internal error (sysexits.h EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;
/**
 * Time allowed, beyond shutdown_grace (the clients' flush), to close the
 * streams, links and monitor after an internal error; then the process
 * exits regardless.
 */
export const FATAL_STOP_MS = 5000;

/** What the handler needs of a node. */
export interface FatalNode {
  readonly log: Logger;
  readonly stats: { uncaughtErrors: number };
  readonly health: Health;
  readonly options: { readonly shutdownGraceMs: number };
  shutdown(): Promise<void>;
}

function text(err: unknown): { message: string; stack: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack ?? err.message };
  const s = String(err);
  return { message: s, stack: s };
}

export class FatalHandler {
  /** Whether an internal error has started the shutdown. */
  tripped = false;

  constructor(
    private readonly node: FatalNode,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
    /** How long the shutdown may take before the process exits anyway, ms. */
    readonly boundMs: number = node.options.shutdownGraceMs + FATAL_STOP_MS,
  ) {}

  /** Logs and counts `err`; the first one shuts the node down and exits. */
  handle(kind: string, err: unknown): void {
    const n = ++this.node.stats.uncaughtErrors;
    const { message, stack } = text(err);
    this.node.log.error(`${kind} (internal error #${n}): ${stack}`);
    if (this.tripped) return;
    this.tripped = true;
    this.node.health.report('process:fatal', 'process', `${kind}: ${message}; shutting down`);
    this.node.log.error(
      `shutting down after an internal error; exit status ${EXIT_INTERNAL} (at most ${this.boundMs}ms)`,
    );
    const timer = setTimeout(() => {
      this.node.log.error(`shutdown did not finish within ${this.boundMs}ms; exiting now`);
      this.exit(EXIT_INTERNAL);
    }, this.boundMs);
    let stopping: Promise<void>;
    try {
      stopping = this.node.shutdown();
    } catch (e) {
      stopping = Promise.reject(e);
    }
    stopping.then(
      () => {
        clearTimeout(timer);
        this.exit(EXIT_INTERNAL);
      },
      (e: unknown) => {
        clearTimeout(timer);
        this.node.log.error(`shutdown failed: ${text(e).stack}`);
        this.exit(EXIT_INTERNAL);
      },
    );
  }

  /** Handles the process's uncaught exceptions and unhandled rejections; returns the undo. */
  install(proc: NodeJS.EventEmitter = process): () => void {
    const onException = (err: unknown): void => this.handle('uncaught exception', err);
    const onRejection = (reason: unknown): void => this.handle('unhandled rejection', reason);
    proc.on('uncaughtException', onException);
    proc.on('unhandledRejection', onRejection);
    return () => {
      proc.off('uncaughtException', onException);
      proc.off('unhandledRejection', onRejection);
    };
  }
}

/** The environment variable that arms the test fault (see armTestFault). */
export const TEST_FAULT_ENV = 'WEFT_TEST_FAULT';

/**
 * A test hook with no path from the wire: when the process was started with
 * WEFT_TEST_FAULT=uncaught (or =rejection), SIGUSR2 raises an uncaught
 * exception (or an unhandled rejection), so the tests can show what the
 * handler does. Whoever can set a process's environment and signal it owns
 * it already; the hook is logged at start when armed.
 */
export function armTestFault(log: Logger, env: NodeJS.ProcessEnv = process.env): void {
  const kind = env[TEST_FAULT_ENV];
  if (kind === undefined || kind === '') return;
  if (kind !== 'uncaught' && kind !== 'rejection') {
    throw new ConfigError(TEST_FAULT_ENV, `must be "uncaught" or "rejection", got "${kind}"`);
  }
  log.warn(`${TEST_FAULT_ENV}=${kind}: SIGUSR2 raises an internal error (a test hook)`);
  process.on('SIGUSR2', () => {
    if (kind === 'uncaught') {
      setImmediate(() => {
        throw new Error('test fault: an uncaught exception (SIGUSR2)');
      });
    } else {
      void Promise.reject(new Error('test fault: an unhandled rejection (SIGUSR2)'));
    }
  });
}
