/**
 * The proxy variables (`http_proxy`, `https_proxy`, `no_proxy`, and their upper-case forms)
 * for imgfactory's own HTTP: archive downloads and registry requests. debootstrap and apt get
 * them through their environment (src/bootstrap/debootstrap.ts); Node 20's fetch ignores them,
 * so the CLI installs a dispatcher that routes each origin to undici's ProxyAgent or straight
 * through, as fetch's global dispatcher for the length of one command. undici registers that
 * dispatcher under a well-known symbol that Node's bundled fetch reads, which is why the `undici`
 * package is a dependency: Node does not export its own copy. (undici's EnvHttpProxyAgent does
 * the same but prints an "experimental" warning on every run, and falls back to process.env.)
 *
 * Rules, as curl and apt read them: lower case wins over upper case; `https_proxy` unset means
 * https goes through `http_proxy`; `no_proxy` entries are host names (also matching their
 * subdomains), `.suffix` or `*.suffix`, optionally with `:port`, or `*` for everything; loopback
 * is never proxied (containers/image's rule, so skopeo and podman agree).
 */
import { Agent, Dispatcher, getGlobalDispatcher, ProxyAgent, setGlobalDispatcher } from 'undici';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

export interface ProxySettings {
  readonly httpProxy: string;
  readonly httpsProxy: string;
  readonly noProxy: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** The proxy settings in `env`, or undefined when no proxy is set. Pure. */
export function proxySettings(env: Env): ProxySettings | undefined {
  const read = (name: string) => env[name] || env[name.toUpperCase()] || '';
  const httpProxy = read('http_proxy');
  const httpsProxy = read('https_proxy') || httpProxy;
  if (httpProxy === '' && httpsProxy === '') return undefined;
  const noProxy = read('no_proxy')
    .split(/[,\s]+/)
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  return { httpProxy, httpsProxy, noProxy: [...noProxy, ...LOOPBACK] };
}

/** Which proxy URL `url` goes through, or undefined for a direct connection. Pure. */
export function proxyFor(url: URL, settings: ProxySettings): string | undefined {
  const host = url.hostname.toLowerCase();
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  for (const entry of settings.noProxy) {
    if (entry === '*') return undefined;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const name = m[1]!.replace(/^\*/, '');
    if (m[2] !== undefined && Number(m[2]) !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`)) return undefined;
  }
  const proxy = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
  return proxy === '' ? undefined : proxy;
}

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

/**
 * Routes fetch through the proxies `env` names until the returned function is called. Only the
 * environment given to main() counts, never process.env behind its back.
 */
export function useProxiesFrom(env: Env): () => void {
  const settings = proxySettings(env);
  if (!settings) return () => undefined;
  const previous = getGlobalDispatcher();
  const router = new ProxyRouter(settings);
  setGlobalDispatcher(router);
  return () => {
    setGlobalDispatcher(previous);
    void router.close();
  };
}
