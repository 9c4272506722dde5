/**
 * Runs a command line as a child process with a time limit, for tests of behaviour that only a whole
 * process shows: that it exits by itself, and what it prints on the way out.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a child did: its exit code (null when killed), output, and whether the time limit killed it. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

/** Runs `command args` in `cwd` (default the repository root), killing it after `timeoutMs`. */
export function runChild(command: string, args: readonly string[], options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ChildResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, seconds: (performance.now() - start) / 1000 });
    });
  });
}

/** Runs the `idfr` command from the TypeScript sources (through tsx), as the tests see the code. */
export function runIdfr(args: readonly string[], timeoutMs: number): Promise<ChildResult> {
  return runChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { timeoutMs });
}

/** Runs an ES module script given as text, with tsx's hooks so it can import TypeScript sources. */
export function runScript(code: string, timeoutMs: number): Promise<ChildResult> {
  return runChild(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { timeoutMs });
}
