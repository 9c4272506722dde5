#include "convert.h"

#include <sstream>

#include "tensor_box.h"

namespace idfr {
namespace {

[[noreturn]] void Mismatch(Napi::Env env, const c10::FunctionSchema& schema, const c10::Argument& arg,
                           const std::string& expected) {
  std::ostringstream msg;
  msg << schema.name();
  if (!schema.overload_name().empty()) msg << "." << schema.overload_name();
  msg << ": argument '" << arg.name() << "' expected " << expected;
  throw Napi::TypeError::New(env, msg.str());
}

double NumberOf(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& s, const c10::Argument& a) {
  if (!v.IsNumber()) Mismatch(env, s, a, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t IntOf(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& s, const c10::Argument& a) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  double d = NumberOf(env, v, s, a);
  if (d != static_cast<double>(static_cast<int64_t>(d))) Mismatch(env, s, a, "an integer");
  return static_cast<int64_t>(d);
}

c10::Scalar ScalarOf(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& s, const c10::Argument& a) {
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return c10::Scalar(IntOf(env, v, s, a));
  double d = NumberOf(env, v, s, a);
  // Integral JS numbers stay integral so that integer tensors keep their dtype.
  if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.007199254740992e15) {
    return c10::Scalar(static_cast<int64_t>(d));
  }
  return c10::Scalar(d);
}

c10::IValue ListOf(Napi::Env env, const Napi::Value& value, const c10::ListTypePtr& list,
                   const c10::Argument& arg, const c10::FunctionSchema& schema) {
  const c10::TypePtr& elem = list->getElementType();
  // `int[2] stride=1` accepts one number for every position, as in Python.
  if (!value.IsArray()) {
    if (arg.N() && (value.IsNumber() || value.IsBoolean())) {
      Napi::Array repeated = Napi::Array::New(env, *arg.N());
      for (uint32_t i = 0; i < static_cast<uint32_t>(*arg.N()); ++i) repeated.Set(i, value);
      return ListOf(env, repeated, list, arg, schema);
    }
    Mismatch(env, schema, arg, "an array (" + list->str() + ")");
  }
  Napi::Array arr = value.As<Napi::Array>();
  const uint32_t n = arr.Length();
  switch (elem->kind()) {
    case c10::TypeKind::IntType: {
      c10::List<int64_t> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; ++i) out.push_back(IntOf(env, arr.Get(i), schema, arg));
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; ++i) out.push_back(NumberOf(env, arr.Get(i), schema, arg));
      return out;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value e = arr.Get(i);
        if (!e.IsBoolean()) Mismatch(env, schema, arg, "an array of booleans");
        out.push_back(e.As<Napi::Boolean>().Value());
      }
      return out;
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value e = arr.Get(i);
        if (!IsTensorHandle(e)) Mismatch(env, schema, arg, "an array of tensors");
        out.push_back(UnwrapTensor(env, e, arg.name().c_str()));
      }
      return out;
    }
    case c10::TypeKind::OptionalType: {
      if (elem->expectRef<c10::OptionalType>().getElementType()->kind() != c10::TypeKind::TensorType) break;
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value e = arr.Get(i);
        if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(UnwrapTensor(env, e, arg.name().c_str()));
      }
      return out;
    }
    default:
      break;
  }
  Mismatch(env, schema, arg, "a list type this binding supports, not " + list->str());
}

}  // namespace

c10::IValue ToIValue(Napi::Env env, const Napi::Value& value, const c10::TypePtr& type,
                     const c10::Argument& arg, const c10::FunctionSchema& schema) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (value.IsNull() || value.IsUndefined()) return c10::IValue();
      return ToIValue(env, value, type->expectRef<c10::OptionalType>().getElementType(), arg, schema);
    case c10::TypeKind::TensorType:
      if (!IsTensorHandle(value)) Mismatch(env, schema, arg, "a tensor");
      return UnwrapTensor(env, value, arg.name().c_str());
    case c10::TypeKind::IntType:
      return IntOf(env, value, schema, arg);
    case c10::TypeKind::FloatType:
      return NumberOf(env, value, schema, arg);
    case c10::TypeKind::BoolType:
      if (!value.IsBoolean()) Mismatch(env, schema, arg, "a boolean");
      return value.As<Napi::Boolean>().Value();
    case c10::TypeKind::NumberType:
      return ScalarOf(env, value, schema, arg);
    case c10::TypeKind::StringType:
      if (!value.IsString()) Mismatch(env, schema, arg, "a string");
      return value.As<Napi::String>().Utf8Value();
    case c10::TypeKind::DeviceObjType:
      if (!value.IsString()) Mismatch(env, schema, arg, "a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(value.As<Napi::String>().Utf8Value());
    case c10::TypeKind::GeneratorType:
      if (value.IsNull() || value.IsUndefined()) return c10::IValue();  // the global default generator
      if (!IsGeneratorHandle(value)) Mismatch(env, schema, arg, "a generator or null (the default generator)");
      return c10::IValue(UnwrapGenerator(env, value, arg.name().c_str()));
    case c10::TypeKind::ListType:
      return ListOf(env, value, type->expect<c10::ListType>(), arg, schema);
    default:
      Mismatch(env, schema, arg, "a type this binding supports, not " + type->str());
  }
}

c10::IValue ToIValueUntyped(Napi::Env env, const Napi::Value& value) {
  if (IsTensorHandle(value)) return UnwrapTensor(env, value, "module input");
  if (value.IsNull() || value.IsUndefined()) return c10::IValue();
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value();
  if (value.IsString()) return value.As<Napi::String>().Utf8Value();
  if (value.IsNumber()) {
    double d = value.As<Napi::Number>().DoubleValue();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
    return d;
  }
  if (value.IsArray()) {
    Napi::Array arr = value.As<Napi::Array>();
    std::vector<c10::IValue> items;
    for (uint32_t i = 0; i < arr.Length(); ++i) items.push_back(ToIValueUntyped(env, arr.Get(i)));
    return c10::ivalue::Tuple::create(std::move(items));
  }
  throw Napi::TypeError::New(env, "module input: expected tensors, numbers, booleans, strings or arrays of those");
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& value) {
  if (value.isTensor()) return WrapTensor(env, value.toTensor());
  if (value.isNone()) return env.Null();
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  if (value.isTuple()) {
    const auto& elems = value.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) out.Set(static_cast<uint32_t>(i), FromIValue(env, elems[i]));
    return out;
  }
  if (value.isList()) {
    auto list = value.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), FromIValue(env, list[i]));
    return out;
  }
  if (value.isGenericDict()) {
    Napi::Object out = Napi::Object::New(env);
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString()) throw Napi::TypeError::New(env, "module output: only string-keyed dicts are supported");
      out.Set(item.key().toStringRef(), FromIValue(env, item.value()));
    }
    return out;
  }
  throw Napi::TypeError::New(env, "unsupported value returned from libtorch: " + value.tagKind());
}

}  // namespace idfr
