/**
 * Memory scopes in the spirit of tfjs `tidy`: every tensor created inside `tidy(fn)` is freed when
 * fn returns, except the tensors fn returns and those passed to `keep`. A scope cannot span an
 * `await`; keep each training step or attack iteration synchronous.
 */

/** Anything a scope can free. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Registers a newly created tensor with the innermost open scope, if any. */
export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes `t` from every open scope: it lives until disposed (or garbage collected). */
export function keep<T extends Disposable>(t: T): T {
  for (const scope of stack) scope.delete(t);
  return t;
}

/** Values whose tensors survive a scope: a tensor, or arrays/plain objects holding tensors. */
function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 8) return;
  if (isDisposable(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === "function" && "isDisposed" in v;
}

/**
 * Runs `fn` and frees every tensor it created, except what it returns (tensors, or arrays and
 * plain objects of tensors) and what it passed to `keep`. Returned tensors move to the enclosing
 * scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new Error("tidy: the function returned a Promise; scopes cannot span an await (keep the step synchronous)");
  }
  const survivors = new Set<unknown>();
  collect(result, survivors);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else if (!t.isDisposed) t.dispose();
  }
  return result;
}

/** Disposes every tensor in a value (a tensor, or arrays/plain objects of tensors). */
export function disposeAll(value: unknown): void {
  const found = new Set<unknown>();
  collect(value, found);
  for (const t of found) (t as Disposable).dispose();
}
