/**
 * Joining the default process group before a command runs, when the torchrun variables say this
 * process is one rank of several (set by `idfr launch`, torchrun, or a scheduler). A CUDA run uses
 * NCCL and this rank's GPU (`--device cuda` becomes cuda:LOCAL_RANK); a CPU run uses Gloo. The
 * group is left (after a barrier) when the command ends.
 */
import type { Command } from "commander";
import { destroyDefaultGroup, initFromEnv, rankEnv } from "../distributed/index.js";

export function registerDistributedHooks(program: Command): void {
  program.hook("preAction", async (_root, command) => {
    if (command.name() === "launch") return;
    const env = rankEnv();
    if (!env) return;
    const device = command.getOptionValue("device") as string | undefined;
    const cuda = device?.startsWith("cuda") ?? false;
    if (device === "cuda") command.setOptionValue("device", `cuda:${env.localRank}`);
    // One progress display for the run: rank 0's (the launcher prefixes the other ranks' lines).
    if (env.rank !== 0 && command.options.some((o) => o.attributeName() === "progress")) command.setOptionValue("progress", "none");
    const timeout = Number(process.env.IDFR_DIST_TIMEOUT ?? 300);
    if (!(timeout > 0)) throw new RangeError(`IDFR_DIST_TIMEOUT: expected seconds > 0, got ${JSON.stringify(process.env.IDFR_DIST_TIMEOUT)}`);
    await initFromEnv({ backend: cuda ? "nccl" : "gloo", timeoutMs: timeout * 1000 });
  });
  program.hook("postAction", async () => {
    await destroyDefaultGroup();
  });
}
