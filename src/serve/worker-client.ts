/** The server's side of the inference worker: typed calls that resolve with the worker's reply. */
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../core/worker-thread.js";
import type { AttackRequest, AttackResultMessage, HostOptions, InferRequest, InferResult, ModelSpec, SampleSet, ServedModelInfo, WorkerReply, WorkerRequest } from "./protocol.js";

/** The inference worker is gone (it crashed, or the server closed it). */
export class WorkerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerGoneError";
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Omit2<T> = T extends unknown ? Omit<T, "id"> : never;

export class InferenceWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #exited: Error | null = null;

  constructor() {
    this.#worker = startModuleWorker(import.meta.url, "inference-worker");
    this.#worker.on("message", (reply: WorkerReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
    });
    const fail = (err: Error) => {
      this.#exited = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on("error", (err) => fail(new WorkerGoneError(`the inference worker failed: ${err.message}`)));
    this.#worker.on("exit", (code) => fail(new WorkerGoneError(`the inference worker exited (code ${code})`)));
  }

  #call<T>(msg: Omit2<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Why the worker is gone (it crashed or was closed), or null while it runs. */
  get failure(): Error | null {
    return this.#exited;
  }

  load(models: ModelSpec[], options: HostOptions): Promise<ServedModelInfo[]> {
    return this.#call({ type: "load", models, options });
  }

  /** Runs one batch; `r.data` is transferred (unusable here afterwards). */
  infer(r: InferRequest): Promise<InferResult> {
    return this.#call({ type: "infer", ...r }, [r.data.buffer as ArrayBuffer]);
  }

  attack(r: AttackRequest): Promise<AttackResultMessage> {
    return this.#call({ type: "attack", ...r }, [r.data.buffer as ArrayBuffer]);
  }

  samples(model: string): Promise<SampleSet | null> {
    return this.#call({ type: "samples", model });
  }

  /** Stops the worker (pending calls fail). */
  async close(): Promise<void> {
    if (this.#exited) return;
    await this.#worker.terminate();
  }
}
