import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { enableGrad, grad, gradOf, isGradEnabled, noGrad, tensor, valueAndGrad } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

describe("autograd", () => {
  it("backward fills .grad of leaves and accumulates until zeroed", () => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    assert.equal(x.requiresGrad, true);
    assert.equal(x.isLeaf, true);
    x.mul(x).sum().backward();
    assert.deepEqual(values(x.grad!), [2, 4, 6]);
    x.mul(3).sum().backward();
    assert.deepEqual(values(x.grad!), [5, 7, 9]);
    x.grad = null;
    assert.equal(x.grad, null);
  });
  it("backward with an explicit output gradient", () => {
    const x = tensor([1, 2]).requiresGrad_();
    x.mul(2).backward(tensor([1, 10]));
    assert.deepEqual(values(x.grad!), [2, 20]);
  });
  it("detach cuts the graph", () => {
    const x = tensor([1, 2]).requiresGrad_();
    const y = x.mul(2).detach();
    assert.equal(y.requiresGrad, false);
  });
  it("noGrad records nothing; enableGrad re-enables inside it", () => {
    const x = tensor([1]).requiresGrad_();
    assert.equal(isGradEnabled(), true);
    noGrad(() => {
      assert.equal(isGradEnabled(), false);
      assert.equal(x.mul(2).requiresGrad, false);
      enableGrad(() => assert.equal(x.mul(2).requiresGrad, true));
    });
    assert.equal(isGradEnabled(), true);
  });
  it("noGrad restores grad mode when its function throws", () => {
    assert.throws(() => noGrad(() => { throw new Error("boom"); }), /boom/);
    assert.equal(isGradEnabled(), true);
  });
  it("grad() returns gradients without touching .grad", () => {
    const a = tensor([2]).requiresGrad_();
    const b = tensor([5]).requiresGrad_();
    const [ga, gb] = grad(a.mul(b).add(a.pow(3)), [a, b]);
    assert.deepEqual(values(ga!), [5 + 12]);
    assert.deepEqual(values(gb!), [2]);
    assert.equal(a.grad, null);
  });
  it("gradOf/valueAndGrad: gradient of a scalar function w.r.t. an input, input unchanged", () => {
    const x = tensor([0.5, -1, 2]);
    const { value, grad: g } = valueAndGrad((z) => z.pow(2).sum().mul(0.5), x);
    assertClose([value.item()], [0.5 * (0.25 + 1 + 4)]);
    assert.deepEqual(values(g), [0.5, -1, 2]);
    assert.equal(x.requiresGrad, false);
    assert.deepEqual(values(gradOf((z) => z.exp().sum(), tensor([0]))), [1]);
  });
  it("gradOf works inside noGrad (attacks run inside evaluation loops)", () => {
    const g = noGrad(() => gradOf((z) => z.mul(3).sum(), tensor([1, 1])));
    assert.deepEqual(values(g), [3, 3]);
  });
  it("valueAndGrad rejects a non-scalar function", () => {
    assert.throws(() => valueAndGrad((z) => z.mul(2), tensor([1, 2])), /must return a scalar/);
  });
});
