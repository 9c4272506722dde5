/**
 * Worker threads started from a module beside the caller, the same way whether the caller runs as
 * compiled JavaScript (dist/, plain Node: the sibling .js file) or as TypeScript source under tsx
 * (the sibling .ts file). `node --import tsx` registers tsx's hooks on the main thread only, so a
 * worker started straight from a .ts file fails with ERR_UNKNOWN_FILE_EXTENSION; the worker
 * registers them itself first.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * The Node options of a worker started from a file: the parent's (inherited), except after
 * `node --input-type=module -e ...`, whose --input-type such a worker rejects with
 * ERR_INPUT_TYPE_NOT_ALLOWED; it then gets none (a list given explicitly may not hold per-process
 * options such as --expose-gc either, so filtering the parent's is not enough).
 */
function fileWorkerExecArgv(): string[] | undefined {
  return process.execArgv.some((a) => a === "--input-type" || a.startsWith("--input-type=")) ? [] : undefined;
}

/**
 * Starts the worker module `name` (without extension) that sits beside the module at `callerUrl`
 * (pass `import.meta.url`): `name.js` when the caller is compiled, `name.ts` through tsx when it
 * is a TypeScript source.
 */
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith(".ts")) {
    return new Worker(new URL(`./${name}.js`, callerUrl), { execArgv: fileWorkerExecArgv(), ...options });
  }
  const source = new URL(`./${name}.ts`, callerUrl).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
