/** Reporting to GitHub: issues per image and the job summary, from a check report. */
export * from './check-report.js';
export * from './markdown.js';
export * from './issue-plan.js';
export { rateLimitWaitMs } from './rate-limit.js';
export { createGithubClient, DEFAULT_API_URL, type GithubClient, type GithubClientOptions } from './client.js';
export { readCheckReports, reportToGithub, type ImageOutcome, type ReportOptions, type ReportResult, type SentRequest } from './report.js';
