/**
 * Ctrl-C for long runs: the first SIGINT asks the run to stop at the next safe point (after the
 * current step); a second one exits at once with status 130.
 *
 * Why the loops yield: Node runs a JS signal handler only when the event loop gets a turn, and a
 * training step is synchronous libtorch work, so a loop that never awaits would not see Ctrl-C until
 * it ends. Loops call {@link yieldToEventLoop} between steps, then check {@link interruptRequested}.
 */
let requested = false;
let installed = 0;

/** Exit status of a run stopped by SIGINT (128 + 2, what shells report). */
export const INTERRUPT_EXIT_CODE = 130;

function onSigint(): void {
  if (requested) {
    process.stderr.write("\nCtrl-C again: quitting now\n");
    process.exit(INTERRUPT_EXIT_CODE);
  }
  requested = true;
  process.stderr.write("\nCtrl-C: stopping after the current step (Ctrl-C again to quit at once)...\n");
}

/** Installs the handler for the duration of a run; returns a function that removes it. */
export function watchInterrupt(): () => void {
  if (installed++ === 0) process.on("SIGINT", onSigint);
  return () => {
    if (--installed === 0) {
      process.off("SIGINT", onSigint);
      requested = false;
    }
  };
}

/** True once the user pressed Ctrl-C during a watched run. */
export function interruptRequested(): boolean {
  return requested;
}

/** Gives pending events (a signal, a worker's message) a turn; costs a few microseconds. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Thrown (and caught by the CLI, which exits with status 130) when a run stops because of Ctrl-C. */
export class Interrupted extends Error {
  readonly exitCode = INTERRUPT_EXIT_CODE;
  /**
   * @param what the run, e.g. "train small-cnn"
   * @param detail what was kept, e.g. "the last checkpoint is intact: epoch 2 of 10 in out/checkpoint.safetensors"
   */
  constructor(what: string, detail = "the last checkpoint is intact, rerun with --resume to continue") {
    super(`${what} interrupted; ${detail}`);
    this.name = "Interrupted";
  }
}
