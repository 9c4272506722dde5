/**
 * The feature restorer (FR) of IDFR, paper Table 7: fully connected + ReLU layers
 * D -> 256 -> 128 -> 32 -> 128 -> 256 -> D on the target's embedding h. The output keeps the ReLU
 * because it feeds a head that was trained on post-ReLU features. For embeddings wider than 512
 * (ResNet50, InceptionV3: 2048) the hidden sizes stay as in Table 7 and only the first and last
 * layers follow the embedding width.
 */
import { nn, type Tensor } from "../../torch/index.js";

export const FR_HIDDEN = [256, 128, 32, 128, 256] as const;

export class FeatureRestorer extends nn.Module {
  readonly net: nn.Sequential;
  constructor(readonly embeddingDim: number, hidden: readonly number[] = FR_HIDDEN) {
    super();
    if (!Number.isInteger(embeddingDim) || embeddingDim < 1) throw new TypeError(`FeatureRestorer: embeddingDim must be a positive integer, got ${embeddingDim}`);
    const sizes = [embeddingDim, ...hidden, embeddingDim];
    const layers: nn.Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) layers.push(new nn.Linear(sizes[i], sizes[i + 1]), new nn.ReLU());
    this.net = this.registerModule("net", new nn.Sequential(...layers));
  }
  forward(h: Tensor): Tensor {
    if (h.ndim !== 2 || h.size(1) !== this.embeddingDim) throw new RangeError(`FeatureRestorer: expected embeddings [N, ${this.embeddingDim}], got [${h.shape}]`);
    return this.net.forward(h);
  }
}
