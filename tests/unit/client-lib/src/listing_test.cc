// SPDX-License-Identifier: Apache-2.0

// Directory listings: the byte layout, code validation (BCP 47, ISO 3166-2),
// field validation naming the field, and verification against an
// organisation log.
#include "trygg/listing.h"

#include <catch2/catch.hpp>

#include "trygg/crypto_error.h"
#include "trygg/org_log.h"
#include "trygg/random.h"

namespace trygg {
namespace {

Id128 IdOf(uint8_t b) {
  std::array<uint8_t, 16> a;
  a.fill(b);
  return Id128(a);
}

Listing Sample() {
  Listing l;
  l.listing_id = IdOf(1);
  l.org_id = IdOf(2);
  l.revision = 1;
  l.created_at_ms = 1'700'000'000'000;
  l.signer_device = IdOf(3);
  l.category = static_cast<uint8_t>(ServiceCategory::kShelter);
  l.response_time_hours = 48;
  l.capacity_free = 3;
  l.regions = {"SE-AB", "SE-O"};
  l.languages = {"ro", "sv-SE", "sr-Latn-RS"};
  l.target_groups = 0b00101;  // women, children
  l.exploitation_forms = 0b11;
  l.contact_hours = "Mon-Fri 08-17";
  l.description = "Skyddat boende för kvinnor med barn.";
  return l;
}

std::string ErrorOf(const Listing& l) { return std::string(ValidateListing(l).message()); }

TEST_CASE("a listing round-trips through its byte layout", "[directory]") {
  const Listing l = Sample();
  auto bytes = SerializeListing(l);
  REQUIRE(bytes.ok());
  CHECK(std::string(bytes->begin(), bytes->begin() + 4) == "TLS1");
  CHECK((*bytes)[4] == 1);
  auto parsed = ParseListing(*bytes);
  REQUIRE(parsed.ok());
  CHECK(*parsed == l);

  SECTION("every truncation and any trailing byte is malformed") {
    for (size_t n = 0; n < bytes->size(); ++n) {
      auto cut = ParseListing(std::span<const uint8_t>(bytes->data(), n));
      REQUIRE_FALSE(cut.ok());
    }
    auto longer = *bytes;
    longer.push_back(0);
    CHECK(GetCryptoError(ParseListing(longer).status()) == CryptoError::kMalformed);
  }
  SECTION("another object's magic is refused") {
    CapacityUpdate u{l.listing_id, l.org_id, 1, 2, 5, l.signer_device};
    CHECK(GetCryptoError(ParseListing(SerializeCapacityUpdate(u)).status()) == CryptoError::kUnknownMagic);
    CHECK(GetCryptoError(ParseCapacityUpdate(*bytes).status()) == CryptoError::kUnknownMagic);
    CHECK(GetCryptoError(ParseRetirement(SerializeCapacityUpdate(u)).status()) == CryptoError::kUnknownMagic);
  }
}

TEST_CASE("the fixed-size capacity update and retirement layouts", "[directory]") {
  CapacityUpdate u{IdOf(1), IdOf(2), 7, -1, 123, IdOf(3)};
  auto bytes = SerializeCapacityUpdate(u);
  CHECK(bytes.size() == 73);
  auto parsed = ParseCapacityUpdate(bytes);
  REQUIRE(parsed.ok());
  CHECK(*parsed == u);
  Retirement r{IdOf(1), IdOf(2), 7, 456, IdOf(3)};
  auto rbytes = SerializeRetirement(r);
  CHECK(rbytes.size() == 69);
  REQUIRE(ParseRetirement(rbytes).ok());
  CHECK(*ParseRetirement(rbytes) == r);
}

TEST_CASE("BCP 47 tags: language[-Script][-REGION], canonical case", "[directory]") {
  CHECK(*CanonicalLanguageTag("ro") == "ro");
  CHECK(*CanonicalLanguageTag("TI") == "ti");
  CHECK(*CanonicalLanguageTag("sv-se") == "sv-SE");
  CHECK(*CanonicalLanguageTag("sr-latn-rs") == "sr-Latn-RS");
  CHECK(*CanonicalLanguageTag("zh-Hant") == "zh-Hant");
  CHECK(*CanonicalLanguageTag("es-419") == "es-419");
  CHECK(*CanonicalLanguageTag("prs") == "prs");  // Dari, ISO 639-3
  CHECK(PrimaryLanguage("sr-Latn-RS") == "sr");
  for (const char* bad : {"", "r", "roma", "ro_RO", "ro-", "-ro", "ro-R", "ro-RO-x", "ro-RO-RO", "r0", "en-US-u-ca",
                          "x-private", "i-klingon", "ro--RO", "12", "sv-1234", "ro-ROM"}) {
    INFO(bad);
    CHECK_FALSE(CanonicalLanguageTag(bad).ok());
  }
}

TEST_CASE("ISO 3166-2 codes: Swedish counties by list, others by pattern", "[directory]") {
  CHECK(*CanonicalRegionCode("SE-AB") == "SE-AB");
  CHECK(*CanonicalRegionCode("se-o") == "SE-O");
  CHECK(*CanonicalRegionCode("SE-Z") == "SE-Z");
  CHECK(SwedishCounties().size() == 21);
  for (const Subdivision& county : SwedishCounties()) CHECK(CanonicalRegionCode(county.code).ok());
  CHECK(*CanonicalRegionCode("NO-03") == "NO-03");
  CHECK(*CanonicalRegionCode("GB-LND") == "GB-LND");
  CHECK(*CanonicalRegionCode("RO-B") == "RO-B");
  for (const char* bad : {"", "SE", "SE-", "SE-ABCD", "S-AB", "SEX-AB", "SE_AB", "SE-A B", "SE-J", "SE-AA", "1E-AB",
                          "SE-ÅÄ"}) {
    INFO(bad);
    CHECK_FALSE(CanonicalRegionCode(bad).ok());
  }
}

TEST_CASE("validation names the field of every bad input", "[directory]") {
  CHECK(ValidateListing(Sample()).ok());
  Listing l = Sample();
  l.category = 0;
  CHECK(ErrorOf(l).starts_with("category:"));
  l.category = 10;
  CHECK(ErrorOf(l).starts_with("category:"));
  l = Sample();
  l.languages[1] = "swedish";
  CHECK(ErrorOf(l).starts_with("languages[1]:"));
  l.languages[1] = "sv-se";  // not canonical
  CHECK(ErrorOf(l).starts_with("languages[1]:"));
  l.languages[1] = "ro";  // twice
  CHECK(ErrorOf(l).starts_with("languages[1]:"));
  l = Sample();
  l.regions[0] = "Stockholm";
  CHECK(ErrorOf(l).starts_with("regions[0]:"));
  l.regions = {};
  CHECK(ErrorOf(l).starts_with("regions:"));
  l = Sample();
  l.capacity_free = -2;
  CHECK(ErrorOf(l).starts_with("capacity_free:"));
  l.capacity_free = -1;
  CHECK(ValidateListing(l).ok());
  l.capacity_free = 0;
  CHECK(ValidateListing(l).ok());
  l = Sample();
  l.description = std::string(kMaxListingDescriptionBytes, 'a');
  CHECK(ValidateListing(l).ok());
  l.description += "a";
  CHECK(ErrorOf(l).starts_with("description:"));
  l = Sample();
  l.description = "\xff\xfe";
  CHECK(ErrorOf(l).starts_with("description:"));
  l = Sample();
  l.contact_hours = std::string(kMaxListingContactHoursBytes + 1, 'x');
  CHECK(ErrorOf(l).starts_with("contact_hours:"));
  l = Sample();
  l.response_time_hours = 0;
  CHECK(ErrorOf(l).starts_with("response_time_hours:"));
  l = Sample();
  l.target_groups = 0x20;
  CHECK(ErrorOf(l).starts_with("target_groups:"));
  l = Sample();
  l.exploitation_forms = 0x40;
  CHECK(ErrorOf(l).starts_with("exploitation_forms:"));

  Listing messy = Sample();
  messy.regions = {"se-ab"};
  messy.languages = {"SV-se"};
  REQUIRE(NormaliseListing(messy).ok());
  CHECK(messy.regions[0] == "SE-AB");
  CHECK(messy.languages[0] == "sv-SE");
}

TEST_CASE("verification against an organisation log", "[directory]") {
  DeterministicRng rng(7);
  SigningKeyPair root = GenerateSigningKeyPair(rng);
  SigningKeyPair admin = GenerateSigningKeyPair(rng);
  SigningKeyPair caseworker = GenerateSigningKeyPair(rng);
  RootCertificate cert;
  cert.kind = CertificateKind::kOrganisation;
  cert.subject_id = IdOf(2);
  cert.device_id = IdOf(3);
  cert.issued_at_ms = 1;
  cert.sign_key = admin.public_key;
  cert.name = "Org";
  rng.Fill(cert.box_key.span());
  auto signed_cert = SignRootCertificate(cert, root);
  REQUIRE(signed_cert.ok());
  auto org = OrgLogState::FromCertificate(*signed_cert, root.public_key);
  REQUIRE(org.ok());
  OrgLogLink add;
  add.org_id = IdOf(2);
  add.seq = 1;
  add.prev_hash = SignedObjectHash(*signed_cert);
  add.created_at_ms = 2;
  add.signer_device = IdOf(3);
  add.action = OrgLogAction::kAddDevice;
  add.device_id = IdOf(4);
  add.role = Role::kCaseworker;
  add.sign_key = caseworker.public_key;
  rng.Fill(add.box_key.span());
  auto applied = org->Apply(SignOrgLogLink(add, admin));
  INFO(applied.ToString());
  REQUIRE(applied.ok());

  const Listing l = Sample();
  auto signed_listing = SignListing(l, admin);
  REQUIRE(signed_listing.ok());
  auto verified = VerifyListing(*signed_listing, *org);
  REQUIRE(verified.ok());
  CHECK(*verified == l);

  SECTION("a flipped byte or another key fails") {
    SignedObject tampered = *signed_listing;
    tampered.bytes.back() ^= 1;
    CHECK(GetCryptoError(VerifyListing(tampered, *org).status()) == CryptoError::kBadSignature);
    auto by_other = SignListing(l, caseworker);
    CHECK(GetCryptoError(VerifyListing(*by_other, *org).status()) == CryptoError::kBadSignature);
  }
  SECTION("a caseworker device is not an authorised signer") {
    Listing by_caseworker = l;
    by_caseworker.signer_device = IdOf(4);
    auto s = SignListing(by_caseworker, caseworker);
    CHECK(GetCryptoError(VerifyListing(*s, *org).status()) == CryptoError::kUnauthorisedSigner);
  }
  SECTION("a listing of another organisation does not verify against this log") {
    Listing other = l;
    other.org_id = IdOf(9);
    CHECK(GetCryptoError(VerifyListing(*SignListing(other, admin), *org).status()) == CryptoError::kFieldMismatch);
  }
  SECTION("capacity updates and retirements are bound to listing and revision") {
    CapacityUpdate u{l.listing_id, l.org_id, l.revision, 0, l.created_at_ms + 1, IdOf(3)};
    auto su = SignCapacityUpdate(u, admin);
    REQUIRE(su.ok());
    CHECK(VerifyCapacityUpdate(*su, l, *org).ok());
    Listing next = l;
    next.revision = 2;
    CHECK(GetCryptoError(VerifyCapacityUpdate(*su, next, *org).status()) == CryptoError::kFieldMismatch);
    CHECK(GetCryptoError(VerifyListing(*su, *org).status()) == CryptoError::kUnknownMagic);
    u.capacity_free = -2;
    CHECK(std::string(SignCapacityUpdate(u, admin).status().message()).starts_with("capacity_free"));
    Retirement r{l.listing_id, l.org_id, l.revision, 5, IdOf(3)};
    CHECK(VerifyRetirement(SignRetirement(r, admin), l, *org).ok());
    CHECK_FALSE(VerifyRetirement(SignRetirement(r, caseworker), l, *org).ok());
  }
}

}  // namespace
}  // namespace trygg

namespace trygg {
namespace {

// The layouts of docs/protocol.md section 13, built here byte by byte from
// the document (not from the serialiser), so a change to either is caught.
std::vector<uint8_t> Be(uint64_t v, int width) {
  std::vector<uint8_t> out;
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}
void Append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }
void Append(std::vector<uint8_t>& out, std::string_view s) { Append(out, AsBytes(s)); }

TEST_CASE("byte layouts follow protocol.md section 13", "[directory]") {
  const Id128 listing = IdOf(0x11), org = IdOf(0x22), signer = IdOf(0x33);
  SECTION("capacity update") {
    std::vector<uint8_t> want;
    Append(want, "TLC1");
    want.push_back(2);  // format 2: signed trygg/v2/listing-capacity
    Append(want, listing.span());
    Append(want, org.span());
    Append(want, Be(7, 8));
    Append(want, Be(0xFFFFFFFF, 4));  // -1: places not counted
    Append(want, Be(1'700'000'000'123, 8));
    Append(want, signer.span());
    CHECK(SerializeCapacityUpdate({listing, org, 7, -1, 1'700'000'000'123, signer}) == want);
    CHECK(want.size() == 73);
  }
  SECTION("retirement") {
    std::vector<uint8_t> want;
    Append(want, "TLR1");
    want.push_back(2);  // format 2: signed trygg/v2/listing-retirement
    Append(want, listing.span());
    Append(want, org.span());
    Append(want, Be(2, 8));
    Append(want, Be(99, 8));
    Append(want, signer.span());
    CHECK(SerializeRetirement({listing, org, 2, 99, signer}) == want);
  }
  SECTION("listing") {
    Listing l;
    l.listing_id = listing;
    l.org_id = org;
    l.revision = 3;
    l.created_at_ms = 5;
    l.signer_device = signer;
    l.category = 2;
    l.response_time_hours = 72;
    l.capacity_free = 4;
    l.target_groups = 0x05;
    l.exploitation_forms = 0x02;
    l.regions = {"SE-O"};
    l.languages = {"ti", "sv-SE"};
    l.contact_hours = "9-5";
    l.description = "Ö";
    std::vector<uint8_t> want;
    Append(want, "TLS1");
    want.push_back(1);
    Append(want, listing.span());
    Append(want, org.span());
    Append(want, Be(3, 8));
    Append(want, Be(5, 8));
    Append(want, signer.span());
    want.push_back(2);
    Append(want, Be(72, 4));
    Append(want, Be(4, 4));
    want.push_back(0x05);
    want.push_back(0x02);
    want.push_back(1);
    want.push_back(4);
    Append(want, "SE-O");
    want.push_back(2);
    want.push_back(2);
    Append(want, "ti");
    want.push_back(5);
    Append(want, "sv-SE");
    Append(want, Be(3, 2));
    Append(want, "9-5");
    Append(want, Be(2, 2));
    Append(want, "\xc3\x96");
    auto got = SerializeListing(l);
    REQUIRE(got.ok());
    CHECK(*got == want);
    // The signed bytes: context, 0x00, then the structure.
    std::vector<uint8_t> signed_bytes = SignedBytes(SigningContext::kListing, want);
    CHECK(std::string(signed_bytes.begin(), signed_bytes.begin() + 17) == std::string("trygg/v1/listing\0", 17));
  }
}

}  // namespace
}  // namespace trygg
