// One guard around every native entry point, applied by construction: the export table holds
// only Guarded<Fn> callbacks (see Export below), so no entry point can forget it. libtorch reports
// errors as C++ exceptions; the guard turns them into JavaScript Errors carrying libtorch's own
// message without its C++ backtrace, never a crash.
#pragma once
#include <napi.h>
#include <c10/util/Exception.h>

#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace idfr {

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return Fn(info);
  } catch (const Napi::Error&) {
    throw;  // already a JavaScript error (TypeError, RangeError, ...): pass it on unchanged
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), "unknown C++ exception in the native addon");
  }
}

// One row of the export table: a JavaScript name and its guarded callback. Built only by
// Export<Fn>(name), which is the single place a native function becomes reachable from JavaScript.
struct ExportEntry {
  const char* name;
  Napi::Function::Callback callback;
};

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
constexpr ExportEntry Export(const char* name) {
  return ExportEntry{name, Guarded<Fn>};
}

// The guard for work run off the JavaScript thread (Napi::AsyncWorker::Execute), where a C++
// exception cannot become a JavaScript error directly: runs `work` and returns the message of what
// it threw (libtorch's without its backtrace), or nothing when it returned normally.
inline std::optional<std::string> CaughtMessage(const std::function<void()>& work) {
  try {
    work();
    return std::nullopt;
  } catch (const c10::Error& e) {
    return std::string(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("unknown C++ exception in the native addon");
  }
}

// Settles `deferred` with `value(env)`, or rejects it with the JavaScript error `value` threw
// (back on the JavaScript thread, after work done by CaughtMessage).
inline void ResolveGuarded(Napi::Promise::Deferred& deferred, Napi::Env env, const std::function<Napi::Value(Napi::Env)>& value) {
  try {
    deferred.Resolve(value(env));
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  }
}

}  // namespace idfr
