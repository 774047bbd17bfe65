/** Stage timing and progress events for a build; the CLI renders them, tests ignore them. */

export interface BuildEvent {
  readonly stage: string;
  readonly message?: string;
  /** A line of output from an external tool (debootstrap, apt). */
  readonly toolLine?: string;
}

export type OnBuildEvent = (e: BuildEvent) => void;

export interface StageTiming {
  readonly stage: string;
  readonly seconds: number;
}

export class StageClock {
  readonly timings: StageTiming[] = [];
  constructor(private readonly onEvent: OnBuildEvent = () => {}) {}

  async time<T>(stage: string, message: string | undefined, fn: () => Promise<T>): Promise<T> {
    this.onEvent({ stage, message });
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.timings.push({ stage, seconds: Math.round((performance.now() - start) / 10) / 100 });
    }
  }

  event(e: BuildEvent): void {
    this.onEvent(e);
  }
}
