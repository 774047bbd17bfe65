/** The registry connection flags shared by pull and verify: --ca-file, --insecure, credentials. */
import { resolve } from 'node:path';
import { createRegistryClient, type RegistryClient } from '../../registry/client.js';
import { resolveCredentials } from '../../registry/credentials.js';
import { boolOpt, stringOpt, type CommandContext, type OptionSpec } from '../command.js';

export const REGISTRY_OPTIONS: OptionSpec = {
  'ca-file': { type: 'string' },
  insecure: { type: 'boolean' },
};

export const REGISTRY_OPTIONS_HELP = `  --ca-file <pem>      trust this CA for the registry's TLS certificate
  --insecure           plain HTTP (never used unless asked)
Credentials: docker config (auths, credHelpers, credsStore) or
$IMGFACTORY_REGISTRY_USER / $IMGFACTORY_REGISTRY_PASSWORD.`;

export async function registryClientFromFlags(ctx: CommandContext, registry: string): Promise<RegistryClient> {
  const caFile = stringOpt(ctx, 'ca-file');
  const credentials = await resolveCredentials({ registry, env: ctx.env });
  return createRegistryClient({
    registry,
    ...(boolOpt(ctx, 'insecure') ? { insecure: true } : {}),
    ...(caFile ? { caFile: resolve(ctx.cwd, caFile) } : {}),
    ...(credentials ? { credentials } : {}),
  });
}
