/** The normalized recipe: every default resolved. The build engine consumes only this. */

export interface RecipeFile {
  /** Relative to the recipe's folder (checked not to escape it). */
  readonly src: string;
  readonly dest: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface RecipeUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
  readonly groups: readonly string[];
}

export interface RecipeLayer {
  readonly name: string;
  readonly packages: readonly string[];
  readonly files: readonly RecipeFile[];
  readonly users: readonly RecipeUser[];
  readonly remove: { readonly packages: readonly string[]; readonly paths: readonly string[] };
}

export interface RecipeConfig {
  readonly user?: string;
  readonly workdir?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Normalized "PORT/proto". */
  readonly ports: readonly string[];
  readonly stopSignal?: string;
}

export interface SlimRules {
  readonly docs: boolean;
  readonly man: boolean;
  /** Locale names to keep; `null` keeps every locale. */
  readonly keepLocales: readonly string[] | null;
  readonly caches: boolean;
}

export interface StripRules {
  readonly shell: boolean;
  readonly apt: boolean;
  readonly dpkgTools: boolean;
  readonly paths: readonly string[];
}

/** The image assembled from a package set (see schema.ts `contentsSchema`). */
export interface RecipeContents {
  /** Packages whose dpkg file lists make up the image, in the recipe's order. */
  readonly packages: readonly string[];
  /** Absolute paths created in the build root (by maintainer scripts or imgfactory) that the image also receives. */
  readonly generated: readonly string[];
}

export interface Recipe {
  /** Absolute path of the recipe module. */
  readonly file: string;
  /** sha256 hex of the recipe file's bytes (provenance). */
  readonly fileSha256: string;
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly suite: string;
  readonly architectures: readonly string[];
  /** undefined: use the mirror from the host's apt configuration (resolved at build time). */
  readonly mirror?: string;
  readonly securityMirror?: string;
  readonly components: readonly string[];
  readonly variant: 'minbase' | 'buildd' | 'default';
  readonly updates: boolean;
  /** Absolute path of the parent recipe. */
  readonly from?: string;
  readonly layers: readonly RecipeLayer[];
  readonly config: RecipeConfig;
  readonly slim: SlimRules | null;
  readonly strip: StripRules | null;
  /** null: the image is the whole build root (bootstrap, layers, slim, strip). */
  readonly contents: RecipeContents | null;
  readonly publish?: { readonly repository: string; readonly tags: readonly string[] };
}
