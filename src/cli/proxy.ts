/**
 * The proxy variables (`http_proxy`, `https_proxy`, `no_proxy`, and their upper-case forms)
 * for imgfactory's own HTTP: archive downloads and registry requests. debootstrap and apt get
 * them through their environment (src/bootstrap/debootstrap.ts); Node 20's fetch ignores them,
 * so the CLI installs a dispatcher that routes each origin to undici's ProxyAgent or straight
 * through, as fetch's global dispatcher for the length of one command. undici registers that
 * dispatcher (src/cli/proxy-router.ts) under a well-known symbol that Node's bundled fetch reads, which is why the `undici`
 * package is a dependency: Node does not export its own copy. (undici's EnvHttpProxyAgent does
 * the same but prints an "experimental" warning on every run, and falls back to process.env.)
 *
 * Rules, as curl and apt read them: lower case wins over upper case; `https_proxy` unset means
 * https goes through `http_proxy`; `no_proxy` entries are host names (also matching their
 * subdomains), `.suffix` or `*.suffix`, optionally with `:port`, or `*` for everything; loopback
 * is never proxied (containers/image's rule, so skopeo and podman agree).
 */
import { UsageError } from '../errors.js';
import { setFetchProxied } from '../registry/fetch-route.js';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

export interface ProxySettings {
  readonly httpProxy: string;
  readonly httpsProxy: string;
  readonly noProxy: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** The proxy settings in `env`, or undefined when no proxy is set; a malformed proxy URL is BAD_ENVIRONMENT (exit 2). Pure. */
export function proxySettings(env: Env): ProxySettings | undefined {
  const read = (name: string): [variable: string, value: string] => (env[name] ? [name, env[name]] : [name.toUpperCase(), env[name.toUpperCase()] ?? '']);
  const proxyUrl = (name: string): string => {
    const [variable, raw] = read(name);
    if (raw === '') return '';
    // Without a scheme, http:// (as curl reads it). The value is never echoed: a proxy URL may
    // carry a user name and password.
    const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
    if (!/^https?:\/\//i.test(value)) throw new UsageError('BAD_ENVIRONMENT', `${variable}: only http:// and https:// proxies are supported`);
    if (!URL.canParse(value) || new URL(value).hostname === '') throw new UsageError('BAD_ENVIRONMENT', `${variable}: not a valid proxy URL`);
    return value;
  };
  const httpProxy = proxyUrl('http_proxy');
  const httpsProxy = proxyUrl('https_proxy') || httpProxy;
  if (httpProxy === '' && httpsProxy === '') return undefined;
  const noProxy = read('no_proxy')[1]
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

/**
 * Routes fetch through the proxies `env` names until the returned function is called. Only the
 * environment given to main() counts, never process.env behind its back.
 */
export async function useProxiesFrom(env: Env): Promise<() => void> {
  const settings = proxySettings(env);
  if (!settings) return () => undefined;
  // undici is loaded only when a proxy is set: most runs have none, and it costs start-up time.
  const { routeThroughProxies } = await import('./proxy-router.js');
  const restore = routeThroughProxies(settings);
  // The registry transport then sends through fetch, which the proxies are installed in.
  setFetchProxied(true);
  return () => {
    setFetchProxied(false);
    restore();
  };
}
