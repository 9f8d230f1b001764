// SPDX-License-Identifier: Apache-2.0

// Checks docs/test-vectors/*.json two ways:
//  1. regenerating them (tools/trygg-vectors) gives the committed bytes exactly;
//  2. every committed vector decrypts and verifies using only raw libsodium calls
//     and docs/protocol.md, never libtrygg's openers, so a second implementation
//     is demonstrably possible.
#include <sodium.h>

#include <fstream>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "crypto_test_util.h"
#include "test_vectors.h"

namespace {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json LoadVectors(const std::string& name) {
  const json j = json::parse(ReadText(trygg::testing::SourceDir() / "docs/test-vectors" / name));
  REQUIRE(j.is_array());
  REQUIRE_FALSE(j.empty());
  return j;
}

Bytes Hex(const json& value) {
  const std::string hex = value.get<std::string>();
  REQUIRE(hex.size() % 2 == 0);
  if (hex.empty()) return {};  // sodium_hex2bin must not get a null buffer
  Bytes out(hex.size() / 2);
  size_t bin_len = 0;
  REQUIRE(sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &bin_len,
                         nullptr) == 0);
  REQUIRE(bin_len == out.size());
  REQUIRE(hex == [&] {  // lower case only
    std::string lower = hex;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }());
  return out;
}

Bytes H(const Bytes& in) {
  Bytes out(32);
  crypto_generichash(out.data(), 32, in.data(), in.size(), nullptr, 0);
  return out;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Str(std::string_view s) { return {s.begin(), s.end()}; }

Bytes Slice(const Bytes& in, size_t offset, size_t size) {
  REQUIRE(offset + size <= in.size());
  return {in.begin() + offset, in.begin() + offset + size};
}

// Padmé as protocol.md 6 states it: keep the top floor(log2 E) + 1 bits of n,
// E = floor(log2 n), rounding up.
uint64_t PadmeOf(uint64_t n) {
  if (n < 2) return n;
  int e = 0;
  while ((n >> (e + 1)) != 0) ++e;
  int s = 0;
  while ((uint64_t{1} << s) <= static_cast<uint64_t>(e)) ++s;
  const uint64_t step = uint64_t{1} << (e - s);
  return (n + step - 1) / step * step;
}

uint64_t BigEndian(const Bytes& in, size_t offset, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) v = (v << 8) | in.at(offset + i);
  return v;
}

// nonce(24) || XChaCha20-Poly1305-IETF ciphertext.
Bytes AeadOpen(const Bytes& key, const Bytes& sealed, const Bytes& ad) {
  REQUIRE(sealed.size() >= 40);
  Bytes out(sealed.size() - 40);
  unsigned long long len = 0;
  REQUIRE(crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr,
                                                     sealed.data() + 24, sealed.size() - 24,
                                                     ad.data(), ad.size(), sealed.data(),
                                                     key.data()) == 0);
  return out;
}

TEST_CASE("committed test vectors are exactly what trygg-vectors generates", "[vectors]") {
  for (const trygg::vectors::VectorFile& file : trygg::vectors::AllVectorFiles()) {
    INFO(file.name << ": run `trygg-vectors --out docs/test-vectors` if the format changed");
    REQUIRE(ReadText(trygg::testing::SourceDir() / "docs/test-vectors" / file.name) ==
            file.content);
  }
}

TEST_CASE("record vectors verify and decrypt with raw libsodium", "[vectors]") {
  REQUIRE(sodium_init() >= 0);
  const json vectors = LoadVectors("records.json");
  std::map<std::pair<Bytes, uint64_t>, Bytes> hash_by_record_version;
  for (const json& v : vectors) {
    INFO(v.value("description", ""));
    const Bytes header = Hex(v["header"]);
    const Bytes wrapped_dek = Hex(v["wrapped_dek"]);
    const Bytes body = Hex(v["body"]);
    const Bytes signature = Hex(v["signature"]);
    const Bytes signed_bytes = Hex(v["signed"]);
    const Bytes author_pk = Hex(v["author_sign_pk"]);
    const size_t block = v["pad_block_size"].get<size_t>();

    REQUIRE(header.size() == 144);
    REQUIRE(Slice(header, 0, 4) == Str("TRG1"));
    REQUIRE(header[4] == 1);  // format
    REQUIRE(header[5] == 1);  // suite
    const uint64_t version = BigEndian(header, 58, 8);
    const Bytes prev_hash = Slice(header, 66, 32);
    const uint64_t padded_len = BigEndian(header, 140, 4);

    Bytes expected_signed = Cat({Str("trygg/v1/record"), Bytes{0x00}, header, H(wrapped_dek),
                                 H(body)});
    const json& hashes = v["attachment_hashes"];
    expected_signed.push_back(static_cast<uint8_t>(hashes.size() >> 8));
    expected_signed.push_back(static_cast<uint8_t>(hashes.size()));
    for (const json& h : hashes) {
      const Bytes hash = Hex(h);
      REQUIRE(hash.size() == 32);
      expected_signed.insert(expected_signed.end(), hash.begin(), hash.end());
    }
    REQUIRE(signed_bytes == expected_signed);
    REQUIRE(crypto_sign_verify_detached(signature.data(), signed_bytes.data(),
                                        signed_bytes.size(), author_pk.data()) == 0);

    const Bytes ad = H(header);
    const Bytes dek = AeadOpen(Hex(v["scope_key"]), wrapped_dek, ad);
    REQUIRE(dek.size() == 32);
    REQUIRE(body.size() == 24 + padded_len + 16);
    const Bytes padded = AeadOpen(dek, body, ad);
    REQUIRE(padded.size() % block == 0);
    size_t unpadded_len = 0;
    REQUIRE(sodium_unpad(&unpadded_len, padded.data(), padded.size(), block) == 0);
    const Bytes plaintext = Hex(v["plaintext"]);
    REQUIRE(Slice(padded, 0, unpadded_len) == plaintext);
    REQUIRE(padded[unpadded_len] == 0x80);

    // prev_hash = H(previous header || previous signature); zero for version 1.
    const Bytes record_id = Slice(header, 42, 16);
    if (version == 1) {
      REQUIRE(prev_hash == Bytes(32, 0));
    } else {
      REQUIRE(hash_by_record_version.count({record_id, version - 1}) == 1);
      REQUIRE(prev_hash == hash_by_record_version[{record_id, version - 1}]);
    }
    hash_by_record_version[{record_id, version}] = H(Cat({header, signature}));
  }
}

TEST_CASE("grant vectors verify and open with raw libsodium", "[vectors]") {
  REQUIRE(sodium_init() >= 0);
  for (const json& v : LoadVectors("grants.json")) {
    INFO(v.value("description", ""));
    const Bytes pk = Hex(v["recipient_box_pk"]);
    const Bytes sk = Hex(v["recipient_box_sk"]);
    const Bytes sealed = Hex(v["sealed"]);
    const Bytes signed_bytes = Hex(v["signed"]);
    const Bytes signature = Hex(v["signature"]);

    Bytes derived_pk(32);
    REQUIRE(crypto_scalarmult_base(derived_pk.data(), sk.data()) == 0);
    REQUIRE(derived_pk == pk);

    const Bytes prefix = Cat({Str("trygg/v1/grant"), Bytes{0x00}});
    REQUIRE(signed_bytes.size() == prefix.size() + 66 + 32);
    REQUIRE(Slice(signed_bytes, 0, prefix.size()) == prefix);
    const Bytes header = Slice(signed_bytes, prefix.size(), 66);
    REQUIRE(Slice(signed_bytes, prefix.size() + 66, 32) == H(sealed));
    REQUIRE(crypto_sign_verify_detached(signature.data(), signed_bytes.data(),
                                        signed_bytes.size(), Hex(v["granter_sign_pk"]).data()) == 0);
    REQUIRE(Slice(header, 0, 4) == Str("TRGG"));
    REQUIRE(header[4] == 1);

    REQUIRE(sealed.size() == 68 + crypto_box_SEALBYTES);
    Bytes inner(68);
    REQUIRE(crypto_box_seal_open(inner.data(), sealed.data(), sealed.size(), pk.data(),
                                 sk.data()) == 0);
    REQUIRE(Slice(inner, 0, 32) == Hex(v["key"]));
    REQUIRE(Slice(inner, 32, 16) == Slice(header, 6, 16));   // scope_id
    REQUIRE(Slice(inner, 48, 4) == Slice(header, 22, 4));    // epoch
    const Bytes key_id = Slice(H(pk), 0, 16);
    REQUIRE(Slice(inner, 52, 16) == key_id);                 // recipient_key_id
    REQUIRE(Slice(header, 26, 16) == key_id);
  }
}

TEST_CASE("attachment vectors decrypt with raw libsodium", "[vectors]") {
  REQUIRE(sodium_init() >= 0);
  for (const json& v : LoadVectors("attachments.json")) {
    INFO(v.value("description", ""));
    const Bytes stream = Hex(v["stream"]);
    REQUIRE(H(stream) == Hex(v["hash"]));
    const Bytes data_key = Hex(v["data_key"]);
    Bytes wrap_key(32);
    crypto_kdf_derive_from_key(wrap_key.data(), 32, 1, "trgattwk", data_key.data());
    const Bytes attachment_key = AeadOpen(
        wrap_key, Slice(stream, 0, 72), Cat({Str("trygg/v2/attachment-key"), Hex(v["record_id"])}));
    crypto_secretstream_xchacha20poly1305_state state;
    REQUIRE(crypto_secretstream_xchacha20poly1305_init_pull(&state, stream.data() + 72,
                                                            attachment_key.data()) == 0);
    Bytes plaintext;
    size_t offset = 96;
    unsigned char tag = 0;
    while (offset < stream.size()) {
      const size_t n = std::min<size_t>(65536 + 17, stream.size() - offset);
      Bytes chunk(n - 17);
      unsigned long long len = 0;
      REQUIRE(tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL);
      REQUIRE(crypto_secretstream_xchacha20poly1305_pull(&state, chunk.data(), &len, &tag,
                                                         stream.data() + offset, n, nullptr,
                                                         0) == 0);
      plaintext.insert(plaintext.end(), chunk.begin(), chunk.end());
      offset += n;
    }
    REQUIRE(tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    // u64(content length) ‖ content ‖ zeros, padded to Padmé(8 + length).
    const Bytes content = Hex(v["plaintext"]);
    REQUIRE(plaintext.size() == v["padded_size"].get<uint64_t>());
    REQUIRE(plaintext.size() == PadmeOf(8 + content.size()));
    uint64_t length = 0;
    for (size_t i = 0; i < 8; ++i) length = (length << 8) | plaintext[i];
    REQUIRE(length == content.size());
    REQUIRE(Slice(plaintext, 8, content.size()) == content);
    for (size_t i = 8 + content.size(); i < plaintext.size(); ++i) REQUIRE(plaintext[i] == 0);
  }
}

TEST_CASE("key store vectors open with raw libsodium", "[vectors]") {
  REQUIRE(sodium_init() >= 0);
  for (const json& v : LoadVectors("keystore.json")) {
    const Bytes file = Hex(v["file"]);
    REQUIRE(Slice(file, 0, 4) == Str("TRGK"));
    REQUIRE(file[4] == 1);
    REQUIRE(file[5] == crypto_pwhash_ALG_ARGON2ID13);
    REQUIRE(Slice(file, file.size() - 32, 32) == H(Slice(file, 0, file.size() - 32)));
    const Bytes header = Slice(file, 0, 38);
    const std::string passphrase = v["passphrase"].get<std::string>();
    Bytes key(32);
    REQUIRE(crypto_pwhash(key.data(), 32, passphrase.data(), passphrase.size(),
                          file.data() + 22, BigEndian(file, 6, 8), BigEndian(file, 14, 8),
                          crypto_pwhash_ALG_ARGON2ID13) == 0);
    const Bytes payload = AeadOpen(key, Slice(file, 38, file.size() - 38 - 32), header);
    REQUIRE(Slice(payload, 0, 16) == Hex(v["org_id"]));
    REQUIRE(Slice(payload, 16, 16) == Hex(v["device_id"]));
    const Bytes sign_seed = Slice(payload, 32, 32);
    const Bytes box_seed = Slice(payload, 64, 32);
    REQUIRE(sign_seed == Hex(v["sign_seed"]));
    REQUIRE(box_seed == Hex(v["box_seed"]));
    Bytes pk(32), sk(64);
    crypto_sign_seed_keypair(pk.data(), sk.data(), sign_seed.data());
    REQUIRE(pk == Hex(v["sign_pk"]));
    crypto_box_seed_keypair(pk.data(), sk.data(), box_seed.data());
    REQUIRE(pk == Hex(v["box_pk"]));
    const uint64_t count = BigEndian(payload, 96, 4);
    REQUIRE(count == v["org_seeds"].size());
    REQUIRE(payload.size() == 100 + 36 * count);
    for (size_t i = 0; i < count; ++i) {
      REQUIRE(BigEndian(payload, 100 + 36 * i, 4) == v["org_seeds"][i]["generation"].get<uint64_t>());
      REQUIRE(Slice(payload, 104 + 36 * i, 32) == Hex(v["org_seeds"][i]["seed"]));
    }
  }
}

TEST_CASE("sealed signing key vectors open with raw libsodium", "[vectors]") {
  REQUIRE(sodium_init() >= 0);
  for (const json& v : LoadVectors("sealed_signing_key.json")) {
    // docs/protocol.md, 7.1: header 70 (with the public key), nonce, sealed seed, checksum.
    const Bytes file = Hex(v["file"]);
    REQUIRE(file.size() == 174);
    REQUIRE(Slice(file, 0, 4) == Str("TRGS"));
    REQUIRE(file[4] == 1);
    REQUIRE(file[5] == crypto_pwhash_ALG_ARGON2ID13);
    REQUIRE(Slice(file, 142, 32) == H(Slice(file, 0, 142)));
    REQUIRE(Slice(file, 38, 32) == Hex(v["sign_pk"]));
    const std::string passphrase = v["passphrase"].get<std::string>();
    Bytes key(32);
    REQUIRE(crypto_pwhash(key.data(), 32, passphrase.data(), passphrase.size(), file.data() + 22,
                          BigEndian(file, 6, 8), BigEndian(file, 14, 8), crypto_pwhash_ALG_ARGON2ID13) == 0);
    const Bytes seed = AeadOpen(key, Slice(file, 70, 72), Slice(file, 0, 70));
    REQUIRE(seed == Hex(v["seed"]));
    Bytes pk(32), sk(64);
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
    REQUIRE(pk == Hex(v["sign_pk"]));
  }
}

TEST_CASE("workflow vectors verify, parse and open with raw libsodium", "[vectors][workflow]") {
  REQUIRE(sodium_init() >= 0);
  // docs/protocol.md, section 12: magic, exact length, context per object.
  const std::map<std::string, std::tuple<std::string, size_t, std::string>> layouts = {
      {"consent", {"TCN1", 120, "trygg/v1/consent"}},
      {"withdrawal", {"TCW1", 61, "trygg/v2/consent-withdrawal"}},
      {"referral", {"TRF1", 192, "trygg/v1/referral"}},
      {"transition", {"TRT1", 48, "trygg/v1/transition"}},
      {"erasure", {"TCE1", 45, "trygg/v1/erasure"}},
  };
  std::map<std::string, int> seen;
  std::vector<Bytes> blob_hashes;
  for (const json& v : LoadVectors("workflow.json")) {
    INFO(v["description"].get<std::string>());
    const std::string object = v["object"].get<std::string>();
    ++seen[object];
    if (object == "blob") {
      const Bytes blob = Hex(v["blob"]);
      const uint8_t kind = static_cast<uint8_t>(v["kind"].get<int>());
      const Bytes prefix = Cat({Str("TEB1"), Bytes{0x01, kind}});
      REQUIRE(Slice(blob, 0, 6) == prefix);
      REQUIRE((blob.size() - 46) % 256 == 0);
      Bytes padded = AeadOpen(Hex(v["key"]), Slice(blob, 6, blob.size() - 6),
                              Cat({prefix, Hex(v["object_id"])}));
      size_t len = 0;
      REQUIRE(sodium_unpad(&len, padded.data(), padded.size(), 256) == 0);
      padded.resize(len);
      REQUIRE(padded == Hex(v["plaintext"]));
      REQUIRE(H(blob) == Hex(v["hash"]));
      blob_hashes.push_back(H(blob));
      continue;
    }
    REQUIRE(layouts.count(object) == 1);
    const auto& [magic, size, context] = layouts.at(object);
    const Bytes bytes = Hex(v["bytes"]);
    REQUIRE(bytes.size() == size);
    // Format 2 for the kinds that got a context of their own (withdrawals).
    const uint8_t format = object == "withdrawal" ? 0x02 : 0x01;
    REQUIRE(Slice(bytes, 0, 5) == Cat({Str(magic), Bytes{format}}));
    REQUIRE(v["context"].get<std::string>() == context);
    const Bytes signed_bytes = Cat({Str(context), Bytes{0x00}, bytes});
    REQUIRE(signed_bytes == Hex(v["signed"]));
    const Bytes signature = Hex(v["signature"]);
    const Bytes pk = Hex(v["signer_sign_pk"]);
    REQUIRE(crypto_sign_verify_detached(signature.data(), signed_bytes.data(), signed_bytes.size(),
                                        pk.data()) == 0);
    if (object == "consent") {
      const uint64_t services = BigEndian(bytes, 53, 2);
      REQUIRE(services != 0);
      REQUIRE((services & ~uint64_t{0x03fe}) == 0);
      REQUIRE(BigEndian(bytes, 64, 8) > BigEndian(bytes, 56, 8));
      if (seen[object] == 1) REQUIRE(Slice(bytes, 72, 32) == blob_hashes.at(0));
    }
    if (object == "referral") {
      const Bytes zero_id(16, 0), zero_hash(32, 0);
      const uint8_t basis = bytes[87];
      REQUIRE((basis == 1 || basis == 2));
      REQUIRE((Slice(bytes, 88, 16) == zero_id) == (basis == 2));
      REQUIRE((Slice(bytes, 144, 32) == zero_hash) == (basis == 1));
      if (basis == 2) REQUIRE(Slice(bytes, 144, 32) == blob_hashes.at(1));
    }
  }
  REQUIRE(seen["blob"] == 2);
  REQUIRE(seen.size() == layouts.size() + 1);
}

TEST_CASE("fingerprint vectors recompute with raw SHA-512 as protocol.md section 8 says", "[vectors]") {
  for (const json& v : LoadVectors("fingerprints.json")) {
    const Bytes key = Hex(v["public_key"]);
    REQUIRE(key.size() == 32);
    const std::string kind = v["kind"].get<std::string>();
    REQUIRE((kind == "sign" || kind == "box"));
    // h_0 = SHA-512(u16(0) || u8(t) || "trygg/v1/fingerprint" || K); h_{i+1} = SHA-512(h_i || K).
    Bytes h(crypto_hash_sha512_BYTES);
    const Bytes first = Cat({Bytes{0x00, 0x00, static_cast<uint8_t>(kind == "sign" ? 1 : 2)},
                             Str("trygg/v1/fingerprint"), key});
    crypto_hash_sha512(h.data(), first.data(), first.size());
    for (int i = 0; i < 5200; ++i) {
      const Bytes next = Cat({h, key});
      crypto_hash_sha512(h.data(), next.data(), next.size());
    }
    std::string number;
    for (size_t group = 0; group < 12; ++group) {
      char digits[7];
      std::snprintf(digits, sizeof(digits), "%05llu",
                    static_cast<unsigned long long>(BigEndian(h, 5 * group, 5) % 100000));
      number += (group == 0 ? "" : " ") + std::string(digits);
    }
    INFO(v["public_key"]);
    REQUIRE(number == v["safety_number"].get<std::string>());
    REQUIRE(number.substr(0, 23) == v["short"].get<std::string>());
  }
}

}  // namespace
