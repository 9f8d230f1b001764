// SPDX-License-Identifier: Apache-2.0

#include "testing/trust_world.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "trygg/membership.h"

namespace trygg::testing {

std::vector<std::string> ConfigArgs(const TempDir& dir, const std::string& toml) {
  const std::string path = dir.file("tryggd.toml");
  std::ofstream(path) << toml;
  return {"--config", path};
}

namespace {

Id128 NumberedId(uint8_t kind, int n) {
  std::array<uint8_t, 16> bytes{};
  bytes[0] = kind;
  bytes[15] = static_cast<uint8_t>(n);
  bytes[14] = static_cast<uint8_t>(n >> 8);
  return Id128(bytes);
}

}  // namespace

TrustWorld::TrustWorld(std::vector<std::string> extra_args) : root_(GenerateSigningKeyPair(rng_)) {
  args_ = {"--listen", "127.0.0.1:0", "--data-dir", dir_.path(),
           "--platform-root-key", HexEncode(root_.public_key.span())};
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  clock_file_ = dir_.file("tryggd-clock-offset-ms");
  server_ = std::make_unique<TryggdProcess>(args_, std::chrono::seconds(20),
                                            std::vector<std::string>{"TRYGG_TEST_CLOCK_FILE=" + clock_file_});
  REQUIRE(server_->ok());
}

void TrustWorld::AdvanceServerClock(std::chrono::milliseconds by) {
  clock_offset_ += by;
  // Written whole, then renamed over: tryggd never reads half a number.
  const std::string temporary = clock_file_ + ".new";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << clock_offset_.count() << "\n";
    REQUIRE(out.good());
  }
  REQUIRE(std::rename(temporary.c_str(), clock_file_.c_str()) == 0);
}

void TrustWorld::CertifyServer() {
  auto client = NewClient();
  auto info = client->GetServerInfo();
  REQUIRE(info.ok());
  RootCertificate cert;
  cert.kind = CertificateKind::kServer;
  cert.subject_id = NumberedId(0x5e, next_id_++);
  const Hash256 key_hash = Blake2b256(info->server_public_key.span());
  cert.device_id = *Id128::FromSpan(key_hash.span().first<16>());
  cert.issued_at_ms = clock_.NowUnixMillis();
  cert.sign_key = info->server_public_key;
  cert.name = "tryggd under test";
  auto signed_cert = SignRootCertificate(cert, root_);
  REQUIRE(signed_cert.ok());
  auto uploaded = client->UploadCertificate(CertificateKind::kServer, *signed_cert);
  INFO(uploaded.status().ToString());
  REQUIRE(uploaded.ok());
}

void TrustWorld::Restart(const std::function<void(const std::string& data_dir)>& while_stopped, int signal) {
  const ExitResult stopped = server_->Stop(signal);
  if (signal == SIGTERM) {
    REQUIRE(stopped.exited);
    REQUIRE(stopped.code == 0);
  } else {
    REQUIRE_FALSE(stopped.exited);
    REQUIRE(stopped.code == signal);
  }
  server_.reset();
  if (while_stopped) while_stopped(dir_.path());
  server_ = std::make_unique<TryggdProcess>(args_, std::chrono::seconds(20),
                                            std::vector<std::string>{"TRYGG_TEST_CLOCK_FILE=" + clock_file_});
  REQUIRE(server_->ok());
}

std::unique_ptr<Client> TrustWorld::NewClient(const std::string& state_name) {
  return NewClientAt(address(), state_name);
}

std::unique_ptr<Client> TrustWorld::NewClientAt(const std::string& address, const std::string& state_name) {
  ClientOptions options;
  options.address = address;
  options.platform_root = root_.public_key;
  if (!state_name.empty()) options.state_file = dir_.file(state_name + ".state.json");
  options.clock = &clock_;
  auto client = Client::Connect(options);
  REQUIRE(client.ok());
  return std::move(*client);
}

void TrustWorld::Reconnect(TestDevice& device) {
  device.client = NewClient(device.state_name);
  Login(device);
}

std::unique_ptr<Client> TrustWorld::ClientThrough(const TestDevice& device, const std::string& address,
                                                  const std::string& state_name) {
  auto client = NewClientAt(address, state_name.empty() ? device.state_name + "-via" + std::to_string(next_id_++)
                                                         : state_name);
  auto session = client->Login(device.keys.device_id, device.keys.device.signing());
  INFO(session.status().ToString());
  REQUIRE(session.ok());
  return client;
}

void TrustWorld::Login(TestDevice& device) {
  auto session = device.client->Login(device.keys.device_id, device.keys.device.signing());
  INFO(session.status().ToString());
  REQUIRE(session.ok());
}

TestDevice& TrustWorld::AdmitOrganisation(const std::string& name) {
  const int n = next_id_++;
  auto device = std::make_unique<TestDevice>(
      TestDevice{KeyStoreContents{NumberedId(0x0a, n), NumberedId(0x0d, n), DeviceKeys::Generate(rng_), {}},
                 NewClient("device" + std::to_string(n)), "device" + std::to_string(n)});
  RootCertificate cert;
  cert.kind = CertificateKind::kOrganisation;
  cert.subject_id = device->keys.org_id;
  cert.device_id = device->keys.device_id;
  cert.issued_at_ms = clock_.NowUnixMillis();
  cert.sign_key = device->keys.device.signing().public_key;
  cert.box_key = device->keys.device.box().public_key;
  cert.name = name;
  auto signed_cert = SignRootCertificate(cert, root_);
  REQUIRE(signed_cert.ok());
  auto uploaded = device->client->UploadCertificate(CertificateKind::kOrganisation, *signed_cert);
  INFO(uploaded.status().ToString());
  REQUIRE(uploaded.ok());
  Login(*device);
  auto generation = RotateOrgKey(*device->client, device->keys, clock_, rng_);
  INFO(generation.status().ToString());
  REQUIRE(generation.ok());
  devices_.push_back(std::move(device));
  return *devices_.back();
}

TestDevice& TrustWorld::AddDevice(TestDevice& admin, Role role) {
  const int n = next_id_++;
  auto device = std::make_unique<TestDevice>(TestDevice{
      KeyStoreContents{admin.keys.org_id, NumberedId(0x0d, n), DeviceKeys::Generate(rng_), {}},
      NewClient("device" + std::to_string(n)), "device" + std::to_string(n)});
  EnrolmentRequest request;
  request.org_id = device->keys.org_id;
  request.device_id = device->keys.device_id;
  request.sign_key = device->keys.device.signing().public_key;
  request.box_key = device->keys.device.box().public_key;
  request.requested_role = role;
  request.created_at_ms = clock_.NowUnixMillis();
  request.label = "device " + std::to_string(n);
  auto signed_request = SignEnrolmentRequest(request, device->keys.device.signing());
  REQUIRE(signed_request.ok());
  auto enrolment_id = device->client->SubmitEnrolment(*signed_request);
  REQUIRE(enrolment_id.ok());
  auto pending = admin.client->ListEnrolments();
  REQUIRE(pending.ok());
  const PendingEnrolment* mine = nullptr;
  for (const PendingEnrolment& e : *pending) {
    if (e.enrolment_id == *enrolment_id) mine = &e;
  }
  REQUIRE(mine != nullptr);
  auto seq = ApproveEnrolment(*admin.client, admin.keys, *mine, clock_, rng_);
  INFO(seq.status().ToString());
  REQUIRE(seq.ok());
  Login(*device);
  auto received = ReceiveOrgKeys(*device->client, device->keys);
  INFO(received.status().ToString());
  REQUIRE(received.ok());
  devices_.push_back(std::move(device));
  return *devices_.back();
}

TestDevice& TrustWorld::AddCoordinator(const std::string& name) {
  const int n = next_id_++;
  auto device = std::make_unique<TestDevice>(
      TestDevice{KeyStoreContents{NumberedId(0x0c, n), NumberedId(0x0d, n), DeviceKeys::Generate(rng_), {}},
                 NewClient("device" + std::to_string(n)), "device" + std::to_string(n)});
  RootCertificate cert;
  cert.kind = CertificateKind::kCoordinator;
  cert.subject_id = device->keys.org_id;
  cert.device_id = device->keys.device_id;
  cert.issued_at_ms = clock_.NowUnixMillis();
  cert.sign_key = device->keys.device.signing().public_key;
  cert.box_key = device->keys.device.box().public_key;
  cert.name = name;
  auto signed_cert = SignRootCertificate(cert, root_);
  REQUIRE(signed_cert.ok());
  auto uploaded = device->client->UploadCertificate(CertificateKind::kCoordinator, *signed_cert);
  INFO(uploaded.status().ToString());
  REQUIRE(uploaded.ok());
  Login(*device);
  devices_.push_back(std::move(device));
  return *devices_.back();
}

}  // namespace trygg::testing
