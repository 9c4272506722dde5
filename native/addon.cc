// The whole native surface of idfr: a generic boxed call into the c10 dispatcher by operator
// name, plus the few things that are not operators (tensor data, autograd, runtime, TorchScript).
// Everything about models, attacks and defenses lives in TypeScript.
#include <napi.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "convert.h"
#include "guard.h"
#include "tensor_box.h"

namespace idfr {
void InitDistributed(Napi::Env env, Napi::Object exports);  // native/distributed.cc
namespace {

// Op handles by id. A deque never moves its elements, and the mutex lets a worker thread look
// ops up while another thread (each with its own addon instance) calls them.
std::deque<c10::OperatorHandle>& Ops() {
  static std::deque<c10::OperatorHandle> ops;
  return ops;
}

std::mutex& OpsMutex() {
  static std::mutex m;
  return m;
}

std::string OpName(const c10::FunctionSchema& schema) {
  return schema.overload_name().empty() ? schema.name() : schema.name() + "." + schema.overload_name();
}

const c10::OperatorHandle& OpAt(Napi::Env env, const Napi::Value& id) {
  if (!id.IsNumber()) throw Napi::TypeError::New(env, "op id must be a number");
  const auto index = id.As<Napi::Number>().Int64Value();
  std::lock_guard<std::mutex> lock(OpsMutex());
  if (index < 0 || static_cast<size_t>(index) >= Ops().size()) throw Napi::RangeError::New(env, "no op with this id");
  return Ops()[static_cast<size_t>(index)];
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// findOp("aten::conv2d", "") -> id used by callOp. Unknown names fail here, once.
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = StringArg(info, 0, "op name");
  const std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw Napi::Error::New(env, "unknown op '" + name + (overload.empty() ? "" : "." + overload) +
                                    "' (no such operator schema in the linked libtorch)");
  }
  std::lock_guard<std::mutex> lock(OpsMutex());
  Ops().push_back(*handle);
  return Napi::Number::New(env, static_cast<double>(Ops().size() - 1));
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  std::ostringstream out;
  out << OpAt(info.Env(), info[0]).schema();
  return Napi::String::New(info.Env(), out.str());
}

// callOp(id, args, discard): args are positional; undefined takes the schema's default.
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const c10::OperatorHandle& op = OpAt(env, info[0]);
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "callOp: args must be an array");
  const bool discard = info.Length() > 2 && info[2].ToBoolean().Value();
  Napi::Array args = info[1].As<Napi::Array>();
  const c10::FunctionSchema& schema = op.schema();
  const auto& params = schema.arguments();
  if (args.Length() > params.size()) {
    throw Napi::TypeError::New(env, OpName(schema) + ": expected at most " + std::to_string(params.size()) +
                                        " arguments, got " + std::to_string(args.Length()));
  }
  torch::jit::Stack stack;
  stack.reserve(params.size());
  for (uint32_t i = 0; i < params.size(); ++i) {
    const c10::Argument& param = params[i];
    Napi::Value value = i < args.Length() ? args.Get(i) : env.Undefined();
    if (value.IsUndefined()) {
      if (param.default_value()) {
        stack.push_back(*param.default_value());
        continue;
      }
      if (param.type()->kind() == c10::TypeKind::OptionalType) {
        stack.emplace_back();
        continue;
      }
      throw Napi::TypeError::New(env, OpName(schema) + ": missing argument '" + param.name() + "'");
    }
    stack.push_back(ToIValue(env, value, param.type(), param, schema));
  }
  op.callBoxed(&stack);
  if (discard || stack.empty()) return env.Undefined();
  if (stack.size() == 1) return FromIValue(env, stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); ++i) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
  return out;
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  DisposeTensor(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveTensorCount()));
}

std::vector<int64_t> ShapeArg(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "shape must be an array of integers");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value d = arr.Get(i);
    if (!d.IsNumber() || d.As<Napi::Number>().DoubleValue() < 0) throw Napi::TypeError::New(env, "shape must be an array of non-negative integers");
    shape[i] = d.As<Napi::Number>().Int64Value();
  }
  return shape;
}

// The first byte of a typed array's elements. Asked of the view itself, not of its buffer: a
// SharedArrayBuffer (the data loader's pixels live on one) is not an ArrayBuffer to N-API.
const uint8_t* ViewBytes(Napi::Env env, const Napi::TypedArray& view) {
  void* data = nullptr;
  napi_status status = napi_get_typedarray_info(env, view, nullptr, nullptr, &data, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(env, status, nullptr);
  return static_cast<const uint8_t*>(data);
}

// fromBuffer(typedArray, shape, scalarType): copies the bytes into a new CPU tensor.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: data must be a typed array");
  Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = ShapeArg(env, info[1]);
  const auto dtype = static_cast<c10::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (data.ByteLength() != expected) {
    throw Napi::RangeError::New(env, "fromBuffer: shape [" + c10::Join(",", shape) + "] of " + c10::toString(dtype) +
                                         " needs " + std::to_string(expected) + " bytes, got " + std::to_string(data.ByteLength()));
  }
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (expected > 0) std::memcpy(out.data_ptr(), ViewBytes(env, data), expected);
  return WrapTensor(env, out);
}

// toBuffer(tensor): the tensor's elements, contiguous, on the CPU, in a fresh ArrayBuffer.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = UnwrapTensor(env, info[0], "toBuffer");
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  const size_t bytes = c.numel() * c.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buf.Data(), c.data_ptr(), bytes);
  return buf;
}

// meta(tensor) -> [scalarType, device, requiresGrad, ...sizes]: one crossing for all metadata.
Napi::Value Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = UnwrapTensor(env, info[0], "meta");
  Napi::Array out = Napi::Array::New(env, 3 + t.dim());
  out.Set(0u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
  out.Set(1u, Napi::String::New(env, t.device().str()));
  out.Set(2u, Napi::Boolean::New(env, t.requires_grad()));
  for (int64_t i = 0; i < t.dim(); ++i) out.Set(static_cast<uint32_t>(3 + i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  return out;
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = UnwrapTensor(env, info[0], "setRequiresGrad");
  t.set_requires_grad(info[1].ToBoolean().Value());
  return env.Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), UnwrapTensor(info.Env(), info[0], "isLeaf").is_leaf());
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return WrapTensor(env, UnwrapTensor(env, info[0], "grad").grad());
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = UnwrapTensor(env, info[0], "setGrad");
  if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad().reset();
  else t.mutable_grad() = UnwrapTensor(env, info[1], "setGrad value");
  return env.Undefined();
}

std::vector<at::Tensor> TensorArray(Napi::Env env, const Napi::Value& value, const char* what) {
  std::vector<at::Tensor> out;
  if (value.IsNull() || value.IsUndefined()) return out;
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of tensors");
  Napi::Array arr = value.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    out.push_back(v.IsNull() || v.IsUndefined() ? at::Tensor() : UnwrapTensor(env, v, what));
  }
  return out;
}

// backward(outputs, gradOutputs | null, retainGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = TensorArray(env, info[0], "backward outputs");
  auto grads = TensorArray(env, info[1], "backward gradients");
  const bool retain = info[2].ToBoolean().Value();
  torch::autograd::backward(outputs, grads, retain, false);
  return env.Undefined();
}

// autogradGrad(outputs, inputs, gradOutputs | null, retainGraph, createGraph, allowUnused)
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = TensorArray(env, info[0], "grad outputs");
  auto inputs = TensorArray(env, info[1], "grad inputs");
  auto grads = TensorArray(env, info[2], "grad gradOutputs");
  auto result = torch::autograd::grad(outputs, inputs, grads, info[3].ToBoolean().Value(),
                                      info[4].ToBoolean().Value(), info[5].ToBoolean().Value());
  Napi::Array out = Napi::Array::New(env, result.size());
  for (size_t i = 0; i < result.size(); ++i) out.Set(static_cast<uint32_t>(i), WrapTensor(env, result[i]));
  return out;
}

// setGradEnabled(enabled) -> previous state
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  const bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

// inferenceMode(fn): calls fn under c10::InferenceMode (no autograd recording, no version counters
// on new tensors) and returns its result; the previous mode comes back however fn ends.
Napi::Value InferenceMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "inferenceMode: expected a function");
  c10::InferenceMode guard;
  return info[0].As<Napi::Function>().Call(env.Undefined(), {});
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return env.Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// setDeterministic(on): libtorch's deterministic mode, as torch.use_deterministic_algorithms(on)
// plus torch.backends.cudnn.deterministic = on and cudnn.benchmark = false. With it on, an op that
// has no deterministic implementation throws instead of warning. The flags exist in CPU-only
// builds too; they only change what CUDA kernels are chosen.
Napi::Value SetDeterministic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(env, "setDeterministic: expected (on: boolean)");
  const bool on = info[0].As<Napi::Boolean>().Value();
  at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/false);
  at::globalContext().setDeterministicCuDNN(on);
  at::globalContext().setBenchmarkCuDNN(false);
  return env.Undefined();
}

// deterministic() -> [algorithms, warnOnly, cudnnDeterministic, cudnnBenchmark]: the flags as
// libtorch holds them, read back rather than remembered.
Napi::Value Deterministic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Context& ctx = at::globalContext();
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Boolean::New(env, ctx.deterministicAlgorithms()));
  out.Set(1u, Napi::Boolean::New(env, ctx.deterministicAlgorithmsWarnOnly()));
  out.Set(2u, Napi::Boolean::New(env, ctx.deterministicCuDNN()));
  out.Set(3u, Napi::Boolean::New(env, ctx.benchmarkCuDNN()));
  return out;
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

// makeGenerator(seed, device): a new generator on `device` ("cpu", "cuda", "cuda:1"), seeded with
// `seed`. A CPU generator made with seed s yields the same stream as the global one after
// manualSeed(s). Other devices start from a copy of that device's default generator, reseeded.
Napi::Value MakeGenerator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "makeGenerator: expected (seed: number, device: string)");
  }
  const auto seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  const c10::Device device(info[1].As<Napi::String>().Utf8Value());
  if (device.is_cpu()) return WrapGenerator(env, at::make_generator<at::CPUGeneratorImpl>(seed));
  at::Generator generator = at::globalContext().defaultGenerator(device).clone();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_current_seed(seed);
  }
  return WrapGenerator(env, std::move(generator));
}

Napi::Value DisposeGeneratorHandle(const Napi::CallbackInfo& info) {
  DisposeGenerator(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

// jitLoad(path, device | null)
Napi::Value JitLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = StringArg(info, 0, "TorchScript path");
  c10::optional<c10::Device> device;
  if (info.Length() > 1 && info[1].IsString()) device = c10::Device(info[1].As<Napi::String>().Utf8Value());
  return WrapModule(env, torch::jit::load(path, device));
}

// moduleRun(module, methodName, inputs)
Napi::Value ModuleRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::jit::Module& module = UnwrapModule(env, info[0]);
  const std::string method = StringArg(info, 1, "method name");
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "moduleRun: inputs must be an array");
  Napi::Array inputs = info[2].As<Napi::Array>();
  std::vector<c10::IValue> stack;
  for (uint32_t i = 0; i < inputs.Length(); ++i) stack.push_back(ToIValueUntyped(env, inputs.Get(i)));
  auto fn = module.find_method(method);
  if (!fn) throw Napi::Error::New(env, "TorchScript module has no method '" + method + "'");
  return FromIValue(env, (*fn)(std::move(stack)));
}

// moduleTensors(module, "parameters" | "buffers") -> [[name, tensor], ...]
Napi::Value ModuleTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::jit::Module& module = UnwrapModule(env, info[0]);
  const std::string which = StringArg(info, 1, "kind");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  auto push = [&](const std::string& name, const at::Tensor& t) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, name));
    pair.Set(1u, WrapTensor(env, t));
    out.Set(i++, pair);
  };
  if (which == "parameters") {
    for (const auto& p : module.named_parameters(true)) push(p.name, p.value);
  } else if (which == "buffers") {
    for (const auto& b : module.named_buffers(true)) push(b.name, b.value);
  } else {
    throw Napi::TypeError::New(env, "moduleTensors: kind must be 'parameters' or 'buffers'");
  }
  return out;
}

Napi::Value ModuleTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UnwrapModule(env, info[0]).train(info[1].ToBoolean().Value());
  return env.Undefined();
}

Napi::Value ModuleTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UnwrapModule(env, info[0]).to(c10::Device(StringArg(info, 1, "device")));
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Every export goes through Export<Fn>, which wraps it in the libtorch exception guard.
  static constexpr ExportEntry kExports[] = {
      Export<FindOp>("findOp"),
      Export<OpSchema>("opSchema"),
      Export<CallOp>("callOp"),
      Export<Dispose>("dispose"),
      Export<LiveTensors>("liveTensors"),
      Export<FromBuffer>("fromBuffer"),
      Export<ToBuffer>("toBuffer"),
      Export<Meta>("meta"),
      Export<SetRequiresGrad>("setRequiresGrad"),
      Export<IsLeaf>("isLeaf"),
      Export<Grad>("grad"),
      Export<SetGrad>("setGrad"),
      Export<Backward>("backward"),
      Export<AutogradGrad>("autogradGrad"),
      Export<SetGradEnabled>("setGradEnabled"),
      Export<InferenceMode>("inferenceMode"),
      Export<SetNumThreads>("setNumThreads"),
      Export<NumThreads>("numThreads"),
      Export<SetDeterministic>("setDeterministic"),
      Export<Deterministic>("deterministic"),
      Export<ManualSeed>("manualSeed"),
      Export<MakeGenerator>("makeGenerator"),
      Export<DisposeGeneratorHandle>("disposeGenerator"),
      Export<CudaDeviceCount>("cudaDeviceCount"),
      Export<Version>("version"),
      Export<JitLoad>("jitLoad"),
      Export<ModuleRun>("moduleRun"),
      Export<ModuleTensors>("moduleTensors"),
      Export<ModuleTrain>("moduleTrain"),
      Export<ModuleTo>("moduleTo"),
  };
  for (const ExportEntry& e : kExports) exports.Set(e.name, Napi::Function::New(env, e.callback, e.name));
  InitDistributed(env, exports);
  return exports;
}

}  // namespace
}  // namespace idfr

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return idfr::Init(env, exports); }

NODE_API_MODULE(idfr_torch, InitAddon)
