/** Weight initialisation and dropout from explicit generators: the global generator's numbers, without touching it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { F, Generator, gradOf, manualSeed, memory, nn, ones, rand, randn, tidy } from "../../src/torch/index.js";

const values = (m: nn.Module) => m.parameters().flatMap((p) => p.toArray() as number[]);
const build = () => new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.Linear(5, 4), new nn.ConvTranspose2d(3, 2, 2));

test("withInitGenerator: a model built in the scope has the weights manualSeed(s) gave, and the global stream does not move", () => {
  manualSeed(11);
  const viaGlobal = values(build());
  manualSeed(2);
  const next = rand([4]).toArray();
  manualSeed(2);
  const generator = new Generator(11);
  const scoped = nn.init.withInitGenerator(generator, build);
  assert.deepEqual(values(scoped), viaGlobal);
  assert.deepEqual(rand([4]).toArray(), next, "the global generator was not drawn from");
  // The scope ends with the function: later layers draw from the global generator again.
  manualSeed(2);
  const after = values(new nn.Linear(3, 3));
  manualSeed(2);
  assert.deepEqual(after, values(new nn.Linear(3, 3)));
  generator.dispose();
});

test("withInitGenerator scopes nest, restore the outer generator even when the build throws, and refuse an async build", () => {
  const outer = new Generator(1);
  const inner = new Generator(2);
  const got = nn.init.withInitGenerator(outer, () => {
    const a = new nn.Linear(2, 2);
    const b = nn.init.withInitGenerator(inner, () => new nn.Linear(2, 2));
    assert.throws(() => nn.init.withInitGenerator(inner, () => { throw new Error("boom"); }), /boom/);
    const c = new nn.Linear(2, 2);
    return [a, b, c].map(values);
  });
  // Replayed: the outer stream gives a then c (b came from the inner generator).
  const outerAgain = new Generator(1);
  const innerAgain = new Generator(2);
  const [a, c] = nn.init.withInitGenerator(outerAgain, () => [new nn.Linear(2, 2), new nn.Linear(2, 2)].map(values));
  const b = nn.init.withInitGenerator(innerAgain, () => values(new nn.Linear(2, 2)));
  assert.deepEqual(got, [a, b, c]);
  assert.equal(nn.init.initGenerator(), undefined, "no scope is left behind");
  assert.throws(() => nn.init.withInitGenerator(outer, (async () => new nn.Linear(2, 2)) as unknown as () => nn.Linear),
    /withInitGenerator: build must be synchronous/);
  assert.equal(nn.init.initGenerator(), undefined);
  // An explicit generator wins over the scope's.
  const t = ones([3, 3]);
  nn.init.withInitGenerator(outer, () => nn.init.normal_(t, 0, 1, new Generator(9)));
  assert.deepEqual(t.toArray(), randn([3, 3], { generator: new Generator(9) }).toArray());
  for (const g of [outer, inner, outerAgain, innerAgain]) g.dispose();
});

test("dropout from a generator masks exactly as libtorch's dropout does after manualSeed, and leaves the global stream alone", () => {
  tidy(() => {
    const x = rand([4, 50], { generator: new Generator(0) });
    manualSeed(7);
    const viaGlobal = F.dropout(x, 0.3).toArray() as number[];
    manualSeed(1);
    const next = rand([3]).toArray();
    manualSeed(1);
    const own = F.dropout(x, 0.3, true, new Generator(7)).toArray() as number[];
    assert.deepEqual(own, viaGlobal);
    assert.deepEqual(rand([3]).toArray(), next);
    // Kept values are scaled by 1/(1 - p); roughly 30 % are zeroed.
    const kept = own.filter((v) => v !== 0);
    assert.ok(kept.length > 110 && kept.length < 170, `${kept.length} of 200 kept`);
    // Off, p = 0 and p = 1 draw nothing and give the input, the input and zeros.
    const g = new Generator(3);
    assert.deepEqual(F.dropout(x, 0.5, false, g).toArray(), x.toArray());
    assert.deepEqual(F.dropout(x, 0, true, g).toArray(), x.toArray());
    assert.ok((F.dropout(x, 1, true, g).toArray() as number[]).every((v) => v === 0));
    assert.deepEqual(rand([5], { generator: g }).toArray(), rand([5], { generator: new Generator(3) }).toArray(), "g did not move");
  });
});

test("Module.useGenerator gives every dropout layer of a model the generator; the gradient flows through the kept units", () => {
  const model = new nn.Sequential(new nn.Linear(6, 6), new nn.Dropout(0.5), new nn.Sequential(new nn.Dropout(0.25)));
  const generator = new Generator(4);
  model.useGenerator(generator);
  assert.ok(model.namedModules().every(([, m]) => m.generator === generator));
  const x = tidy(() => rand([3, 6], { generator: new Generator(5) }).add(0.5));
  const live = memory().numTensors;
  const run = (g: Generator) => tidy(() => model.useGenerator(g).forward(x).toArray());
  const first = run(new Generator(4));
  assert.deepEqual(run(new Generator(4)), first, "the same generator state, the same masks");
  assert.notDeepEqual(run(new Generator(5)), first);
  model.useGenerator(undefined);
  assert.ok(model.namedModules().every(([, m]) => m.generator === undefined));
  // In eval mode dropout is the identity and draws nothing.
  model.useGenerator(generator).eval();
  tidy(() => {
    model.forward(x);
    assert.deepEqual(rand([4], { generator }).toArray(), rand([4], { generator: new Generator(4) }).toArray(), "the generator did not move");
  });
  // The gradient of a dropout is its mask scaled by 1/(1 - p).
  tidy(() => {
    const out = F.dropout(x, 0.5, true, new Generator(8));
    const grad = gradOf((z) => F.dropout(z, 0.5, true, new Generator(8)).sum(), x).toArray() as number[];
    assert.deepEqual(grad, (out.toArray() as number[]).map((v) => (v === 0 ? 0 : 2)));
  });
  assert.equal(memory().numTensors, live);
  generator.dispose();
});
