/**
 * `idfr launch`: starts and supervises the ranks of a multi-process run on this node, as torchrun
 * does. Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT;
 * when one exits with an error the others are stopped (SIGTERM, then SIGKILL) and the launcher exits
 * with that rank's status, naming it. Ctrl-C is passed once to every rank (they stop after their
 * current step); a second one kills them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { nonNegativeInt, positiveInt } from "./parse.js";
import { freePort } from "../distributed/free-port.js";

export interface LaunchOptions {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** Default: a free port when the run is on one node, else 29500 (torchrun's). */
  masterPort?: number;
  /** Seconds the other ranks get to exit after SIGTERM before SIGKILL. */
  grace: number;
  /** Batch norm with the global batch's statistics in every rank's training (IDFR_SYNC_BATCH_NORM=1). */
  syncBatchNorm?: boolean;
}

/** What each rank is started with: the command and its torchrun environment. */
export function rankEnvironments(o: LaunchOptions & { masterPort: number }, threads = availableParallelism()): Record<string, string>[] {
  const world = o.nproc * o.nnodes;
  return Array.from({ length: o.nproc }, (_, local) => ({
    RANK: String(o.nodeRank * o.nproc + local),
    LOCAL_RANK: String(local),
    WORLD_SIZE: String(world),
    LOCAL_WORLD_SIZE: String(o.nproc),
    GROUP_RANK: String(o.nodeRank),
    MASTER_ADDR: o.masterAddr,
    MASTER_PORT: String(o.masterPort),
    ...(o.syncBatchNorm ? { IDFR_SYNC_BATCH_NORM: "1" } : {}),
    // The ranks share this node's cores (torchrun sets 1; sharing them out is faster on a CPU run).
    ...(process.env.OMP_NUM_THREADS ? {} : { OMP_NUM_THREADS: String(Math.max(1, Math.floor(threads / o.nproc))) }),
  }));
}

/** The program and arguments for `command`: a leading "idfr" runs this idfr; anything else runs as given. */
export function rankCommand(command: readonly string[]): [string, string[]] {
  if (command.length === 0) throw new InvalidArgumentError("expected a command after --, e.g. idfr launch --nproc 2 -- idfr train-id ...");
  if (command[0] === "idfr") return [process.execPath, [fileURLToPath(new URL("../../bin/idfr.js", import.meta.url)), ...command.slice(1)]];
  return [command[0], command.slice(1)];
}


/** Forwards a child's output line by line, prefixed with its rank (rank 0's is passed unchanged). */
function forward(child: ChildProcess, rank: number): void {
  const pipes: [NodeJS.ReadableStream | null, NodeJS.WriteStream][] = [[child.stdout, process.stdout], [child.stderr, process.stderr]];
  for (const [from, to] of pipes) {
    if (!from) continue;
    let pending = "";
    from.setEncoding("utf8");
    from.on("data", (text: string) => {
      if (rank === 0) {
        to.write(text);
        return;
      }
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) to.write(`[rank ${rank}] ${line}\n`);
    });
    from.on("end", () => {
      if (pending) to.write(`[rank ${rank}] ${pending}\n`);
    });
  }
}

/**
 * Runs `command` as `o.nproc` ranks and resolves with the exit status the launcher should have:
 * 0 when every rank succeeded, else the first failing rank's status (130 after Ctrl-C).
 */
export async function launch(command: readonly string[], o: LaunchOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  if (o.nodeRank >= o.nnodes) throw new InvalidArgumentError(`--node-rank: expected an integer in [0, ${o.nnodes - 1}] (--nnodes ${o.nnodes}), got ${o.nodeRank}`);
  const masterPort = o.masterPort ?? (o.nnodes === 1 ? await freePort() : 29500);
  const [program, args] = rankCommand(command);
  const envs = rankEnvironments({ ...o, masterPort });
  const children: ChildProcess[] = [];
  const running = new Set<number>();
  let status: number | null = null;
  let interrupts = 0;
  let killTimer: NodeJS.Timeout | undefined;

  const stopOthers = (why: string) => {
    if (killTimer) return;
    const left = [...running];
    if (left.length > 0) log(`idfr launch: ${why}; stopping rank(s) ${left.map((i) => envs[i].RANK).join(", ")}`);
    for (const i of left) children[i].kill("SIGTERM");
    killTimer = setTimeout(() => {
      for (const i of running) children[i].kill("SIGKILL");
    }, o.grace * 1000);
    killTimer.unref();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    status ??= signal === "SIGINT" ? 130 : 143;
    if (interrupts === 1) {
      log(`idfr launch: ${signal}: asking every rank to stop after its current step (again to kill them)`);
      for (const i of running) children[i].kill("SIGINT");
    } else {
      for (const i of running) children[i].kill("SIGKILL");
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const exits = envs.map((env, i) => new Promise<void>((resolve) => {
      // Own process group: a Ctrl-C in the terminal reaches the launcher only, which passes it on once.
      const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
      children.push(child);
      running.add(i);
      forward(child, Number(env.RANK));
      let spawnFailed = false;
      child.on("error", (err) => {
        spawnFailed = child.pid === undefined;
        log(`idfr launch: rank ${env.RANK} could not start ${program}: ${err.message}`);
      });
      child.on("close", (code, signal) => {
        running.delete(i);
        if (code !== 0 && status === null) {
          // 127: the shell's status for a command that could not be run.
          status = spawnFailed ? 127 : code ?? 1;
          if (!spawnFailed) log(`idfr launch: rank ${env.RANK} (pid ${child.pid}) ${code === null ? `was killed by ${signal}` : `exited with status ${code}`}`);
          stopOthers(`rank ${env.RANK} failed`);
        }
        resolve();
      });
    }));
    log(`idfr launch: ${o.nproc} rank(s) on node ${o.nodeRank} of ${o.nnodes} (world size ${o.nproc * o.nnodes}), rendezvous at ${o.masterAddr}:${masterPort}`);
    await Promise.all(exits);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (killTimer) clearTimeout(killTimer);
  }
  return status ?? 0;
}

export function registerLaunchCommand(program: Command): void {
  program
    .command("launch")
    .description("run a command as several ranks (torchrun's variables: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and supervise them")
    .usage("--nproc <n> [--nnodes <m> --node-rank <r> --master-addr <host> --master-port <port>] -- idfr <command> [options]")
    .requiredOption("--nproc <n>", "ranks on this node (one per GPU on a GPU node)", positiveInt)
    .option("--nnodes <m>", "nodes in the run", positiveInt, 1)
    .option("--node-rank <r>", "this node's index, 0 .. nnodes - 1 (node 0 hosts the rendezvous)", nonNegativeInt, 0)
    .option("--master-addr <host>", "address of node 0, where rank 0 opens the rendezvous store", "127.0.0.1")
    .option("--master-port <port>", "port of the rendezvous store (default: a free port on one node, 29500 across nodes)", positiveInt)
    .option("--sync-batch-norm", "train with batch norm over the global batch (PyTorch's SyncBatchNorm) instead of each rank's rows; sets IDFR_SYNC_BATCH_NORM=1")
    .option("--grace <seconds>", "how long the other ranks get to exit after one failed, before they are killed", positiveInt, 10)
    .argument("<command...>", "the command each rank runs; a leading `idfr` runs this idfr")
    .action(async (command: string[], opts: LaunchOptions) => {
      if (opts.masterPort !== undefined && opts.masterPort > 65535) throw new InvalidArgumentError(`--master-port: expected a port in [1, 65535], got ${opts.masterPort}`);
      process.exitCode = await launch(command, opts);
    });
}
