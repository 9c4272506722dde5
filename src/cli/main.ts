/** The `idfr` command line. Each command group lives in its own file under src/cli/. */
import { Command } from "commander";
import { Interrupted } from "../core/interrupt.js";
import { registerAttackCommand } from "./attack.js";
import { registerClassifyCommand } from "./classify.js";
import { registerDataCommands } from "./data.js";
import { registerDefendCommands } from "./defend.js";
import { registerEngineCommands } from "./engine.js";
import { registerTrainModelCommand } from "./train-model.js";
import { registerReportCommand } from "./report.js";
import { registerRunCommands } from "./run.js";
import { registerListCommand } from "./list.js";
import { registerConvertCommand } from "./convert.js";
import { registerTrainDefenseCommand } from "./train-defense.js";
import { registerCertifyCommand } from "./certify.js";
import { registerServeCommand } from "./serve.js";
import { registerDistributedHooks } from "./distributed.js";
import { registerLaunchCommand } from "./launch.js";

const program = new Command("idfr")
  .description("IDFR (input denoising + feature restoring) adversarial defense for image classifiers, on libtorch")
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(`idfr: ${s.replace(/^error: /, "")}`) });

registerEngineCommands(program);
registerDataCommands(program);
registerTrainModelCommand(program);
registerDefendCommands(program);
registerClassifyCommand(program);
registerAttackCommand(program);
registerRunCommands(program);
registerReportCommand(program);
registerListCommand(program);
registerConvertCommand(program);
registerTrainDefenseCommand(program);
registerCertifyCommand(program);
registerServeCommand(program);
registerLaunchCommand(program);
registerDistributedHooks(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`idfr: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof Interrupted ? err.exitCode : 1;
}
