/**
 * `idfr convert IN OUT.safetensors`: a PyTorch checkpoint (.pth/.pt, zip or legacy format) or a
 * NumPy file (.npy/.npz) to safetensors, read without Python and without running anything the file
 * names. Nested checkpoints are flattened with dotted names ({"state_dict": {"conv.weight"}} gives
 * "state_dict.conv.weight"); `--key state_dict` keeps one subtree, `--strip-prefix module.` drops
 * DataParallel's prefix; `--as comdefend` maps the authors' TensorFlow weight lists onto idfr's
 * ComDefend networks, `--as soap` renames the SOAP authors' keys to idfr's SOAP model. NRP's
 * published purifiers already use idfr's key names (conv_first, RRDB_trunk..., trunk_conv).
 */
import { basename } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { comdefendFromOfficial, loadOfficialLayers, officialVariant, type ComDefendNets } from "../defenses/comdefend/index.js";
import { newNets } from "../defenses/comdefend/io.js";
import { codeChannels } from "../defenses/comdefend/networks.js";
import { officialKey } from "../defenses/soap/models.js";
import { makePurifier } from "../defenses/nrp/networks.js";
import { saveNrpPurifier } from "../defenses/nrp/io.js";
import { nrpSizesFromShapes } from "../defenses/nrp/official.js";
import { saveSafetensors, type Tensor } from "../torch/index.js";
import { TARGET_DTYPE } from "../torch/host-array.js";
import { flatToTensors, type ArrayLike, type FlatTree } from "../torch/py-tree.js";
import { readWeightsTree, type WeightsTree } from "../torch/weights-file.js";

export interface ConvertOptions {
  /** Keep only the subtree under this dotted key (its prefix removed), e.g. "state_dict". */
  key?: string;
  /** Prefixes removed from the start of every name (e.g. "module."), in order. */
  stripPrefix?: string[];
  /** Leave out objects outside the reader's allow-list (listed) instead of failing. */
  skipUnsupported?: boolean;
  /**
   * Map the arrays onto a defense's own layout: "comdefend" (the authors' HWIO weight lists onto
   * ComCNN/RecCNN), "soap" (the authors' ResNet / ConvAutoEncoder keys renamed to idfr's SOAP model),
   * "nrp" (the authors' purifier state dict; the output is then a purifier folder, not a file).
   */
  as?: "comdefend" | "soap" | "nrp";
  /** With `as: "comdefend"`: the decoder (RecCNN) file, when IN is the encoder (ComCNN). */
  decoder?: string;
}

/** One converted tensor, as printed. */
export interface ConvertedTensor {
  name: string;
  shape: number[];
  dtype: string;
  /** The file's dtype when it was widened (float16 -> float32). */
  from?: string;
}

/** Picks the subtree `key` and strips prefixes; the error lists the keys that are there. */
export function selectArrays(tree: FlatTree, options: Pick<ConvertOptions, "key" | "stripPrefix">): Map<string, ArrayLike> {
  let entries = [...tree.arrays];
  if (options.key !== undefined && options.key !== "") {
    const k = options.key;
    const under = entries.filter(([n]) => n === k || n.startsWith(`${k}.`));
    if (!under.length) {
      const tops = [...new Set([...tree.arrays.keys()].map((n) => n.split(".")[0]))];
      throw new Error(`--key ${k}: no tensors under this key; the file's top-level keys are ${tops.join(", ") || "(none)"}`);
    }
    entries = under.map(([n, a]) => [n === k ? k.split(".").pop()! : n.slice(k.length + 1), a]);
  }
  const out = new Map<string, ArrayLike>();
  for (const [name, a] of entries) {
    let n = name;
    for (const p of options.stripPrefix ?? []) if (p && n.startsWith(p)) n = n.slice(p.length);
    if (out.has(n)) throw new Error(`two tensors are named ${JSON.stringify(n)} after --strip-prefix (${name} and another)`);
    out.set(n, a);
  }
  return out;
}

/** The arrays of a ComDefend weight file in the authors' order (kernel, bias, ...). */
function officialList(tree: WeightsTree, path: string): Tensor[] {
  const tensors = flatToTensors(tree);
  const list = [...tensors.values()];
  if (!list.length) throw new Error(`${path}: no arrays`);
  return list;
}

/**
 * ComDefend's networks from the authors' files: IN alone (ComCNN or RecCNN, told by its first
 * kernel's input channels) or IN and `decoder` (both networks). Returns idfr's state dict keys
 * (`com.features.0.weight` OIHW, ...), those of the network(s) the files held.
 */
function comdefendTensors(inPath: string, tree: WeightsTree, decoder: string | undefined, options: ConvertOptions): Map<string, Tensor> {
  const first = officialList(tree, inPath);
  const dispose = (ts: Tensor[]) => ts.forEach((t) => t.dispose());
  let nets: ComDefendNets;
  let keep: "com" | "rec" | "both";
  try {
    if (decoder) {
      const dec = officialList(readWeightsTree(decoder, { unknown: options.skipUnsupported ? "opaque" : "error" }), decoder);
      try {
        nets = comdefendFromOfficial(first, dec);
      } finally {
        dispose(dec);
      }
      keep = "both";
    } else {
      const inChannels = first[0].shape[2];
      const isRec = first[0].shape.length === 4 && (inChannels === codeChannels("rgb") || inChannels === codeChannels("grey"));
      if (isRec) {
        const variant = inChannels === codeChannels("rgb") ? "rgb" : "grey";
        nets = newNets(variant);
        try {
          loadOfficialLayers(nets, "rec", first, `${inPath} (RecCNN)`);
        } catch (err) {
          nets.dispose();
          throw err;
        }
        keep = "rec";
      } else {
        const variant = officialVariant(first, inPath);
        nets = newNets(variant);
        try {
          loadOfficialLayers(nets, "com", first, `${inPath} (ComCNN)`);
        } catch (err) {
          nets.dispose();
          throw err;
        }
        keep = "com";
      }
    }
  } finally {
    dispose(first);
  }
  const out = new Map<string, Tensor>();
  for (const [name, t] of nets.stateDict()) {
    if (keep === "both" || name.startsWith(`${keep}.`)) out.set(name, t.detach().clone());
  }
  nets.dispose();
  return out;
}

/** SOAP's model kind from the authors' keys: the CIFAR ResNet (layer1..., linear, fc1 rotation head) or the autoencoder (cls, conv3/conv4). */
function soapModelOf(names: readonly string[], path: string): "resnet" | "cae" {
  if (names.some((n) => /^(resnet\.)?layer1\./.test(n))) return "resnet";
  if (names.some((n) => n.startsWith("cls.")) && names.some((n) => n.startsWith("conv1."))) return "cae";
  throw new Error(`${path}: --as soap expects the authors' ResNet (layer1.*, linear.*) or ConvAutoEncoder (conv1.*, cls.*) keys, got ${names.slice(0, 6).join(", ")}${names.length > 6 ? ", ..." : ""}`);
}

/**
 * Converts `inPath` to safetensors at `outPath`; returns what was written, in order. The
 * file's scalar entries (epoch, accuracy, ...) go into the safetensors metadata as JSON.
 */
export function convertWeights(inPath: string, outPath: string, options: ConvertOptions = {}): { tensors: ConvertedTensor[]; format: string; skipped: Map<string, string> } {
  const tree = readWeightsTree(inPath, { unknown: options.skipUnsupported ? "opaque" : "error" });
  let tensors: Map<string, Tensor>;
  const rows: ConvertedTensor[] = [];
  if (options.as === "comdefend") {
    if (options.key || options.stripPrefix?.length) throw new Error("--as comdefend takes the whole weight list; drop --key and --strip-prefix");
    tensors = comdefendTensors(inPath, tree, options.decoder, options);
    for (const [name, t] of tensors) rows.push({ name, shape: t.shape, dtype: t.dtype });
  } else {
    if (options.decoder) throw new Error("--decoder goes with --as comdefend");
    if (options.as !== undefined && options.as !== "soap" && options.as !== "nrp") throw new Error(`--as: expected comdefend, soap or nrp, got ${JSON.stringify(options.as)}`);
    let selected = selectArrays(tree, options);
    if (options.as === "soap") {
      const model = soapModelOf([...selected.keys()], inPath);
      selected = new Map([...selected].map(([n, a]) => [officialKey(n, model), a]));
    }
    if (!selected.size) throw new Error(`${inPath}: no tensors found${tree.skipped.size ? ` (left out: ${[...tree.skipped.keys()].join(", ")})` : ""}`);
    tensors = flatToTensors({ arrays: selected, scalars: new Map(), skipped: new Map() });
    for (const [name, a] of selected) {
      const source = a.hostArray(name).dtype;
      const t = tensors.get(name)!;
      rows.push({ name, shape: t.shape, dtype: t.dtype, ...(TARGET_DTYPE[source] !== source ? { from: source } : {}) });
    }
  }
  if (options.as === "nrp") {
    try {
      writeNrpFolder(inPath, outPath, tensors);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    return { tensors: rows, format: tree.format, skipped: tree.skipped };
  }
  try {
    const metadata: Record<string, string> = { format: "pt", source: basename(inPath), sourceFormat: tree.format };
    if (tree.scalars.size) metadata.checkpoint = JSON.stringify(Object.fromEntries(tree.scalars));
    if (options.as) metadata.convertedAs = options.as;
    saveSafetensors(outPath, tensors, metadata);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { tensors: rows, format: tree.format, skipped: tree.skipped };
}

/**
 * An NRP purifier folder (purifier.safetensors and nrp.json) from the authors' state dict: the
 * architecture and sizes come from the shapes, and loading the weights into that network checks
 * that every name and shape fits.
 */
function writeNrpFolder(inPath: string, dir: string, tensors: Map<string, Tensor>): void {
  const { arch, sizes } = nrpSizesFromShapes(new Map([...tensors].map(([k, t]) => [k, t.shape])), inPath);
  const purifier = makePurifier(arch, sizes);
  try {
    purifier.loadStateDict(tensors);
  } catch (e) {
    throw new Error(`${inPath}: the weights do not fit an ${arch} purifier of nf ${sizes.nf}, nb ${sizes.nb}${arch === "nrp" ? `, gc ${sizes.gc}` : ""}: ${(e as Error).message}`);
  }
  saveNrpPurifier(dir, purifier, { arch, sizes });
}

/** The lines `idfr convert` prints: name, shape, dtype, aligned. */
export function convertedLines(rows: readonly ConvertedTensor[]): string[] {
  const cells = rows.map((r) => [r.name, `[${r.shape.join(", ")}]`, r.from ? `${r.dtype} (from ${r.from})` : r.dtype]);
  const w0 = Math.max(0, ...cells.map((c) => c[0].length));
  const w1 = Math.max(0, ...cells.map((c) => c[1].length));
  return cells.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}

interface ConvertCliOptions {
  key?: string;
  stripPrefix?: string[];
  skipUnsupported?: boolean;
  as?: "comdefend" | "soap" | "nrp";
  decoder?: string;
}

export function registerConvertCommand(program: Command, out: { write(text: string): unknown } = process.stdout): Command {
  return program
    .command("convert")
    .description("convert a PyTorch checkpoint (.pth/.pt, zip or legacy) or NumPy file (.npy/.npz) to safetensors, without Python; nothing in the file is executed")
    .argument("<in>", "the weight file (format told by its bytes)")
    .argument("<out>", "the safetensors file to write")
    .option("--key <prefix>", "keep only the tensors under this dotted key, without it (e.g. state_dict, model)")
    .option("--strip-prefix <prefix>", "remove this prefix from the start of every name (e.g. module.); repeatable", (v: string, prev: string[] = []) => [...prev, v])
    .option("--skip-unsupported", "leave out pickled objects other than tensors, arrays and containers (e.g. an argparse Namespace) instead of failing")
    .addOption(new Option("--as <defense>", "map the authors' published weights onto idfr's networks: comdefend (HWIO weight lists -> com.*/rec.* OIHW), soap (ResNet/ConvAutoEncoder keys renamed), nrp (NRP.pth or NRP_resG.pth to a purifier folder <out> with nrp.json)").choices(["comdefend", "soap", "nrp"]))
    .option("--decoder <file>", "with --as comdefend: the RecCNN file, when <in> is the ComCNN file (writes both networks)")
    .action((inPath: string, outPath: string, o: ConvertCliOptions) => {
      const r = convertWeights(inPath, outPath, { key: o.key, stripPrefix: o.stripPrefix, skipUnsupported: o.skipUnsupported, as: o.as, decoder: o.decoder });
      const lines = convertedLines(r.tensors);
      const skipped = [...r.skipped].map(([k, why]) => `left out ${k || "(root)"}: ${why}`);
      out.write(`${[...lines, ...skipped, `wrote ${r.tensors.length} tensors from ${inPath} (${r.format}) to ${outPath}`].join("\n")}\n`);
    });
}
