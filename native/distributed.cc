// torch's c10d collectives for JavaScript: a TCPStore rendezvous, process groups (Gloo on CPU
// tensors; NCCL where the linked libtorch was built with it) and the collectives a data-parallel
// trainer needs, each returning a Work handle. Nothing here knows about models or training: the
// TypeScript layer in src/distributed/ decides what to reduce and when.
//
// Blocking: creating a store or a group waits for the other ranks, so those run on libuv's thread
// pool and resolve a Promise. A collective is started without blocking (Gloo and NCCL run it on
// their own threads) and its Work is waited for either synchronously (inside a training step, which
// is synchronous by design: a tensor scope cannot span an await) or through a Promise.
#include <napi.h>

#include <c10/util/Exception.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/csrc/autograd/custom_function.h>

#include "guard.h"
#include "tensor_box.h"

// binding.gyp defines USE_C10D_GLOO / USE_C10D_NCCL only when the linked libtorch exports the
// backend and its headers are installed (scripts/libtorch.cjs defines).
#if defined(USE_C10D_GLOO)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace idfr {
namespace {

// Runs `work` on the thread pool and settles a Promise: with `done(env)` on success, or with an
// Error carrying the C++ exception's message (libtorch's without its backtrace).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (std::optional<std::string> message = CaughtMessage(work_)) SetError(*message);
  }
  void OnOK() override { ResolveGuarded(deferred_, Env(), done_); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
};

// The backends this addon was compiled with, as the TypeScript layer asks before it picks one.
Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
#if defined(USE_C10D_GLOO)
  out.Set(n++, Napi::String::New(env, "gloo"));
#endif
#if defined(USE_C10D_NCCL)
  out.Set(n++, Napi::String::New(env, "nccl"));
#endif
  (void)n;
  return out;
}

#if defined(USE_C10D_GLOO)

constexpr napi_type_tag kStoreTag = {0x6964667273746f72ULL, 0x6568616e646c6531ULL};
constexpr napi_type_tag kGroupTag = {0x6964667267726f75ULL, 0x7068616e646c6531ULL};
constexpr napi_type_tag kWorkTag = {0x696466727766726bULL, 0x6b68616e646c6531ULL};

// One interface over the backends' classes, which derive from ProcessGroup in libtorch 1.x and from
// Backend in 2.x: the template binds each method at compile time against whatever the headers say.
struct Group {
  virtual ~Group() = default;
  virtual c10::intrusive_ptr<c10d::Work> AllReduce(std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) = 0;
  virtual c10::intrusive_ptr<c10d::Work> Broadcast(std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) = 0;
  virtual c10::intrusive_ptr<c10d::Work> AllGather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) = 0;
  virtual c10::intrusive_ptr<c10d::Work> Barrier() = 0;
};

template <class PG>
struct GroupOf : Group {
  explicit GroupOf(c10::intrusive_ptr<PG> p) : pg(std::move(p)) {}
  c10::intrusive_ptr<PG> pg;
  c10::intrusive_ptr<c10d::Work> AllReduce(std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) override { return pg->allreduce(t, o); }
  c10::intrusive_ptr<c10d::Work> Broadcast(std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) override { return pg->broadcast(t, o); }
  c10::intrusive_ptr<c10d::Work> AllGather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) override {
    return pg->allgather(out, in);
  }
  c10::intrusive_ptr<c10d::Work> Barrier() override { return pg->barrier(); }
};

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};
struct GroupBox {
  std::shared_ptr<Group> group;
  int64_t id = 0;
};

// Groups by id, for the backward pass of a differentiable collective, which runs after the call
// that recorded it returned: the graph keeps the id, and a destroyed group is an error then.
std::mutex groups_mutex;
std::unordered_map<int64_t, std::weak_ptr<Group>> groups_by_id;
int64_t next_group_id = 1;

int64_t RegisterGroup(const std::shared_ptr<Group>& group) {
  std::lock_guard<std::mutex> lock(groups_mutex);
  for (auto it = groups_by_id.begin(); it != groups_by_id.end();) it = it->second.expired() ? groups_by_id.erase(it) : std::next(it);
  const int64_t id = next_group_id++;
  groups_by_id[id] = group;
  return id;
}

std::shared_ptr<Group> GroupById(int64_t id) {
  std::lock_guard<std::mutex> lock(groups_mutex);
  auto it = groups_by_id.find(id);
  std::shared_ptr<Group> group = it == groups_by_id.end() ? nullptr : it->second.lock();
  TORCH_CHECK(group, "the process group of a differentiable all-reduce was destroyed before the backward pass");
  return group;
}

void AllReduceSumNow(Group& group, at::Tensor& t, int64_t timeout_ms) {
  std::vector<at::Tensor> tensors{t};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  opts.timeout = std::chrono::milliseconds(timeout_ms);
  group.AllReduce(tensors, opts)->wait(opts.timeout);
}

// Sum over ranks whose gradient is the sum over ranks of the incoming gradients (as
// torch.distributed.nn's all_reduce): the collective a synchronised batch norm needs, since every
// rank's loss depends on every rank's rows through the shared statistics. Every rank must run the
// forward and the backward in the same order, as they do when they run the same step.
struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t group_id, int64_t timeout_ms) {
    ctx->saved_data["group"] = group_id;
    ctx->saved_data["timeout"] = timeout_ms;
    ctx->saved_data["like"] = at::empty({0}, x.options());
    ctx->saved_data["sizes"] = x.sizes().vec();
    at::Tensor out = x.contiguous().clone();
    AllReduceSumNow(*GroupById(group_id), out, timeout_ms);
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const at::Tensor like = ctx->saved_data["like"].toTensor();
    // An undefined gradient still joins the collective, or the other ranks would wait for it.
    at::Tensor g = grads[0].defined() ? grads[0].contiguous().clone() : at::zeros(ctx->saved_data["sizes"].toIntVector(), like.options());
    AllReduceSumNow(*GroupById(ctx->saved_data["group"].toInt()), g, ctx->saved_data["timeout"].toInt());
    return {g, at::Tensor(), at::Tensor()};
  }
};
// A started collective and the tensors it reads and writes, kept alive until it is waited for.
struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> outputs;
};

template <class Box>
Napi::Value Wrap(Napi::Env env, Box* box, const napi_type_tag* tag) {
  auto external = Napi::External<Box>::New(env, box, [](Napi::Env, Box* b) { delete b; });
  external.TypeTag(tag);
  return external;
}

template <class Box>
Box* Unwrap(const Napi::Value& value, const napi_type_tag* tag, const char* what) {
  if (!value.IsExternal() || !value.As<Napi::External<Box>>().CheckTypeTag(tag)) {
    throw Napi::TypeError::New(value.Env(), std::string("expected a ") + what + " handle");
  }
  return value.As<Napi::External<Box>>().Data();
}

GroupBox& LiveGroupBoxArg(const Napi::CallbackInfo& info) {
  GroupBox* box = Unwrap<GroupBox>(info[0], &kGroupTag, "process group");
  if (!box->group) throw Napi::Error::New(info.Env(), "the process group has been destroyed");
  return *box;
}

Group& GroupArg(const Napi::CallbackInfo& info) { return *LiveGroupBoxArg(info).group; }

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

std::string StringArgAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<at::Tensor> TensorList(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of tensors");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(UnwrapTensor(env, arr.Get(i), what));
  return out;
}

Napi::Value WrapWork(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, std::vector<at::Tensor> outputs) {
  return Wrap(env, new WorkBox{std::move(work), std::move(outputs)}, &kWorkTag);
}

// createStore(host, port, isServer, worldSize, timeoutMs) -> Promise<store>. The server (rank 0)
// waits until worldSize − 1 clients have connected; a client retries until it reaches the server.
// Either gives up after timeoutMs with libtorch's message.
Napi::Value CreateStore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string host = StringArgAt(info, 0, "createStore host");
  const auto port = static_cast<uint16_t>(NumberArg(info, 1, "createStore port"));
  const bool server = info[2].ToBoolean().Value();
  const auto world = static_cast<size_t>(NumberArg(info, 3, "createStore worldSize"));
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 4, "createStore timeoutMs")));
  auto box = std::make_shared<StoreBox>();
  auto* worker = new PromiseWorker(
      env,
      [=]() {
        c10d::TCPStoreOptions opts;
        opts.port = port;
        opts.isServer = server;
        opts.numWorkers = world;
        opts.waitWorkers = true;
        opts.timeout = timeout;
        box->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
      },
      [box](Napi::Env e) { return Wrap(e, new StoreBox{box->store}, &kStoreTag); });
  worker->Queue();
  return worker->Promise();
}

// createGroup(backend, store, prefix, rank, size, timeoutMs, hostname) -> Promise<group>: the
// rendezvous under `prefix` in the store, then a connection to every other rank.
Napi::Value CreateGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string backend = StringArgAt(info, 0, "createGroup backend");
  StoreBox* storeBox = Unwrap<StoreBox>(info[1], &kStoreTag, "store");
  const std::string prefix = StringArgAt(info, 2, "createGroup prefix");
  const int rank = static_cast<int>(NumberArg(info, 3, "createGroup rank"));
  const int size = static_cast<int>(NumberArg(info, 4, "createGroup size"));
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 5, "createGroup timeoutMs")));
  const std::string hostname = info.Length() > 6 && info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "";
  if (backend != "gloo" && backend != "nccl") throw Napi::TypeError::New(env, "createGroup backend must be 'gloo' or 'nccl'");
#if !defined(USE_C10D_NCCL)
  if (backend == "nccl") {
    throw Napi::Error::New(env, "the NCCL backend is not available: the linked libtorch was built without NCCL "
                                "(a CPU build); use backend 'gloo', or rebuild the addon against a CUDA libtorch (LIBTORCH=...)");
  }
#endif
  auto store = c10::make_intrusive<c10d::PrefixStore>(prefix, storeBox->store);
  auto out = std::make_shared<GroupBox>();
  auto* worker = new PromiseWorker(
      env,
      [=]() {
        if (backend == "gloo") {
          auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
          opts->devices.push_back(hostname.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                   : c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
          // Two threads are enough for the few collectives in flight at once.
          opts->threads = 2;
          out->group = std::make_shared<GroupOf<c10d::ProcessGroupGloo>>(
              c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts));
        }
#if defined(USE_C10D_NCCL)
        if (backend == "nccl") {
          auto opts = c10d::ProcessGroupNCCL::Options::create();
          opts->timeout = timeout;
          out->group = std::make_shared<GroupOf<c10d::ProcessGroupNCCL>>(
              c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts));
        }
#endif
      },
      [out](Napi::Env e) {
        const int64_t id = RegisterGroup(out->group);
        return Wrap(e, new GroupBox{std::move(out->group), id}, &kGroupTag);
      });
  worker->Queue();
  return worker->Promise();
}

// destroyGroup(group): closes its connections now (the handle then refuses further use).
Napi::Value DestroyGroup(const Napi::CallbackInfo& info) {
  Unwrap<GroupBox>(info[0], &kGroupTag, "process group")->group.reset();
  return info.Env().Undefined();
}

c10d::ReduceOp ReduceOpArg(Napi::Env env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::TypeError::New(env, "reduce op must be 'sum', 'max', 'min' or 'product', got '" + name + "'");
}

// allReduce(group, tensors, op, timeoutMs) -> work: reduces each tensor in place across ranks.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& group = GroupArg(info);
  auto tensors = TensorList(env, info[1], "allReduce tensors");
  c10d::AllreduceOptions opts;
  opts.reduceOp = ReduceOpArg(env, StringArgAt(info, 2, "allReduce op"));
  opts.timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 3, "allReduce timeoutMs")));
  auto work = group.AllReduce(tensors, opts);
  return WrapWork(env, work, tensors);
}

// broadcast(group, tensors, root, timeoutMs) -> work: every rank's tensors become root's, in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& group = GroupArg(info);
  auto tensors = TensorList(env, info[1], "broadcast tensors");
  c10d::BroadcastOptions opts;
  opts.rootRank = static_cast<int64_t>(NumberArg(info, 2, "broadcast root"));
  opts.timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 3, "broadcast timeoutMs")));
  auto work = group.Broadcast(tensors, opts);
  return WrapWork(env, work, tensors);
}

// allGather(group, outputs, input) -> work: outputs[r] receives rank r's input (same shapes).
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& group = GroupArg(info);
  std::vector<std::vector<at::Tensor>> outputs{TensorList(env, info[1], "allGather outputs")};
  std::vector<at::Tensor> input{UnwrapTensor(env, info[2], "allGather input")};
  auto work = group.AllGather(outputs, input);
  return WrapWork(env, work, outputs[0]);
}

// allReduceSumDifferentiable(group, tensor, timeoutMs) -> tensor: the sum over ranks as a new
// tensor, recorded for autograd (see AllReduceSumFunction); waits for the collective.
Napi::Value AllReduceSumDifferentiable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t id = LiveGroupBoxArg(info).id;
  const at::Tensor& x = UnwrapTensor(env, info[1], "allReduceSumDifferentiable tensor");
  const auto timeout = static_cast<int64_t>(NumberArg(info, 2, "allReduceSumDifferentiable timeoutMs"));
  return WrapTensor(env, AllReduceSumFunction::apply(x, id, timeout));
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return WrapWork(info.Env(), GroupArg(info).Barrier(), {});
}

// waitWork(work, timeoutMs): blocks until the collective is done; throws its error, or a timeout.
Napi::Value WaitWork(const Napi::CallbackInfo& info) {
  WorkBox* box = Unwrap<WorkBox>(info[0], &kWorkTag, "work");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 1, "waitWork timeoutMs")));
  if (!box->work) return info.Env().Undefined();
  auto work = std::move(box->work);
  box->outputs.clear();
  work->wait(timeout);
  return info.Env().Undefined();
}

// waitWorkAsync(work, timeoutMs) -> Promise<void>: the same, off the event loop.
Napi::Value WaitWorkAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WorkBox* box = Unwrap<WorkBox>(info[0], &kWorkTag, "work");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(NumberArg(info, 1, "waitWorkAsync timeoutMs")));
  auto work = std::move(box->work);
  auto outputs = std::make_shared<std::vector<at::Tensor>>(std::move(box->outputs));
  auto* worker = new PromiseWorker(
      env, [work, timeout]() { if (work) work->wait(timeout); },
      [outputs](Napi::Env e) {
        outputs->clear();
        return e.Undefined();
      });
  worker->Queue();
  return worker->Promise();
}

#endif  // USE_C10D_GLOO

}  // namespace

// Adds `exports.distributed`; every entry goes through the same exception guard as the rest.
void InitDistributed(Napi::Env env, Napi::Object exports) {
  static constexpr ExportEntry kExports[] = {
      Export<Backends>("backends"),
#if defined(USE_C10D_GLOO)
      Export<CreateStore>("createStore"),
      Export<CreateGroup>("createGroup"),
      Export<DestroyGroup>("destroyGroup"),
      Export<AllReduce>("allReduce"),
      Export<Broadcast>("broadcast"),
      Export<AllGather>("allGather"),
      Export<AllReduceSumDifferentiable>("allReduceSumDifferentiable"),
      Export<Barrier>("barrier"),
      Export<WaitWork>("waitWork"),
      Export<WaitWorkAsync>("waitWorkAsync"),
#endif
  };
  Napi::Object dist = Napi::Object::New(env);
  for (const ExportEntry& e : kExports) dist.Set(e.name, Napi::Function::New(env, e.callback, e.name));
  exports.Set("distributed", dist);
}

}  // namespace idfr
