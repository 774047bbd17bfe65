/**
 * Consumer configuration for podman, skopeo and cri-o (containers-policy.json(5) and
 * containers-registries.d(5)): reject everything by default, require a signature by our key
 * for images from our registry, and say where the lookaside signatures are. Pure.
 */
import { UsageError } from '../errors.js';

export interface PolicyInput {
  /** Policy scope: `host[:port]` or `host[:port]/namespace`. */
  readonly registry: string;
  /** Absolute path, on the consumer, of the keyring holding the trusted public keys. */
  readonly keyPath: string;
  /** Lookaside base URL: `https://…`, `http://…` or `file:///…`. */
  readonly lookaside: string;
  /** Base name of the registries.d file and keyring (default: derived from the registry). */
  readonly name?: string;
  /** Also accept images from local transports (oci:, dir:, containers-storage:, archives). */
  readonly allowLocalTransports?: boolean;
}

export interface PolicyRequirement {
  readonly type: 'reject' | 'insecureAcceptAnything' | 'signedBy';
  readonly keyType?: 'GPGKeys';
  readonly keyPath?: string;
}

export interface ContainersPolicy {
  readonly default: readonly PolicyRequirement[];
  readonly transports: Readonly<Record<string, Readonly<Record<string, readonly PolicyRequirement[]>>>>;
}

export interface PolicyFiles {
  readonly name: string;
  readonly policy: ContainersPolicy;
  readonly policyJson: string;
  /** File name inside registries.d/. */
  readonly registriesDFile: string;
  readonly registriesDYaml: string;
}

const LOCAL_TRANSPORTS = ['containers-storage', 'dir', 'docker-archive', 'oci', 'oci-archive'] as const;

const hostRe = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const nameRe = /^[a-z0-9][a-z0-9._-]*$/;

export function validatePolicyScope(scope: string): string {
  const [host, ...path] = scope.split('/');
  if (!host || !hostRe.test(host) || !path.every((c) => pathComponentRe.test(c))) {
    throw new UsageError('BAD_OPTION', `--registry ${scope}: expected host[:port] or host[:port]/namespace`);
  }
  return scope;
}

export function defaultPolicyName(scope: string): string {
  return (
    scope
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^[-.]+|-+$/g, '') || 'registry'
  );
}

function validateLookaside(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('BAD_OPTION', `--lookaside ${url}: not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
    throw new UsageError('BAD_OPTION', `--lookaside ${url}: expected an http://, https:// or file:// URL`);
  }
  return url;
}

/** A YAML double-quoted scalar; JSON string escapes are valid YAML escapes. */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

export function buildPolicy(input: PolicyInput): PolicyFiles {
  const scope = validatePolicyScope(input.registry);
  const lookaside = validateLookaside(input.lookaside);
  if (!input.keyPath.startsWith('/')) throw new UsageError('BAD_OPTION', `key path ${input.keyPath} must be absolute`);
  const name = input.name ?? defaultPolicyName(scope);
  if (!nameRe.test(name)) throw new UsageError('BAD_OPTION', `--name ${name}: use lower-case letters, digits, ".", "_" and "-"`);
  const accept: PolicyRequirement[] = [{ type: 'insecureAcceptAnything' }];
  const transports: Record<string, Record<string, readonly PolicyRequirement[]>> = {
    docker: { [scope]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: input.keyPath }] },
  };
  if (input.allowLocalTransports) for (const t of LOCAL_TRANSPORTS) transports[t] = { '': accept };
  const policy: ContainersPolicy = { default: [{ type: 'reject' }], transports };
  const registriesDYaml = [
    `# imgfactory: lookaside signature storage for ${scope}`,
    'docker:',
    `  ${yamlString(scope)}:`,
    `    lookaside: ${yamlString(lookaside)}`,
    '',
  ].join('\n');
  return {
    name,
    policy,
    policyJson: `${JSON.stringify(policy, null, 2)}\n`,
    registriesDFile: `${name}.yaml`,
    registriesDYaml,
  };
}
