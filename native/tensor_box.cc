#include "tensor_box.h"

#include <atomic>

namespace idfr {
namespace {

// Type tags tell our handles apart from any other External that might be passed in.
constexpr napi_type_tag kTensorTag = {0x6964667274656e73ULL, 0x6f72686e646c3031ULL};
constexpr napi_type_tag kModuleTag = {0x696466726d6f6475ULL, 0x6c6568616e646c31ULL};
constexpr napi_type_tag kGeneratorTag = {0x6964667267656e65ULL, 0x7261746f72686e31ULL};

std::atomic<int64_t> live_tensors{0};

int64_t OwnedBytes(const at::Tensor& t) {
  // Views share their base's storage; counting them again would overstate memory.
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

void Release(Napi::Env env, TensorBox* box) {
  if (!box->tensor.defined()) return;
  if (box->accounted_bytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -box->accounted_bytes);
  box->accounted_bytes = 0;
  box->tensor.reset();
  live_tensors.fetch_sub(1);
}

}  // namespace

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->accounted_bytes = OwnedBytes(box->tensor);
  if (box->accounted_bytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accounted_bytes);
  live_tensors.fetch_add(1);
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    Release(env, b);
    delete b;
  });
  external.TypeTag(&kTensorTag);
  return external;
}

bool IsTensorHandle(const Napi::Value& value) {
  if (!value.IsExternal()) return false;
  return value.As<Napi::External<TensorBox>>().CheckTypeTag(&kTensorTag);
}

at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!IsTensorHandle(value)) {
    throw Napi::TypeError::New(env, std::string("expected a tensor for ") + what);
  }
  TensorBox* box = value.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined()) {
    throw Napi::Error::New(env, std::string("tensor passed as ") + what + " has been disposed");
  }
  return box->tensor;
}

void DisposeTensor(Napi::Env env, const Napi::Value& value) {
  if (!IsTensorHandle(value)) throw Napi::TypeError::New(env, "dispose: expected a tensor handle");
  Release(env, value.As<Napi::External<TensorBox>>().Data());
}

int64_t LiveTensorCount() { return live_tensors.load(); }

Napi::Value WrapGenerator(Napi::Env env, at::Generator generator) {
  auto* box = new GeneratorBox{std::move(generator)};
  auto external = Napi::External<GeneratorBox>::New(env, box, [](Napi::Env, GeneratorBox* b) { delete b; });
  external.TypeTag(&kGeneratorTag);
  return external;
}

bool IsGeneratorHandle(const Napi::Value& value) {
  return value.IsExternal() && value.As<Napi::External<GeneratorBox>>().CheckTypeTag(&kGeneratorTag);
}

at::Generator& UnwrapGenerator(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!IsGeneratorHandle(value)) throw Napi::TypeError::New(env, std::string("expected a generator for ") + what);
  GeneratorBox* box = value.As<Napi::External<GeneratorBox>>().Data();
  if (!box->generator.defined()) {
    throw Napi::Error::New(env, std::string("generator passed as ") + what + " has been disposed");
  }
  return box->generator;
}

void DisposeGenerator(Napi::Env env, const Napi::Value& value) {
  if (!IsGeneratorHandle(value)) throw Napi::TypeError::New(env, "disposeGenerator: expected a generator handle");
  value.As<Napi::External<GeneratorBox>>().Data()->generator = at::Generator();
}

Napi::Value WrapModule(Napi::Env env, torch::jit::Module module) {
  auto* box = new ModuleBox{std::move(module)};
  auto external = Napi::External<ModuleBox>::New(env, box, [](Napi::Env, ModuleBox* b) { delete b; });
  external.TypeTag(&kModuleTag);
  return external;
}

torch::jit::Module& UnwrapModule(Napi::Env env, const Napi::Value& value) {
  if (!value.IsExternal() || !value.As<Napi::External<ModuleBox>>().CheckTypeTag(&kModuleTag)) {
    throw Napi::TypeError::New(env, "expected a TorchScript module handle");
  }
  return value.As<Napi::External<ModuleBox>>().Data()->module;
}

}  // namespace idfr
