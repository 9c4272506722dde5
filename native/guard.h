// One guard around every native entry point: libtorch reports errors as C++ exceptions, which
// must reach JavaScript as Error objects carrying libtorch's own message, never as a crash.
#pragma once
#include <napi.h>
#include <c10/util/Exception.h>

#define TORCH_GUARD_BEGIN try {
#define TORCH_GUARD_END(env)                                                   \
  }                                                                            \
  catch (const Napi::Error&) {                                                 \
    throw;                                                                     \
  }                                                                            \
  catch (const c10::Error& e) {                                                \
    throw Napi::Error::New(env, e.what_without_backtrace());                  \
  }                                                                            \
  catch (const std::exception& e) {                                            \
    throw Napi::Error::New(env, e.what());                                     \
  }
