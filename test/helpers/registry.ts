/**
 * Test helpers for registry work: the real local registry (started per test file), synthetic
 * OCI layouts with real tar.gz layers and attachments following the layout convention,
 * skopeo, and two loopback stand-ins that put faults between client and registry: a TCP proxy
 * that can cut connections, and an HTTP proxy that answers chosen requests with errors.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { afterAll } from 'vitest';
import { run, type RunResult } from '../../src/exec.js';
import { ATTACHMENT_ANNOTATION as ATTACHMENT, type AttachmentKind } from '../../src/oci/attachment-kinds.js';
import { EMPTY_CONFIG } from '../../src/oci/attachments.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { Descriptor, Manifest } from '../../src/oci/types.js';
import { startLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from '../../src/registry/local-registry.js';
import { SIGNATURE_IDENTITY_ANNOTATION } from '../../src/registry/lookaside.js';
import { tempDir } from './tmp.js';
import type { TestImage } from './oci-image.js';
export { randomLayer, rawLayer, writeTestImage, type LayerBlob, type TestImage, type TestImageOptions } from './oci-image.js';

// Hooks registered from inside beforeAll/it are not run by vitest, so cleanup is registered
// here, at import time, on the importing test file's root suite.
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real docker-registry, stopped (and its files removed) after the test file. */
export async function startTestRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const registry = await startLocalRegistry(options);
  cleanups.push(() => registry.stop());
  return registry;
}

/** A temporary directory removed after the test file. */
export function testDir(prefix = 'imgfactory-registry-test-'): Promise<string> {
  return tempDir(prefix);
}

/** Attach an artifact (signature, SBOM or provenance) to `subject` in the layout, as the sign module does. */
export async function writeTestAttachment(
  layoutDir: string,
  subject: Descriptor,
  kind: AttachmentKind,
  layers: readonly { bytes: Uint8Array; mediaType: string; annotations?: Record<string, string> }[],
): Promise<Descriptor> {
  const layout = await Layout.open(layoutDir);
  await layout.writeJson({}, MediaType.emptyJson);
  const layerDescs: Descriptor[] = [];
  for (const l of layers) {
    const d = await layout.writeBlob(l.bytes, l.mediaType);
    layerDescs.push(l.annotations ? { ...d, annotations: l.annotations } : d);
  }
  const artifactType = kind === 'signature' ? MediaType.simpleSigning : kind === 'sbom' ? MediaType.spdxJson : MediaType.dsseEnvelope;
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: layerDescs,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const d = await layout.writeJson(manifest, MediaType.imageManifest);
  const entry: Descriptor = { ...d, artifactType, annotations: { [ATTACHMENT]: kind } };
  await layout.setEntries([...layout.entries.filter((m) => m.digest !== entry.digest), entry]);
  return entry;
}

/** Signature (fake bytes unless given), SBOM and provenance attachments for `image`. */
export async function writeTestAttachments(image: TestImage, identities: readonly string[], signatureBytes?: readonly Buffer[]): Promise<Descriptor[]> {
  const sig = await writeTestAttachment(
    image.layoutDir,
    image.manifest,
    'signature',
    identities.map((identity, i) => ({
      bytes: signatureBytes?.[i] ?? randomBytes(300),
      mediaType: MediaType.simpleSigningLayer,
      annotations: { [SIGNATURE_IDENTITY_ANNOTATION]: identity },
    })),
  );
  const sbom = await writeTestAttachment(image.layoutDir, image.manifest, 'sbom', [
    { bytes: Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: image.tag, nonce: randomBytes(8).toString('hex') })), mediaType: MediaType.spdxJson },
  ]);
  const prov = await writeTestAttachment(image.layoutDir, image.manifest, 'provenance', [
    {
      bytes: Buffer.from(JSON.stringify({ payloadType: MediaType.inTotoProvenance, payload: randomBytes(64).toString('base64'), signatures: [] })),
      mediaType: MediaType.dsseEnvelope,
    },
  ]);
  return [sig, sbom, prov];
}

/** skopeo with the arguments given; a registry's TLS flags come from `tlsArgs`. */
export function skopeo(args: readonly string[], options: { okExitCodes?: number[]; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  return run(['skopeo', ...args], { timeoutMs: 120_000, ...options });
}

/** skopeo's flags to reach `registry` (`--cert-dir` with its CA, or plain HTTP). */
export function tlsArgs(registry: LocalRegistry, flag: 'src' | 'dest' | 'none' = 'none'): string[] {
  const prefix = flag === 'none' ? '' : `${flag}-`;
  return registry.certDir ? [`--${prefix}cert-dir`, registry.certDir] : [`--${prefix}tls-verify=false`];
}

export { sha256Hex } from '../../src/oci/digest.js';

/** A loopback TCP proxy in front of `targetPort` whose connections can be cut. */
export interface TcpProxy {
  readonly port: number;
  readonly host: string;
  /** Bytes forwarded client → server so far. */
  upstreamBytes(): number;
  /** Destroy every open connection once `n` more client → server bytes have passed. */
  cutAfter(n: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  let cut: { at: number; done: () => void } | undefined;
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.byteLength;
      upstream.write(chunk);
      if (cut && forwarded >= cut.at) {
        const c = cut;
        cut = undefined;
        for (const s of sockets) s.destroy();
        sockets.clear();
        c.done();
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    host: `127.0.0.1:${port}`,
    upstreamBytes: () => forwarded,
    cutAfter: (n) => new Promise<void>((done) => (cut = { at: forwarded + n, done })),
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

export interface FaultRule {
  /** Matches method and path (query excluded). */
  readonly match: (method: string, path: string) => boolean;
  /** How many matching requests to fail. */
  times: number;
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** Forward the request to the registry first and fail only the answer (the server did the work). */
  readonly afterForward?: boolean;
  /** Never answer (the client's timeout must fire); `status` is what gets recorded. */
  readonly hang?: boolean;
}

/** Every request seen by the fault proxy, with what it answered. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bodyBytes: number;
  readonly authorization: string | undefined;
}

export interface FaultProxy {
  readonly host: string;
  readonly seen: SeenRequest[];
  /** Most requests the proxy had open at the same time. */
  maxInFlight(): number;
  stop(): Promise<void>;
}

/** An HTTP proxy to a plain-HTTP registry that answers rule-matching requests with errors. */
export async function startFaultProxy(targetPort: number, rules: FaultRule[]): Promise<FaultProxy> {
  const seen: SeenRequest[] = [];
  let inFlight = 0;
  let peak = 0;
  const server = createHttpServer((req, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    // 'finish' fires once the answer is handed to the socket, before the client can react to it.
    let counted = true;
    const release = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.on('finish', release);
    res.on('close', release);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = req.method ?? 'GET';
    const rule = rules.find((r) => r.times > 0 && r.match(method, path));
    if (rule) rule.times--;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record = (status: number) => seen.push({ method, path, status, bodyBytes: body.byteLength, authorization: req.headers.authorization });
      if (rule?.hang) {
        record(rule.status);
        return;
      }
      if (rule && !rule.afterForward) {
        record(rule.status);
        res.writeHead(rule.status, { 'Content-Type': 'application/json', ...rule.headers });
        res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by test' }] }));
        return;
      }
      const up = httpRequest({ host: '127.0.0.1', port: targetPort, method, path: req.url, headers: req.headers }, (upRes: IncomingMessage) => {
        const upChunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => upChunks.push(c));
        upRes.on('end', () => {
          if (rule?.afterForward) {
            // The registry has done the work; the client never hears about it.
            record(rule.status);
            res.writeHead(rule.status, { 'Content-Type': 'application/json', ...rule.headers });
            res.end('{}');
            return;
          }
          record(upRes.statusCode ?? 0);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(Buffer.concat(upChunks));
        });
      });
      up.on('error', () => {
        record(502);
        res.writeHead(502).end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    maxInFlight: () => peak,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
