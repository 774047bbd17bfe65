/**
 * Whether a proxy routes fetch (cli/proxy.ts installs undici dispatchers): the registry
 * transport then sends through fetch instead of node:http (http-fetch.ts). Its own module so the
 * CLI can flip it without loading an HTTP stack.
 */
let proxied = false;

export function setFetchProxied(on: boolean): void {
  proxied = on;
}

export function fetchIsProxied(): boolean {
  return proxied;
}
