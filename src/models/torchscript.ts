/**
 * A user's PyTorch classifier, given as two TorchScript files: the encoder (x -> h) and the head
 * (h -> logits). Everything in idfr that takes a Classifier (attacks, IDFR, evaluation) then works
 * on it. Inputs are [0, 1] images; put any normalisation inside the scripted encoder.
 */
import { noGrad, ScriptModule, tidy, zeros, type Tensor } from "../torch/index.js";
import type { Classifier } from "./classifier.js";

export interface TorchScriptInfo {
  numClasses: number;
  inputShape: [number, number, number];
  embeddingDim?: number;
}

export class TorchScriptClassifier implements Classifier {
  readonly arch = "torchscript";
  readonly numClasses: number;
  readonly embeddingDim: number;
  readonly inputShape: readonly [number, number, number];

  private constructor(readonly encoder: ScriptModule, readonly headModule: ScriptModule, info: TorchScriptInfo & { embeddingDim: number }) {
    this.numClasses = info.numClasses;
    this.inputShape = info.inputShape;
    this.embeddingDim = info.embeddingDim;
  }

  /** Loads both files (in eval mode) and checks them on a zero batch: shapes must fit `info`. */
  static load(encoderPath: string, headPath: string, info: TorchScriptInfo, device?: string): TorchScriptClassifier {
    const encoder = ScriptModule.load(encoderPath, { device }).eval();
    const head = ScriptModule.load(headPath, { device }).eval();
    const [embeddingDim, classes] = tidy(() => noGrad(() => {
      const h = encoder.forward(zeros([1, ...info.inputShape]));
      if (h.ndim !== 2) throw new Error(`${encoderPath}: encoder must return embeddings [N, D], got [${h.shape}]`);
      const logits = head.forward(h);
      if (logits.ndim !== 2) throw new Error(`${headPath}: head must return logits [N, classes], got [${logits.shape}]`);
      return [h.size(1), logits.size(1)];
    }));
    if (info.embeddingDim !== undefined && info.embeddingDim !== embeddingDim) {
      throw new Error(`${encoderPath}: embedding width is ${embeddingDim}, model.json says ${info.embeddingDim}`);
    }
    if (classes !== info.numClasses) throw new Error(`${headPath}: head gives ${classes} logits, expected ${info.numClasses} classes`);
    return new TorchScriptClassifier(encoder, head, { ...info, embeddingDim });
  }

  embed(x: Tensor): Tensor {
    return this.encoder.forward(x);
  }
  head(h: Tensor): Tensor {
    return this.headModule.forward(h);
  }
  forward(x: Tensor): Tensor {
    const h = this.embed(x);
    const out = this.head(h);
    h.dispose();
    return out;
  }
  train(on = true): this {
    this.encoder.train(on);
    this.headModule.train(on);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Moves both scripted modules to a device ("cpu", "cuda:N"). */
  to(device: string): this {
    this.encoder.to(device);
    this.headModule.to(device);
    return this;
  }
  /** A wrapped model is frozen: IDFR and attacks never update its weights. */
  parameters(): Tensor[] {
    return [];
  }
}
