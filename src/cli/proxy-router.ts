/**
 * The fetch dispatcher behind src/cli/proxy.ts, in its own module so that undici is loaded only
 * when a proxy is set.
 */
import { Agent, Dispatcher, getGlobalDispatcher, ProxyAgent, setGlobalDispatcher } from 'undici';
import { proxyFor, type ProxySettings } from './proxy.js';

/** A fetch dispatcher that sends each request through its proxy, or directly. */
class ProxyRouter extends Dispatcher {
  private readonly direct = new Agent();
  private readonly proxies = new Map<string, ProxyAgent>();

  constructor(private readonly settings: ProxySettings) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    const proxy = proxyFor(new URL(String(options.origin)), this.settings);
    if (proxy === undefined) return this.direct.dispatch(options, handler);
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent(proxy);
      this.proxies.set(proxy, agent);
    }
    return agent.dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct.close(), ...[...this.proxies.values()].map((a) => a.close())]).then(() => undefined);
    if (callback) void done.then(callback);
    else return done;
  }
}

/** Installs the router as fetch's global dispatcher; the returned function puts the previous one back. */
export function routeThroughProxies(settings: ProxySettings): () => void {
  const previous = getGlobalDispatcher();
  const router = new ProxyRouter(settings);
  setGlobalDispatcher(router);
  return () => {
    setGlobalDispatcher(previous);
    void router.close();
  };
}
