/**
 * Runs every benchmark and writes docs/benchmarks.md. Start it with `npm run bench`.
 */
import { writeFileSync } from 'node:fs';

import { benchCallbackDelay, benchReceiverThroughput } from './callbacks.js';
import { benchFanOut } from './fan-out.js';
import { describeMachine } from './machine.js';
import { benchSharedPoll, type SharedPollResult } from './shared-poll.js';

const RUNS = 1000;
const INTERVAL_MS = 1000;
const CALLBACKS = 20_000;
const CONCURRENCY = 32;
const DELAY_SAMPLES = 200;
const FAN_OUT_ITEMS = 1000;
const FAN_OUT_CONCURRENCY = 32;
const FAN_OUT_TIME_SCALE = 10;
const FAN_OUT_INTERVAL_MS = 20;

function row(result: SharedPollResult): string {
  return (
    `| ${result.mode} | ${result.runs} | ${result.intervalMs} | ${result.watchSeconds.toFixed(1)} | ${result.requests} | ` +
    `${result.requestsPerInterval.toFixed(1)} | ${result.delayMedianMs.toFixed(0)} | ${result.delayP95Ms.toFixed(0)} | ` +
    `${result.delayMaxMs.toFixed(0)} | ${result.failures} |`
  );
}

async function main(): Promise<void> {
  const machine = describeMachine();
  process.stderr.write(`Machine: ${machine}\n`);

  const perRun = await benchSharedPoll('per-run', RUNS, INTERVAL_MS);
  process.stderr.write(`${row(perRun)}\n`);
  const shared = await benchSharedPoll('shared', RUNS, INTERVAL_MS);
  process.stderr.write(`${row(shared)}\n`);
  const sharedFaster = await benchSharedPoll('shared', RUNS, INTERVAL_MS / 2);
  process.stderr.write(`${row(sharedFaster)}\n`);
  const ratio = perRun.requestsPerInterval / shared.requestsPerInterval;

  const throughput = await benchReceiverThroughput(CALLBACKS, CONCURRENCY);
  process.stderr.write(`${JSON.stringify(throughput)}\n`);
  const delays = await benchCallbackDelay(DELAY_SAMPLES);
  process.stderr.write(`${JSON.stringify(delays)}\n`);
  const fanOut = await benchFanOut(FAN_OUT_ITEMS, FAN_OUT_CONCURRENCY, FAN_OUT_TIME_SCALE, FAN_OUT_INTERVAL_MS);
  process.stderr.write(`${JSON.stringify(fanOut)}\n`);
  const fasterRatio = perRun.requests / perRun.watchSeconds / (sharedFaster.requests / sharedFaster.watchSeconds);

  const report = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts), which overwrites this page. Every number comes from
one run of that command on the machine below, with the simulator and the client in one process,
so the two compete for the same cores.

Machine: ${machine}.
Date: ${new Date().toISOString().slice(0, 10)}.

## Shared poll scheduler against per-run polling

${RUNS} runs of a simulated model (queue of 5 to 15 s, spread evenly, then 1 s dispatching and
three steps of 3, 6 and 2 s) are created on the simulator at time scale 1, then all watched at
once: once with \`poll.mode: 'per-run'\`, once with \`'shared'\`. Both poll every ${INTERVAL_MS} ms
with no backoff and no request budget. Requests are every request the simulator received while
the runs were watched (creation excluded). Delay is the time from a run's \`completed_at\` on the
simulator's clock to the moment its Observable emitted the terminal status.

| mode | runs | interval (ms) | watched (s) | requests | requests per interval | delay median (ms) | delay p95 (ms) | delay max (ms) | errors |
|---|---|---|---|---|---|---|---|---|---|
${row(perRun)}
${row(shared)}
${row(sharedFaster)}

At the same interval the shared scheduler sent ${ratio.toFixed(0)}× fewer requests per interval.
Its delay includes a second round trip: a check lists summaries first and then fetches the runs
that changed, where per-run polling gets the full run at once. Polling twice as often (last row)
still sends ${fasterRatio.toFixed(0)}× fewer requests per second than per-run polling at ${INTERVAL_MS} ms.

## Callback receiver throughput

${CALLBACKS} signed run envelopes (about 400 bytes each) POSTed over loopback by the global fetch
of Node, ${CONCURRENCY} at a time, after a warm-up of 1000. The bare handler reads the body and
checks the HMAC with node:crypto; the receiver also decodes the envelope, deduplicates and
routes it.

| handler | envelopes | seconds | envelopes per second | rejected |
|---|---|---|---|---|
${throughput.map((result) => `| ${result.handler} | ${result.envelopes} | ${result.seconds.toFixed(2)} | ${result.perSecond.toFixed(0)} | ${result.rejected} |`).join('\n')}

## Callback to completion

${DELAY_SAMPLES} runs on the simulator, each watched with \`callbacks: receiver\` while queued; the run
then finishes on the simulator and its terminal callback is POSTed to the receiver. The receiver
row is the time from sending that POST to the Observable completing, which includes the GET of
the full run. The bare row is the time from sending the same POST to a bare node:http handler
seeing it.

| handler | samples | median (ms) | p95 (ms) |
|---|---|---|---|
${delays.map((result) => `| ${result.handler} | ${result.samples} | ${result.medianMs.toFixed(2)} | ${result.p95Ms.toFixed(2)} |`).join('\n')}

## Client-side fan-out

\`runBatch\` over ${FAN_OUT_ITEMS} runs of \`openai/gpt-image-1.5\` (${fanOut.runMs / 1000} s each on the simulator's clock) at
concurrency ${FAN_OUT_CONCURRENCY}, with the shared poller checking every ${FAN_OUT_INTERVAL_MS} ms at time scale
${FAN_OUT_TIME_SCALE} (so every ${(FAN_OUT_INTERVAL_MS * FAN_OUT_TIME_SCALE) / 1000} s of simulated time). The ideal makespan is the
total run time divided by the concurrency; the makespan is measured on the simulator's clock from
the start to the summary.

| items | concurrency | ideal makespan (s) | makespan (s) | makespan / ideal | succeeded | requests |
|---|---|---|---|---|---|---|
| ${fanOut.items} | ${fanOut.concurrency} | ${(fanOut.idealMakespanMs / 1000).toFixed(1)} | ${(fanOut.makespanMs / 1000).toFixed(1)} | ${(fanOut.makespanMs / fanOut.idealMakespanMs).toFixed(2)} | ${fanOut.summary.succeeded} | ${fanOut.requests} |

The gap to the ideal is the time from a run's end to the next check that sees it, plus the create
request of the next item.
`;
  writeFileSync('docs/benchmarks.md', report);
  process.stderr.write(`Wrote docs/benchmarks.md (${ratio.toFixed(0)}x fewer requests per interval)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
