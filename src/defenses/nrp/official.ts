/**
 * The NRP authors' published purifiers (`NRP.pth`, `NRP_resG.pth`: plain state dicts of their
 * `NRP(3, 3, 64, 23)` and `NRP_resG(3, 3, 64, 23)`) carry idfr's parameter names already; what a
 * checkpoint does not say is the architecture and its sizes, which are read here from the names
 * and shapes.
 */
import type { PurifierArch, PurifierSizes } from "./networks.js";

/** Architecture and sizes of a purifier state dict, from its parameter names and shapes. */
export function nrpSizesFromShapes(shapes: ReadonlyMap<string, readonly number[]>, source: string): { arch: PurifierArch; sizes: PurifierSizes } {
  const first = shapes.get("conv_first.weight");
  if (!first || first.length !== 4) {
    throw new Error(`${source}: expected an NRP purifier state dict with conv_first.weight [nf, C, 3, 3]; found ${[...shapes.keys()].slice(0, 5).join(", ") || "no tensors"}`);
  }
  const [nf, channels] = first;
  const blocks = (prefix: string) => {
    const ids = [...shapes.keys()].filter((k) => k.startsWith(prefix)).map((k) => Number(k.slice(prefix.length).split(".")[0]));
    return ids.length ? Math.max(...ids) + 1 : 0;
  };
  if (shapes.has("trunk_conv.weight")) {
    const growth = shapes.get("RRDB_trunk.0.RDB1.conv1.weight");
    if (!growth) throw new Error(`${source}: an NRP (RRDB) purifier needs RRDB_trunk.0.RDB1.conv1.weight`);
    return { arch: "nrp", sizes: { channels, nf, nb: blocks("RRDB_trunk."), gc: growth[0] } };
  }
  if (shapes.has("conv_last.weight")) return { arch: "nrp-resg", sizes: { channels, nf, nb: blocks("recon_trunk."), gc: 32 } };
  throw new Error(`${source}: expected trunk_conv.* (NRP) or conv_last.* (NRP_resG) among the keys`);
}
