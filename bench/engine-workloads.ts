/**
 * The engine benchmark's workloads in TypeScript. bench/engine_ref.py builds the same networks and
 * loops in PyTorch; keep the two in step.
 */
import { InputDenoiser } from "../src/defenses/idfr/denoiser.js";
import { F, nn, noGrad, optim, rand, randint, tidy, valueAndGrad, keep, type Tensor } from "../src/torch/index.js";

/** The frozen classifier the workloads run through (conv-pool x2, then two linear layers). */
export class BenchCNN extends nn.Sequential {
  constructor() {
    super(
      new nn.Conv2d(3, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(64 * 8 * 8, 128), new nn.ReLU(), new nn.Linear(128, 10),
    );
  }
}

const conv = (cin: number, cout: number, hw: number) => 2 * cin * cout * 9 * hw * hw;
/** Forward FLOPs of one 32x32 image through the ID (Table 6 widths) and through BenchCNN. */
export const FLOPS = {
  id: conv(3, 32, 32) + conv(32, 32, 32) + conv(32, 64, 16) + conv(64, 64, 16) + conv(64, 128, 8) +
    conv(192, 192, 16) + conv(192, 64, 16) + conv(96, 96, 32) + conv(96, 3, 32),
  cnn: conv(3, 32, 32) + conv(32, 64, 16) + 2 * 4096 * 128 + 2 * 128 * 10,
};

/** FLOPs per workload call (backward counted as 2x forward, 1x where weights are frozen). */
export const WORKLOAD_FLOPS: Record<string, number> = {
  id_train_step: 32 * (3 * FLOPS.id + 2 * FLOPS.cnn),
  defended_forward: 128 * (FLOPS.id + FLOPS.cnn),
  bim20: 20 * 128 * 2 * FLOPS.cnn,
};

export function makeWorkloads(): Record<string, () => void> {
  const cnn = new BenchCNN().eval();
  for (const p of cnn.parameters()) p.requiresGrad = false;
  const id = new InputDenoiser({ channels: 3, zeroInitResidual: false });
  const adam = new optim.Adam(id.parameters(), { lr: 0.01 });
  const xTrain = keep(rand([32, 3, 32, 32]));
  const yTrain = keep(randint(0, 10, [32]));
  const x = keep(rand([128, 3, 32, 32]));
  const y = keep(randint(0, 10, [128]));
  const eps = 8 / 255;
  const step = 0.03;
  return {
    id_train_step: () => tidy(() => {
      id.train();
      adam.zeroGrad();
      F.crossEntropy(cnn.forward(id.forward(xTrain)), yTrain).backward();
      adam.step();
    }),
    defended_forward: () => tidy(() => noGrad(() => {
      id.eval();
      cnn.forward(id.forward(x)).argmax(1);
    })),
    bim20: () => tidy(() => {
      let adv = x;
      for (let i = 0; i < 20; i++) {
        adv = tidy(() => {
          const { grad } = valueAndGrad((z) => F.crossEntropy(cnn.forward(z), y), adv);
          return noGrad(() => adv.add(grad.sign(), step).clamp(x.sub(eps), x.add(eps)).clamp(0, 1));
        });
      }
      adv.dispose();
    }),
  };
}
