/** The `fastAt` section of an experiment config: how the Fast AT row's robust model is trained. */
import { z } from "zod";
import { radiusSchema } from "../core/validate.js";

export const FastAtSettingsSchema = z.strictObject({
  /** Training epochs (default: the target's). */
  epochs: z.number().int().positive().optional().describe("Fast AT training epochs (default: the target's)"),
  eps: radiusSchema().default(8 / 255).describe("Fast AT training radius"),
});
export type FastAtSettings = z.output<typeof FastAtSettingsSchema>;
