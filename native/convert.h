// Conversion between JavaScript values and libtorch IValues, driven by an operator's schema:
// the schema says what each argument is, so one path serves every op.
#pragma once
#include <napi.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/function_schema.h>

namespace idfr {

// Converts `value` to the IValue that `arg` of `schema` expects; throws a TypeError naming the op
// and the argument when the value does not fit.
c10::IValue ToIValue(Napi::Env env, const Napi::Value& value, const c10::TypePtr& type,
                     const c10::Argument& arg, const c10::FunctionSchema& schema);

// Converts a value without a schema (TorchScript method inputs): tensors, numbers, booleans,
// strings, null and arrays of those (arrays become tuples).
c10::IValue ToIValueUntyped(Napi::Env env, const Napi::Value& value);

Napi::Value FromIValue(Napi::Env env, const c10::IValue& value);

}  // namespace idfr
