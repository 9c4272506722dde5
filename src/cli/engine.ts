/** `idfr info` and `idfr smoke`: what the engine links against, and a quick end-to-end check. */
import type { Command } from "commander";
import type { DeviceName } from "../core/context.js";
import { addRunOptions } from "./context.js";
import { F, Generator, cudaAvailable, cudaDeviceCount, getNumThreads, libtorchVersion, nn, noGrad, optim, rand, tidy } from "../torch/index.js";

export function registerEngineCommands(program: Command): void {
  program
    .command("info")
    .description("print the linked libtorch version, CPU threads and CUDA devices")
    .action(() => {
      console.log(`libtorch ${libtorchVersion()}`);
      console.log(`CPU threads: ${getNumThreads()}`);
      console.log(`CUDA: ${cudaAvailable() ? `${cudaDeviceCount()} device(s)` : "not available"}`);
    });

  addRunOptions(program
    .command("smoke")
    .description("train a tiny CNN to fit a fixed random batch: checks the engine end to end (on --device)")
    .option("--steps <n>", "training steps", "60"))
    .action((opts: { steps: string; device: DeviceName }) => {
      const steps = Number(opts.steps);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got ${opts.steps}`);
      // One fixed stream (seed 0) for the weights, then the batch: the same numbers on every run.
      const draws = new Generator(0);
      const model = nn.init.withInitGenerator(draws, () => new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8),
        new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8 * 14 * 14, 10))).to(opts.device);
      const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
      // Drawn on the CPU, then moved: the same seed gives the same batch on every device.
      const x = rand([32, 1, 28, 28], { generator: draws }).to(opts.device);
      draws.dispose();
      const y = tidy(() => x.mean([1, 2, 3]).mul(1000).long().remainder(10));
      const t0 = performance.now();
      let loss = NaN;
      for (let i = 0; i < steps; i++) {
        loss = tidy(() => {
          opt.zeroGrad();
          const l = F.crossEntropy(model.forward(x), y);
          l.backward();
          opt.step();
          return l.item();
        });
      }
      const acc = noGrad(() => tidy(() => model.eval().forward(x).argmax(1).eq(y).float().mean().item()));
      console.log(`smoke: ${steps} steps on ${opts.device} in ${((performance.now() - t0) / 1000).toFixed(2)} s, loss ${loss.toFixed(4)}, train accuracy ${(acc * 100).toFixed(1)} %`);
    });
}
