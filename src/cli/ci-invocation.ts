/**
 * The provenance's builder and invocation when the build runs in GitHub Actions: the
 * `GITHUB_*` run variables (README "Environment"). Pure: the environment is passed in.
 * builder.id is the workflow file at its ref when GITHUB_WORKFLOW_REF is set (what SLSA calls
 * the trusted builder), else the repository; the invocation names the run and its attempt.
 */
export const LOCAL_BUILDER_ID = 'https://imgfactory.dev/builder/local';

export function ciInvocation(env: Readonly<Record<string, string | undefined>>): { builderId: string; invocationId?: string } {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run, GITHUB_RUN_ATTEMPT: attempt, GITHUB_WORKFLOW_REF: workflow } = env;
  if (server && repo && run) {
    return {
      builderId: workflow ? `${server}/${workflow}` : `${server}/${repo}`,
      invocationId: `${server}/${repo}/actions/runs/${run}${attempt ? `/attempts/${attempt}` : ''}`,
    };
  }
  return { builderId: LOCAL_BUILDER_ID };
}
