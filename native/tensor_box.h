// Tensor handles as seen by JavaScript: an External holding an at::Tensor. The handle frees its
// tensor on dispose() or, as a fallback, when V8 collects it; native bytes are reported to V8 so
// that garbage collection is scheduled with the real memory in view.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <torch/script.h>

namespace idfr {

struct TensorBox {
  at::Tensor tensor;
  int64_t accounted_bytes = 0;
};

// An explicit random generator: ops that take a `Generator?` argument draw from it instead of
// libtorch's global default generator, so independent streams need no global reseeding.
struct GeneratorBox {
  at::Generator generator;
};

struct ModuleBox {
  torch::jit::Module module;
};

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor);
// Throws a JS TypeError naming `what` when `value` is not a live tensor handle.
at::Tensor& UnwrapTensor(Napi::Env env, const Napi::Value& value, const char* what);
bool IsTensorHandle(const Napi::Value& value);
void DisposeTensor(Napi::Env env, const Napi::Value& value);
int64_t LiveTensorCount();

Napi::Value WrapGenerator(Napi::Env env, at::Generator generator);
// Throws a JS TypeError naming `what` when `value` is not a live generator handle.
at::Generator& UnwrapGenerator(Napi::Env env, const Napi::Value& value, const char* what);
bool IsGeneratorHandle(const Napi::Value& value);
void DisposeGenerator(Napi::Env env, const Napi::Value& value);

Napi::Value WrapModule(Napi::Env env, torch::jit::Module module);
torch::jit::Module& UnwrapModule(Napi::Env env, const Napi::Value& value);

}  // namespace idfr
