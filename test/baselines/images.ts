/** Natural-looking test images built in code: smooth shading plus a few flat shapes with hard edges. */
import { tensor, type Tensor } from "../../src/torch/index.js";

/**
 * n images [n, channels, side, side] in [0, 1]: a diagonal colour gradient, a disc and a bar, shifted
 * a little per image. With `shapes: false` only the smooth gradient (every derivative small).
 */
export function scene(n: number, channels: 1 | 3, side: number, shapes = true): Tensor {
  const data = new Float32Array(n * channels * side * side);
  for (let k = 0; k < n; k++) {
    const cx = side * (0.35 + 0.1 * k);
    const cy = side * 0.4;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          const u = i / (side - 1);
          const v = j / (side - 1);
          let value = 0.2 + 0.25 * u + 0.2 * v + 0.1 * Math.sin(Math.PI * (u + c * 0.3));
          if (shapes) {
            if ((i - cy) ** 2 + (j - cx) ** 2 < (side / 6) ** 2) value = [0.9, 0.3, 0.15][c];
            if (i > side * 0.7 && i < side * 0.85 && j > side * 0.1 && j < side * 0.6) value = [0.1, 0.6, 0.85][c];
          }
          data[((k * channels + c) * side + i) * side + j] = value;
        }
      }
    }
  }
  return tensor(data, [n, channels, side, side]);
}
