/**
 * Reading the input tensor of an Open Inference Protocol (KServe v2) infer request. Every check
 * names the input and what was expected: the tensor's name, datatype (FP32 in [0, 1], or UINT8
 * 0..255), shape [N, C, H, W] against the model's, and each value (finite, in range).
 */
import { badRequest } from "./http-error.js";

/** The name of the one input every served model takes. */
export const INPUT_NAME = "input";

export interface TensorInput {
  rows: number;
  /** rows x C x H x W floats in [0, 1], on a buffer of its own. */
  data: Float32Array;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Flattens nested arrays (the protocol allows both flat and nested data) in row-major order. */
function flatten(data: unknown[], out: unknown[], depth: number): void {
  for (const v of data) {
    if (Array.isArray(v)) {
      if (depth > 5) throw badRequest(`input "${INPUT_NAME}": data is nested deeper than the tensor's 4 dimensions`);
      flatten(v, out, depth + 1);
    } else out.push(v);
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  if (typeof v === "number") return String(v);
  return v === null ? "null" : typeof v;
}

/**
 * Checks the `inputs` of an infer request body for a model taking [C, H, W] images, at most
 * `maxRows` of them, and returns them as floats in [0, 1].
 */
export function readTensorInput(body: unknown, shape: readonly [number, number, number], maxRows: number): TensorInput {
  if (!isObject(body)) throw badRequest(`the request body must be a JSON object with "inputs", got ${Array.isArray(body) ? "an array" : describe(body)}`);
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw badRequest(`"inputs" must be a non-empty array of tensors, got ${inputs === undefined ? "nothing" : describe(inputs)}`);
  if (inputs.length > 1) throw badRequest(`this model takes one input ("${INPUT_NAME}"), got ${inputs.length}`);
  const t = inputs[0];
  if (!isObject(t)) throw badRequest(`inputs[0] must be an object with name, shape, datatype and data`);
  if (t.name !== INPUT_NAME) throw badRequest(`unknown input ${describe(t.name)}; this model takes "${INPUT_NAME}"`);
  const params = isObject(t.parameters) ? t.parameters : {};
  if (params.binary_data_size !== undefined) throw badRequest(`input "${INPUT_NAME}": the binary data extension is not supported; send the values as JSON "data"`);
  const datatype = t.datatype;
  if (datatype !== "FP32" && datatype !== "UINT8") throw badRequest(`input "${INPUT_NAME}": datatype must be "FP32" (values in [0, 1]) or "UINT8" (0 to 255), got ${describe(datatype)}`);
  const s = t.shape;
  const want = `[N, ${shape.join(", ")}]`;
  if (!Array.isArray(s) || s.length !== 4 || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw badRequest(`input "${INPUT_NAME}": shape must be ${want} (4 non-negative integers), got ${JSON.stringify(s)}`);
  }
  if (s[1] !== shape[0] || s[2] !== shape[1] || s[3] !== shape[2]) throw badRequest(`input "${INPUT_NAME}": shape ${JSON.stringify(s)} does not fit the model, which takes ${want}`);
  const rows = s[0] as number;
  if (rows < 1) throw badRequest(`input "${INPUT_NAME}": shape ${JSON.stringify(s)} holds no image (N must be at least 1)`);
  if (rows > maxRows) throw badRequest(`input "${INPUT_NAME}": ${rows} images in one request; at most ${maxRows} (--max-request-images)`);
  if (!Array.isArray(t.data)) throw badRequest(`input "${INPUT_NAME}": "data" must be an array of numbers, got ${describe(t.data)}`);
  let values: unknown[] = t.data;
  if (values.some(Array.isArray)) {
    values = [];
    flatten(t.data, values, 1);
  }
  const n = rows * shape[0] * shape[1] * shape[2];
  if (values.length !== n) throw badRequest(`input "${INPUT_NAME}": shape ${JSON.stringify(s)} needs ${n} values, "data" holds ${values.length}`);
  const out = new Float32Array(n);
  if (datatype === "FP32") {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "number" || !Number.isFinite(v)) throw badRequest(`input "${INPUT_NAME}": data[${i}] is ${describe(v)}; expected a finite number in [0, 1]`);
      if (v < 0 || v > 1) throw badRequest(`input "${INPUT_NAME}": data[${i}] is ${v}, outside [0, 1] (FP32 images are scaled to [0, 1]; send 0..255 as UINT8)`);
      out[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) throw badRequest(`input "${INPUT_NAME}": data[${i}] is ${describe(v)}; UINT8 values are integers from 0 to 255`);
      out[i] = v / 255;
    }
  }
  return { rows, data: out };
}

/** The outputs an infer request asks for (all when it names none); unknown names are refused. */
export function requestedOutputs(body: Record<string, unknown>, available: readonly string[]): string[] {
  const outputs = body.outputs;
  if (outputs === undefined) return available.filter((n) => n !== "purified");
  if (!Array.isArray(outputs)) throw badRequest(`"outputs" must be an array of {"name": ...}, got ${describe(outputs)}`);
  return outputs.map((o, i) => {
    const name = isObject(o) ? o.name : undefined;
    if (typeof name !== "string" || !available.includes(name)) throw badRequest(`outputs[${i}]: unknown output ${describe(name)}; this model has ${available.map((a) => `"${a}"`).join(", ")}`);
    return name;
  });
}
