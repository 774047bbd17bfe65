/**
 * Trusting a private CA with Node's built-in fetch. fetch takes a `dispatcher`, but Node does
 * not export its bundled undici; adding the undici package only for its Agent class would pin a
 * second HTTP stack. undici registers its global dispatcher under a well-known symbol (the
 * contract that lets separate undici copies share one dispatcher), and that object's
 * constructor is undici's Agent, which accepts TLS `connect` options.
 */
import { RegistryError } from '../errors.js';

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** What fetch's `dispatcher` option takes (undici's Dispatcher, as typed by @types/node). */
export type FetchDispatcher = NonNullable<RequestInit['dispatcher']>;

type AgentConstructor = new (options: { connect: { ca: string | Buffer } }) => FetchDispatcher;

/** A fetch `dispatcher` that trusts `ca` (PEM) instead of the system store. */
export function caDispatcher(ca: string | Buffer): FetchDispatcher {
  // Touching Response makes Node load undici, which installs the global dispatcher.
  void globalThis.Response;
  const current = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER];
  const Agent = (current as { constructor?: unknown } | undefined)?.constructor;
  if (typeof Agent !== 'function') {
    throw new RegistryError('REGISTRY_PROTOCOL', 'this Node.js does not expose its fetch dispatcher; a custom CA (--ca-file) needs Node >= 20');
  }
  return new (Agent as AgentConstructor)({ connect: { ca } });
}
