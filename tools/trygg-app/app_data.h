// SPDX-License-Identifier: Apache-2.0

// What trygg-app carries inside its binary, generated at build time by
// generate_app_data.py: the static assets (CSS, JavaScript), the message
// catalogues (messages/sv.txt, messages/en.txt) and the HTCDS 2.0 picklists
// of the case form, read from ../shared/standards/htcds/field_standards_2.0.csv
// with Swedish labels from messages/sv.txt. Nothing is read from disk at run
// time, so no file beside the binary can change what the browser runs.
//
// Thread-safety: constant tables.
#ifndef TRYGG_TOOLS_TRYGG_APP_APP_DATA_H_
#define TRYGG_TOOLS_TRYGG_APP_APP_DATA_H_

#include <cstddef>

namespace trygg::app::data {

struct Asset {
  const char* path;  // "/static/app.js"
  const char* content_type;
  const char* bytes;
  size_t size;
};

struct Message {
  const char* key;
  const char* sv;
  const char* en;
};

// One value of an HTCDS picklist, in the order the standard lists them.
struct PicklistValue {
  const char* field;  // "prs_Gender"
  const char* value;  // "Feminine": what the case record stores
  const char* en;     // the standard's label
  const char* sv;     // from messages/sv.txt, htcds.<field>.<value>
};

extern const Asset kAssets[];
extern const size_t kAssetCount;
extern const Message kMessages[];
extern const size_t kMessageCount;
extern const PicklistValue kPicklistValues[];
extern const size_t kPicklistValueCount;

}  // namespace trygg::app::data

#endif  // TRYGG_TOOLS_TRYGG_APP_APP_DATA_H_
