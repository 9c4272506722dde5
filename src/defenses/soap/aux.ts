/**
 * SOAP's auxiliary self-supervised losses, as the authors compute them (Mishne-Lab/SOAP
 * `criterions.py`), in two forms: the joint training loss CE + α · aux of one batch, and the
 * per-sample test-time aux loss that purification minimises.
 *
 * - recon (data reconstruction, cae): training feeds x + N(0, 0.5²) clipped to [0, 1] to both the
 *   classifier and the decoder, and reconstructs the clean x; at test time the mean squared error of
 *   the reconstruction of x.
 * - pi (label consistency, resnet): two views of x must give the same logits. Training: a random
 *   view (x + clamp(N(0, 0.1²), 0, 1) — their noise is clipped, not the image — a horizontal flip
 *   with probability 1/2 and a random crop resized back, one draw per batch) and the fixed view
 *   (flip, crop 2 pixels from each side at 32x32, resized back) of the same noised x, as their
 *   in-place addition makes it; CE on both views' logits, aux = MSE between them. Test: the MSE
 *   between the logits of x and of its fixed view.
 * - rot (rotation prediction, resnet): the four rotations of the batch; training adds N(0, 0.1²)
 *   (clipped image), CE of the classes on all four and aux = CE of the rotation; at test time their
 *   `rotate_criterion_l2`: the squared error between softmax(rotation logits) and the one-hot
 *   rotation, summed over classes and rotations.
 *
 * Resizing is nearest-neighbour (their `interpolate` default). Crop sizes scale with the image:
 * margins H/16, random offsets below H/4, random sides from 3H/4 (2, 8, 24 at 32x32).
 */
import type { Rng } from "../../data/random.js";
import { arange, cat, F, randnLike, tidy, type Generator, type Tensor } from "../../torch/index.js";
import type { SoapAuxName } from "./config.js";
import type { SoapModel } from "./models.js";

/** Image `x` rotated by k quarter turns (their `rotate_images`). */
export function rotateQuarter(x: Tensor, k: number): Tensor {
  switch (k % 4) {
    case 0: return x;
    case 1: return x.transpose(2, 3).flip([3]);
    case 2: return x.flip([2, 3]);
    default: return x.transpose(2, 3).flip([2]);
  }
}

/** The pi task's fixed view: flipped, cropped by H/16 on each side, resized back (nearest). */
export function fixedView(x: Tensor): Tensor {
  const [h, w] = [x.size(2), x.size(3)];
  const mh = Math.round(h / 16);
  const mw = Math.round(w / 16);
  return tidy(() => F.interpolate(x.flip([3]).slice(2, mh, h - mh).slice(3, mw, w - mw), { size: [h, w] }));
}

/** The pi task's random view of (already noised) x: flip with probability 1/2, random crop resized back. */
function randomView(x: Tensor, rng: Rng): Tensor {
  const [h, w] = [x.size(2), x.size(3)];
  const flip = rng.next() > 0.5;
  const rh = rng.int(Math.floor(h / 4));
  const rw = rng.int(Math.floor(w / 4));
  const loH = h - Math.floor(h / 4);
  const loW = w - Math.floor(w / 4);
  const ch = loH + rng.int(h - rh - loH);
  const cw = loW + rng.int(w - rw - loW);
  return tidy(() => F.interpolate((flip ? x.flip([3]) : x).slice(2, rh, rh + ch).slice(3, rw, rw + cw), { size: [h, w] }));
}

/** The four rotations of a batch, concatenated rotation-major (as theirs), and their rotation labels. */
function rotations(x: Tensor): { images: Tensor; labels: Tensor } {
  const n = x.size(0);
  const images = cat([0, 1, 2, 3].map((k) => rotateQuarter(x, k)), 0);
  const labels = arange(0, 4, 1, { dtype: "int64", device: x.device }).unsqueeze(1).expand([4, n]).flatten();
  return { images, labels };
}

/**
 * The test-time aux loss of each sample, [N], differentiable in `x` (the model in eval mode).
 * Purification minimises it; its scale per sample is the authors' (means over pixels or logits,
 * sums over rotation classes and rotations).
 */
export function auxLossPerSample(model: SoapModel, aux: SoapAuxName, x: Tensor): Tensor {
  return tidy(() => {
    const n = x.size(0);
    if (aux === "recon") {
      const r = model.run(x).reconstruction!;
      return r.sub(x).square().flatten(1).mean(1);
    }
    if (aux === "pi") {
      const both = model.forward(cat([x, fixedView(x)], 0));
      return both.narrow(0, 0, n).sub(both.narrow(0, n, n)).square().mean(1);
    }
    const { images, labels } = rotations(x);
    const probs = F.softmax(model.run(images).rotation!, 1);
    const err = probs.sub(F.oneHot(labels, 4).float()).square().sum(1);
    return err.reshape([4, n]).sum(0);
  });
}

/** One batch's joint loss CE + α · aux, its parts, and the rows of the first view classified correctly. */
export interface JointLoss {
  loss: Tensor;
  ce: number;
  aux: number;
  correct: number;
}

/**
 * The joint training loss of a batch (the model in training mode): draws its noise from `generator`
 * and its crops and flips from `rng`, in the authors' order.
 */
export function jointLoss(model: SoapModel, aux: SoapAuxName, x: Tensor, y: Tensor, alpha: number, generator: Generator, rng: Rng): JointLoss {
  return tidy(() => {
    let logits: Tensor;
    let labels: Tensor;
    let auxLoss: Tensor;
    if (aux === "recon") {
      const noisy = x.add(randnLike(x, { generator }).mul(0.5)).clamp(0, 1);
      const out = model.run(noisy);
      logits = out.logits;
      labels = y;
      auxLoss = F.mseLoss(out.reconstruction!, x);
    } else if (aux === "pi") {
      const noisy = x.add(randnLike(x, { generator }).mul(0.1).clamp(0, 1));
      const l1 = model.forward(randomView(noisy, rng));
      const l2 = model.forward(fixedView(noisy));
      logits = cat([l1, l2], 0);
      labels = cat([y, y], 0);
      auxLoss = F.mseLoss(l1, l2);
    } else {
      const { images, labels: rotationLabels } = rotations(x);
      const noisy = images.add(randnLike(images, { generator }).mul(0.1)).clamp(0, 1);
      const out = model.run(noisy);
      logits = out.logits;
      labels = cat([y, y, y, y], 0);
      auxLoss = F.crossEntropy(out.rotation!, rotationLabels);
    }
    const ce = F.crossEntropy(logits, labels);
    const loss = ce.add(auxLoss.mul(alpha));
    const n = y.size(0);
    const correct = logits.narrow(0, 0, n).argmax(1).eq(y).sum().item();
    return { loss, ce: ce.item(), aux: auxLoss.item(), correct };
  });
}
