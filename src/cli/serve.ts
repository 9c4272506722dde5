/**
 * `idfr serve DIR...`: defended inference over HTTP (KServe v2 REST, an image endpoint, a page),
 * until SIGTERM or SIGINT, which shut it down gracefully (in-flight requests finish, exit 0).
 */
import { Option, type Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { DEFAULTS, defaultModelName } from "../serve/defaults.js";
import { deviceOption } from "./context.js";
import { nonNegativeInt, nonNegativeNumber, positiveInt } from "./parse.js";

interface ServeFlags {
  name?: string[];
  host: string;
  port: number;
  device: string;
  threads?: number;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
  timeoutMs: number;
  batching: boolean;
  bodyLimit: number;
  maxRequestImages: number;
  fastPath: boolean;
  samplesPerClass: number;
  logLevel: string;
}

const port = (v: string): number => {
  const n = nonNegativeInt(v);
  if (n > 65535) throw new Error(`--port: expected 0 to 65535, got ${v}`);
  return n;
};

/** Adds `idfr serve` to `program`. */
export function registerServeCommand(program: Command): Command {
  return program
    .command("serve")
    .description("serve defense folders (idfr defend) or model folders over HTTP: KServe v2 REST, an image endpoint, a page at /")
    .argument("<dirs...>", "defense or model folders (a model folder may be a TorchScript pair)")
    .option("--name <name>", "the name to serve a folder under, once per folder in order (default: the folder's name)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0: any free port)", port, 8080)
    .addOption(deviceOption())
    .option("--threads <n>", "libtorch CPU threads", positiveInt)
    .option("--max-batch <n>", "most images per batch", positiveInt, DEFAULTS.maxBatch)
    .option("--max-delay-ms <ms>", "longest wait for more requests before a batch runs", nonNegativeNumber, DEFAULTS.maxDelayMs)
    .option("--max-queue <n>", "most requests waiting; beyond it 503 with Retry-After", positiveInt, DEFAULTS.maxQueue)
    .option("--timeout-ms <ms>", "request deadline: receiving it, and waiting for the model (0: none)", nonNegativeInt, DEFAULTS.timeoutMs)
    .option("--no-batching", "run every request as its own batch")
    .option("--body-limit <bytes>", "largest request body (413 beyond)", positiveInt, DEFAULTS.bodyLimit)
    .option("--max-request-images <n>", "most images in one request", positiveInt, DEFAULTS.maxRequestImages)
    .option("--no-fast-path", "run the models as they are: batch norm not folded, libtorch's own kernel choice, no-grad mode instead of inference mode")
    .option("--samples-per-class <n>", "test images per class offered by the page (from the model's dataset)", nonNegativeInt, DEFAULTS.samplesPerClass)
    .addOption(new Option("--log-level <level>", "JSON log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"))
    .action(async (dirs: string[], o: ServeFlags) => {
      const names = o.name ?? [];
      if (names.length > dirs.length) throw new Error(`--name given ${names.length} times for ${dirs.length} folder(s)`);
      for (const dir of dirs) if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such folder`);
      // Loaded here, not at the top: the other commands need not load fastify, pino and the rest.
      const [{ pino }, { createServer }] = await Promise.all([import("pino"), import("../serve/server.js")]);
      const logger = pino({ name: "idfr-serve", level: o.logLevel });
      const server = await createServer({
        models: dirs.map((dir, i) => ({ dir, name: names[i] ?? defaultModelName(dir) })),
        device: o.device, threads: o.threads, fastPath: o.fastPath, maxBatch: o.maxBatch, maxDelayMs: o.maxDelayMs, maxQueue: o.maxQueue,
        timeoutMs: o.timeoutMs, batching: o.batching, bodyLimit: o.bodyLimit, maxRequestImages: o.maxRequestImages, samplesPerClass: o.samplesPerClass, logger,
      });
      const closed = new Promise<void>((resolve, reject) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, "shutting down: finishing the requests in flight");
          // A second signal stops at once.
          process.once(signal, () => process.exit(1));
          server.close().then(resolve, reject);
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      await server.listen(o.host, o.port);
      await closed;
    });
}
