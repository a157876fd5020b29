import { cpus, totalmem } from 'node:os';

/** Describes in one line the machine and runtime a benchmark runs on. */
export function describeMachine(): string {
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  return `${cores.length} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} on ${process.platform}`;
}

/** Returns the value at quantile `q` (0 to 1) of `values`, or NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
