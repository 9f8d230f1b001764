// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/migrations.h"

#include <iterator>

namespace trygg::store::sqlite {
namespace {

// Tables are STRICT so a value of the wrong type is an error, not a silent
// conversion; ids are 16-byte BLOBs and times are Unix milliseconds.
constexpr Migration kMigrations[] = {
    {1, "server metadata",
     R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;
)sql"},
    {2, "audit log: entries, Merkle tree nodes, signed tree heads",
     R"sql(
CREATE TABLE audit_entries (
  idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
  entry BLOB NOT NULL
) STRICT;
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
  idx   INTEGER NOT NULL CHECK (idx >= 0),
  hash  BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_tree_heads (
  seq          INTEGER PRIMARY KEY,
  tree_size    INTEGER NOT NULL CHECK (tree_size >= 0),
  timestamp_ms INTEGER NOT NULL,
  root_hash    BLOB NOT NULL CHECK (length(root_hash) = 32),
  signature    BLOB NOT NULL CHECK (length(signature) = 64)
) STRICT;
)sql"},
    {3, "trust: certificates, organisation logs, devices, enrolment, sessions",
     R"sql(
CREATE TABLE certificates (
  subject_id BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
  kind       INTEGER NOT NULL,
  bytes      BLOB NOT NULL,
  signature  BLOB NOT NULL CHECK (length(signature) = 64)
) STRICT;
CREATE INDEX certificates_by_kind ON certificates (kind, subject_id);

CREATE TABLE org_log (
  org_id    BLOB NOT NULL REFERENCES certificates (subject_id),
  seq       INTEGER NOT NULL CHECK (seq >= 1),
  bytes     BLOB NOT NULL,
  signature BLOB NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (org_id, seq)
) STRICT, WITHOUT ROWID;

-- Derived from certificates and org logs, for fast session checks.
CREATE TABLE devices (
  device_id BLOB PRIMARY KEY CHECK (length(device_id) = 16),
  org_id    BLOB NOT NULL REFERENCES certificates (subject_id),
  role      INTEGER NOT NULL,
  sign_key  BLOB NOT NULL UNIQUE CHECK (length(sign_key) = 32),
  box_key   BLOB NOT NULL CHECK (length(box_key) = 32),
  revoked   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE enrolments (
  enrolment_id BLOB PRIMARY KEY CHECK (length(enrolment_id) = 16),
  org_id       BLOB NOT NULL REFERENCES certificates (subject_id),
  device_id    BLOB NOT NULL,
  bytes        BLOB NOT NULL,
  signature    BLOB NOT NULL,
  submitted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX enrolments_by_org ON enrolments (org_id, enrolment_id);

-- Organisation-key seeds sealed to devices: ciphertext only.
CREATE TABLE key_envelopes (
  device_id  BLOB NOT NULL REFERENCES devices (device_id),
  generation INTEGER NOT NULL CHECK (generation >= 1),
  header     BLOB NOT NULL,
  sealed     BLOB NOT NULL,
  signature  BLOB NOT NULL,
  signer     BLOB NOT NULL,
  PRIMARY KEY (device_id, generation)
) STRICT, WITHOUT ROWID;

CREATE TABLE challenges (
  nonce      BLOB PRIMARY KEY,
  device_id  BLOB NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX challenges_by_expiry ON challenges (expires_at);

-- Bearer tokens are stored only as BLAKE2b-256 hashes.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  device_id  BLOB NOT NULL REFERENCES devices (device_id),
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_device ON sessions (device_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
)sql"},
    {4, "directory: listings with their signed revision, capacity update and retirement",
     R"sql(
-- The signed bytes are the authority; the other columns are copies of their
-- fields (and of the newest capacity update) for filtering and ordering.
CREATE TABLE listings (
  listing_id          BLOB PRIMARY KEY CHECK (length(listing_id) = 16),
  org_id              BLOB NOT NULL REFERENCES certificates (subject_id),
  revision            INTEGER NOT NULL CHECK (revision >= 1),
  category            INTEGER NOT NULL CHECK (category BETWEEN 1 AND 255),
  response_time_hours INTEGER NOT NULL CHECK (response_time_hours >= 1),
  capacity_free       INTEGER NOT NULL CHECK (capacity_free >= -1),
  capacity_at         INTEGER NOT NULL,
  target_groups       INTEGER NOT NULL,
  exploitation_forms  INTEGER NOT NULL,
  retired             INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  bytes               BLOB NOT NULL,
  signature           BLOB NOT NULL CHECK (length(signature) = 64),
  signer              BLOB NOT NULL CHECK (length(signer) = 16),
  capacity_bytes      BLOB,
  capacity_signature  BLOB CHECK (capacity_signature IS NULL OR length(capacity_signature) = 64),
  capacity_signer     BLOB,
  retire_bytes        BLOB,
  retire_signature    BLOB CHECK (retire_signature IS NULL OR length(retire_signature) = 64),
  retire_signer       BLOB
) STRICT;
CREATE INDEX listings_by_order ON listings (retired, capacity_free > 0, capacity_at, listing_id);
CREATE INDEX listings_by_org ON listings (org_id);

CREATE TABLE listing_regions (
  listing_id BLOB NOT NULL REFERENCES listings (listing_id),
  position   INTEGER NOT NULL,
  region     TEXT NOT NULL,
  PRIMARY KEY (listing_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX listing_regions_by_region ON listing_regions (region, listing_id);

CREATE TABLE listing_languages (
  listing_id       BLOB NOT NULL REFERENCES listings (listing_id),
  position         INTEGER NOT NULL,
  tag              TEXT NOT NULL,
  primary_language TEXT NOT NULL,
  PRIMARY KEY (listing_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX listing_languages_by_language ON listing_languages (primary_language, listing_id);
)sql"},
    {5, "cases: cases, record versions, grants; organisation key generations",
     R"sql(
CREATE TABLE org_generations (
  org_id     BLOB NOT NULL REFERENCES certificates (subject_id),
  generation INTEGER NOT NULL CHECK (generation >= 1),
  box_key    BLOB NOT NULL CHECK (length(box_key) = 32),
  PRIMARY KEY (org_id, generation)
) STRICT, WITHOUT ROWID;

-- Routing metadata only; the content is in case_versions, as ciphertext.
CREATE TABLE cases (
  case_id      BLOB PRIMARY KEY CHECK (length(case_id) = 16),
  owner_org    BLOB NOT NULL REFERENCES certificates (subject_id),
  record_id    BLOB NOT NULL,
  scope_id     BLOB NOT NULL UNIQUE,
  epoch        INTEGER NOT NULL,
  head_version INTEGER NOT NULL,
  head_hash    BLOB NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  erased       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Each version exactly as sealed and signed on the device.
CREATE TABLE case_versions (
  case_id           BLOB NOT NULL REFERENCES cases (case_id),
  version           INTEGER NOT NULL CHECK (version >= 1),
  header            BLOB NOT NULL,
  wrapped_dek       BLOB NOT NULL,
  body              BLOB NOT NULL,
  signature         BLOB NOT NULL,
  attachment_hashes BLOB NOT NULL,
  PRIMARY KEY (case_id, version)
) STRICT, WITHOUT ROWID;

-- Scope keys sealed to organisation keys: ciphertext only.
CREATE TABLE grants (
  scope_id  BLOB NOT NULL,
  epoch     INTEGER NOT NULL,
  org_id    BLOB NOT NULL,
  header    BLOB NOT NULL,
  sealed    BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (scope_id, org_id, epoch)
) STRICT, WITHOUT ROWID;
CREATE INDEX grants_by_org ON grants (org_id, scope_id);
)sql"},
    {6, "referrals: consent records, referrals and their signed transitions",
     R"sql(
-- Routing fields in the clear so the server can enforce consent; the
-- evidence is ciphertext.
CREATE TABLE consents (
  consent_id           BLOB PRIMARY KEY CHECK (length(consent_id) = 16),
  case_id              BLOB NOT NULL REFERENCES cases (case_id),
  to_org               BLOB NOT NULL,
  services             INTEGER NOT NULL,
  purpose              INTEGER NOT NULL,
  recorded_at          INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL,
  withdrawn_at         INTEGER,
  recorder             BLOB NOT NULL,
  bytes                BLOB NOT NULL,
  signature            BLOB NOT NULL,
  evidence             BLOB NOT NULL,
  withdrawal           BLOB,
  withdrawal_signature BLOB
) STRICT;
CREATE INDEX consents_by_case ON consents (case_id);

CREATE TABLE referrals (
  referral_id        BLOB PRIMARY KEY CHECK (length(referral_id) = 16),
  case_id            BLOB NOT NULL REFERENCES cases (case_id),
  from_org           BLOB NOT NULL,
  to_org             BLOB NOT NULL,
  listing_id         BLOB NOT NULL,
  consent_id         BLOB NOT NULL,
  scope_id           BLOB NOT NULL UNIQUE,
  service            INTEGER NOT NULL,
  urgency            INTEGER NOT NULL,
  basis              INTEGER NOT NULL,
  state              INTEGER NOT NULL,
  code               INTEGER NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  answer_by          INTEGER NOT NULL,
  sender             BLOB NOT NULL,
  bytes              BLOB NOT NULL,
  signature          BLOB NOT NULL,
  packet_header      BLOB NOT NULL,
  packet_wrapped_dek BLOB NOT NULL,
  packet_body        BLOB NOT NULL,
  packet_signature   BLOB NOT NULL,
  justification      BLOB NOT NULL
) STRICT;
CREATE INDEX referrals_inbox ON referrals (to_org, updated_at, referral_id);
CREATE INDEX referrals_outbox ON referrals (from_org, updated_at, referral_id);
CREATE INDEX referrals_due ON referrals (state, answer_by);
CREATE INDEX referrals_by_consent ON referrals (consent_id);

CREATE TABLE referral_transitions (
  referral_id BLOB NOT NULL REFERENCES referrals (referral_id),
  seq         INTEGER NOT NULL,
  actor       BLOB NOT NULL,
  to_state    INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  bytes       BLOB NOT NULL,
  signature   BLOB NOT NULL,
  PRIMARY KEY (referral_id, seq)
) STRICT, WITHOUT ROWID;
)sql"},
    {7, "referrals: find open referrals whose consent has expired",
     R"sql(
CREATE INDEX consents_by_expiry ON consents (expires_at) WHERE withdrawn_at IS NULL;
)sql"},
    {8, "attachments: ciphertext streams in parts, found by their hash once complete",
     R"sql(
CREATE TABLE attachments (
  case_id       BLOB NOT NULL REFERENCES cases (case_id),
  attachment_id BLOB NOT NULL CHECK (length(attachment_id) = 16),
  uploader      BLOB NOT NULL,
  total_size    INTEGER NOT NULL CHECK (total_size >= 0),
  stored_size   INTEGER NOT NULL,
  parts         INTEGER NOT NULL,
  hash          BLOB CHECK (hash IS NULL OR length(hash) = 32),
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (case_id, attachment_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX attachments_by_hash ON attachments (case_id, hash) WHERE hash IS NOT NULL;

CREATE TABLE attachment_parts (
  case_id       BLOB NOT NULL,
  attachment_id BLOB NOT NULL,
  seq           INTEGER NOT NULL,
  bytes         BLOB NOT NULL,
  PRIMARY KEY (case_id, attachment_id, seq),
  FOREIGN KEY (case_id, attachment_id) REFERENCES attachments (case_id, attachment_id)
) STRICT, WITHOUT ROWID;
)sql"},
    {9, "trust: a device's box key, like its id and signing key, is unique across the platform",
     R"sql(
CREATE UNIQUE INDEX devices_by_box_key ON devices (box_key);
)sql"},
    {10, "limits: uploads record when they last stored a part; expiry finds idle uploads and old enrolments; "
         "an organisation's attachment bytes are summed through its devices",
     R"sql(
-- 0 for uploads made before this migration: none of them can still be
-- running (streams do not survive a restart), so all are orphans.
ALTER TABLE attachments ADD COLUMN touched_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX attachments_unfinished ON attachments (touched_at) WHERE hash IS NULL;
CREATE INDEX enrolments_by_submitted ON enrolments (submitted_at);
CREATE INDEX devices_by_org ON devices (org_id);
CREATE INDEX attachments_by_uploader ON attachments (uploader);
)sql"},
    {11, "cases: erasing a case finds its referrals through an index, not a scan of every referral",
     R"sql(
CREATE INDEX referrals_by_case ON referrals (case_id);
)sql"},
    {12, "referrals: the expiry round finds the open referrals of lapsed consents through the consent, not a "
         "scan of every open referral",
     R"sql(
CREATE INDEX referrals_by_consent_state ON referrals (consent_id, state);
DROP INDEX referrals_by_consent;
)sql"},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace trygg::store::sqlite
