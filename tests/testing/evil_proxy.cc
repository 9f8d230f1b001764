// SPDX-License-Identifier: Apache-2.0

#include "testing/evil_proxy.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <utility>

#include <google/protobuf/descriptor.h>

namespace trygg::testing {
namespace {

grpc::Status Dropped() { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "dropped by the proxy"); }

// Only what a Trygg client sends on purpose goes upstream; gRPC's own headers
// (user-agent, te, grpc-*) are the proxy's channel's to set.
void CopyClientMetadata(const grpc::CallbackServerContext& from, grpc::ClientContext& to) {
  for (const auto& [key, value] : from.client_metadata()) {
    const std::string name(key.data(), key.size());
    if (name == "authorization" || name.rfind("trygg-", 0) == 0) {
      to.AddMetadata(name, std::string(value.data(), value.size()));
    }
  }
  to.set_deadline(from.deadline());
}

bool Reserved(const std::string& name) { return name.empty() || name[0] == ':' || name.rfind("grpc-", 0) == 0; }

void CopyTrailingMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext& to) {
  for (const auto& [key, value] : from.GetServerTrailingMetadata()) {
    const std::string name(key.data(), key.size());
    if (!Reserved(name)) to.AddTrailingMetadata(name, std::string(value.data(), value.size()));
  }
}

void CopyInitialMetadata(const grpc::ClientContext& from, grpc::CallbackServerContext& to) {
  for (const auto& [key, value] : from.GetServerInitialMetadata()) {
    const std::string name(key.data(), key.size());
    if (!Reserved(name) && name != "content-type") to.AddInitialMetadata(name, std::string(value.data(), value.size()));
  }
}

// "/trygg.v1.CaseService/GetCase" is unary when the generated descriptor says
// neither side streams. Unknown methods are piped as streams, which works for
// every shape on the wire.
bool IsUnary(const std::string& method) {
  if (method.size() < 2 || method[0] != '/') return false;
  std::string full = method.substr(1);
  const size_t slash = full.find('/');
  if (slash == std::string::npos) return false;
  full[slash] = '.';
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  return descriptor != nullptr && !descriptor->client_streaming() && !descriptor->server_streaming();
}

}  // namespace

class EvilProxy::Impl final : public grpc::CallbackGenericService {
 public:
  using Gate = EvilProxy::Gate;
  explicit Impl(const std::string& upstream) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    stub_ = std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(upstream, grpc::InsecureChannelCredentials(), args));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(-1);
    builder.SetMaxSendMessageSize(-1);
    builder.RegisterCallbackGenericService(this);
    server_ = builder.BuildAndStart();
    if (server_ != nullptr && port != 0) address_ = "127.0.0.1:" + std::to_string(port);
  }

  ~Impl() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
    }
  }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

  grpc::GenericStub& stub() { return *stub_; }

  Gate Admit(const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& answer) {
    RequestGate gate;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_[method];
      gate = gate_;
    }
    if (!gate) return Gate::kForward;
    std::lock_guard<std::mutex> hook_lock(hook_mu_);
    return gate(method, request, answer);
  }

  Action AfterUnary(const std::string& method, const grpc::ByteBuffer& request, grpc::ByteBuffer& response) {
    UnaryHook hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      recorded_.push_back(Exchange{method, request, response});
      auto it = hooks_.find(method);
      if (it == hooks_.end()) it = hooks_.find("");
      if (it != hooks_.end()) hook = it->second;
    }
    if (!hook) return Action::kForward;
    std::lock_guard<std::mutex> hook_lock(hook_mu_);
    return hook(method, request, response);
  }

  std::vector<grpc::ByteBuffer> AfterStreamMessage(const std::string& method, grpc::ByteBuffer message) {
    StreamHook hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = stream_hooks_.find(method);
      if (it != stream_hooks_.end()) hook = it->second;
    }
    std::vector<grpc::ByteBuffer> out;
    if (!hook) {
      out.push_back(std::move(message));
      return out;
    }
    std::lock_guard<std::mutex> hook_lock(hook_mu_);
    hook(method, std::move(message), out);
    return out;
  }

  void CountStream(const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_[method];
  }

  mutable std::mutex mu_;
  std::mutex hook_mu_;  // held while a hook runs: hooks run one at a time
  std::map<std::string, UnaryHook> hooks_;
  std::map<std::string, StreamHook> stream_hooks_;
  RequestGate gate_;
  std::vector<Exchange> recorded_;
  std::map<std::string, size_t> calls_;
  std::string address_;

 private:
  std::unique_ptr<grpc::GenericStub> stub_;
  std::unique_ptr<grpc::Server> server_;
};

namespace {

// A unary call: read the one request, make the call upstream, let the hooks
// see the answer, send it on. Deleted when both the server side (OnDone) and
// the upstream call's completion are finished with it.
class UnaryForward final : public grpc::ServerGenericBidiReactor {
 public:
  UnaryForward(EvilProxy::Impl* impl, grpc::GenericCallbackServerContext* context)
      : impl_(impl), context_(context), method_(context->method()) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
      return;
    }
    switch (impl_->Admit(method_, request_, response_)) {
      case EvilProxy::Gate::kForward:
        break;
      case EvilProxy::Gate::kDrop:
        Finish(Dropped());
        return;
      case EvilProxy::Gate::kAnswer:
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        return;
    }
    CopyClientMetadata(*context_, upstream_context_);
    refs_.fetch_add(1);
    impl_->stub().UnaryCall(&upstream_context_, method_, grpc::StubOptions(), &request_, &response_,
                            [this](grpc::Status status) {
                              Answer(status);
                              Unref();
                            });
  }

  void OnCancel() override { upstream_context_.TryCancel(); }
  void OnDone() override { Unref(); }

 private:
  void Answer(const grpc::Status& status) {
    if (!status.ok()) {
      Finish(status);
      return;
    }
    if (impl_->AfterUnary(method_, request_, response_) == EvilProxy::Action::kDrop) {
      Finish(Dropped());
      return;
    }
    CopyInitialMetadata(upstream_context_, *context_);
    CopyTrailingMetadata(upstream_context_, *context_);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  EvilProxy::Impl* impl_;
  grpc::GenericCallbackServerContext* context_;
  const std::string method_;
  grpc::ClientContext upstream_context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<int> refs_{1};
};

// A streaming call of any shape: the client's messages go upstream one at a
// time, tryggd's come back through the stream hook one at a time, and
// tryggd's status ends the client's call. Decisions are made under `mu_`;
// gRPC operations are started after it is released, since a reaction may run
// on the thread that starts an operation.
class StreamForward final : public grpc::ServerGenericBidiReactor {
 public:
  StreamForward(EvilProxy::Impl* impl, grpc::GenericCallbackServerContext* context)
      : impl_(impl), context_(context), method_(context->method()), upstream_(this) {
    impl_->CountStream(method_);
    CopyClientMetadata(*context_, upstream_context_);
    impl_->stub().PrepareBidiStreamingCall(&upstream_context_, method_, grpc::StubOptions(), &upstream_);
    upstream_.AddHold();  // until the client's side is done writing
    upstream_.StartRead(&from_server_);
    upstream_.StartCall();
    StartRead(&from_client_);
  }

  // Client -> proxy.
  void OnReadDone(bool ok) override {
    if (ok) {
      upstream_.StartWrite(&from_client_);
      return;
    }
    ReleaseUpstreamWrites(/*send_writes_done=*/true);
  }

  // Proxy -> client.
  void OnWriteDone(bool ok) override {
    bool write_next = false, finish = false, read_next = false, cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        to_client_.clear();
        client_gone_ = true;
        cancel = true;
      } else if (!to_client_.empty()) {
        to_client_.pop_front();
      }
      if (!to_client_.empty()) {
        writing_ = true;
        write_next = true;
      } else if (upstream_done_) {
        finish = TakeFinish();
      } else if (!client_gone_) {
        read_next = true;
      }
    }
    if (cancel) upstream_context_.TryCancel();
    if (write_next) {
      StartWrite(&to_client_.front());
      return;  // the write chain still holds the upstream call
    }
    if (finish) {
      CopyTrailingMetadata(upstream_context_, *context_);
      Finish(final_status_);
    }
    if (read_next) upstream_.StartRead(&from_server_);
    // The hold taken when the message arrived (UpstreamReadDone): released
    // only after the next read is started, so the upstream call cannot
    // complete (and free itself) between the two.
    upstream_.RemoveHold();
  }

  void OnCancel() override { upstream_context_.TryCancel(); }
  void OnDone() override { Unref(); }

 private:
  class Upstream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Upstream(StreamForward* call) : call_(call) {}
    void OnWriteDone(bool ok) override { call_->UpstreamWriteDone(ok); }
    void OnReadDone(bool ok) override { call_->UpstreamReadDone(ok); }
    void OnDone(const grpc::Status& status) override { call_->UpstreamDone(status); }

   private:
    StreamForward* call_;
  };

  void UpstreamWriteDone(bool ok) {
    if (ok) {
      StartRead(&from_client_);
    } else {
      ReleaseUpstreamWrites(/*send_writes_done=*/false);
    }
  }

  void UpstreamReadDone(bool ok) {
    if (!ok) return;  // the status follows in UpstreamDone
    // Until the next read is started (here or after the write chain to the
    // client), the upstream call has no operation pending and could finish;
    // a hold keeps it alive for that next StartRead.
    upstream_.AddHold();
    std::vector<grpc::ByteBuffer> out = impl_->AfterStreamMessage(method_, std::move(from_server_));
    from_server_.Clear();
    bool write = false, read_next = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!client_gone_) {
        for (grpc::ByteBuffer& message : out) to_client_.push_back(std::move(message));
      }
      if (client_gone_) {
        // Nothing more goes to the client; the call is being cancelled.
      } else if (to_client_.empty()) {
        read_next = true;  // held back by the hook: keep reading
      } else if (!writing_) {
        writing_ = true;
        write = true;
      }
    }
    if (write) {
      StartWrite(&to_client_.front());
      return;  // OnWriteDone releases the hold
    }
    if (read_next) upstream_.StartRead(&from_server_);
    upstream_.RemoveHold();
  }

  void UpstreamDone(const grpc::Status& status) {
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_done_ = true;
      final_status_ = status;
      if (!writing_) finish = TakeFinish();
    }
    if (finish) {
      CopyTrailingMetadata(upstream_context_, *context_);
      Finish(final_status_);
    }
    Unref();
  }

  // Requires mu_. True once: the caller finishes the client's call.
  bool TakeFinish() {
    if (finished_) return false;
    finished_ = true;
    return true;
  }

  void ReleaseUpstreamWrites(bool send_writes_done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_released_) return;
      hold_released_ = true;
    }
    if (send_writes_done) upstream_.StartWritesDone();
    upstream_.RemoveHold();
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  EvilProxy::Impl* impl_;
  grpc::GenericCallbackServerContext* context_;
  const std::string method_;
  grpc::ClientContext upstream_context_;
  Upstream upstream_;
  grpc::ByteBuffer from_client_;
  grpc::ByteBuffer from_server_;
  std::atomic<int> refs_{2};  // the client's side and the upstream call

  std::mutex mu_;
  std::deque<grpc::ByteBuffer> to_client_;  // front: being written
  bool writing_ = false;
  bool upstream_done_ = false;
  bool client_gone_ = false;
  bool finished_ = false;
  bool hold_released_ = false;
  grpc::Status final_status_;
};

}  // namespace

grpc::ServerGenericBidiReactor* EvilProxy::Impl::CreateReactor(grpc::GenericCallbackServerContext* context) {
  if (IsUnary(context->method())) return new UnaryForward(this, context);
  return new StreamForward(this, context);
}

EvilProxy::EvilProxy(const std::string& upstream) : impl_(std::make_unique<Impl>(upstream)) {}
EvilProxy::~EvilProxy() = default;

bool EvilProxy::ok() const { return !impl_->address_.empty(); }
const std::string& EvilProxy::address() const { return impl_->address_; }

void EvilProxy::SetHook(const std::string& method, UnaryHook hook) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->hooks_[method] = std::move(hook);
}

void EvilProxy::SetRequestGate(RequestGate gate) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->gate_ = std::move(gate);
}

void EvilProxy::SetStreamHook(const std::string& method, StreamHook hook) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->stream_hooks_[method] = std::move(hook);
}

void EvilProxy::ClearHooks() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->hooks_.clear();
  impl_->stream_hooks_.clear();
  impl_->gate_ = nullptr;
}

std::vector<EvilProxy::Exchange> EvilProxy::Recorded(const std::string& method) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<Exchange> out;
  for (const Exchange& e : impl_->recorded_) {
    if (e.method == method) out.push_back(e);
  }
  return out;
}

size_t EvilProxy::Calls(const std::string& method) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto it = impl_->calls_.find(method);
  return it == impl_->calls_.end() ? 0 : it->second;
}

std::string EvilProxy::Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out;
}

grpc::ByteBuffer EvilProxy::Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace trygg::testing
