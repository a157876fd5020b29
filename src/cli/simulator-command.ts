import { startSimulator, type Simulator } from '../testing/index.js';
import { EXIT, type CliIo } from './io.js';

/** The options of `simulator`. */
export interface SimulatorCommandOptions {
  readonly port: number;
  readonly timeScale: number;
}

/**
 * Starts the simulator on 127.0.0.1, prints `RUNFLOW_BASE_URL=…` and `RUNFLOW_API_KEY=…` to
 * stdout, and keeps it running until `io.signal` aborts (Ctrl-C). Then it closes the simulator
 * and resolves to 0, because Ctrl-C is the normal way to stop it. It resolves to 1 when the
 * simulator cannot listen, such as on a port in use.
 */
export async function simulatorCommand(options: SimulatorCommandOptions, io: CliIo): Promise<number> {
  const signal = io.signal;
  if (signal === undefined) {
    io.stderr.write('runflow-rx: the simulator command needs an abort signal to stop; none was given\n');
    return EXIT.failed;
  }

  let simulator: Simulator;
  try {
    simulator = await startSimulator({ port: options.port, timeScale: options.timeScale });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? '; the port is in use, so choose another --port or 0 for a free one' : '';
    io.stderr.write(
      `runflow-rx: cannot start the simulator on 127.0.0.1:${options.port}: ${code ?? (error as Error).message}${hint}\n`,
    );
    return EXIT.failed;
  }

  try {
    io.stdout.write(`RUNFLOW_BASE_URL=${simulator.url}\nRUNFLOW_API_KEY=${simulator.apiKey}\n`);
    io.stderr.write(
      `runflow-rx: simulator listening at ${simulator.url} (time scale ${options.timeScale}); press Ctrl-C to stop\n`,
    );
    await aborted(signal);
    io.stderr.write('runflow-rx: stopping the simulator\n');
    return EXIT.succeeded;
  } finally {
    await simulator.close();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
