/**
 * Ctrl-C for long runs: the first SIGINT asks the run to stop at the next safe point (after the
 * current step, with the last checkpoint intact); a second one exits at once.
 */
let requested = false;
let installed = 0;

function onSigint(): void {
  if (requested) process.exit(130);
  requested = true;
  process.stderr.write("\nstopping after the current step (Ctrl-C again to quit now)...\n");
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

/** Thrown (and caught by the CLI) when a run stops because of Ctrl-C. */
export class Interrupted extends Error {
  constructor(what: string) {
    super(`${what} interrupted; the last checkpoint is intact, rerun with --resume to continue`);
    this.name = "Interrupted";
  }
}
