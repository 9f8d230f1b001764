// SPDX-License-Identifier: Apache-2.0

// The pages' words, from the message catalogues compiled into the binary
// (messages/sv.txt, messages/en.txt; app_data.h). Swedish is the default.
// A key missing from the catalogues is a bug of the app and crashes with its
// name; generate_app_data.py already refuses a key given in one language only.
//
// Thread-safety: constant tables; thread-safe.
#ifndef TRYGG_TOOLS_TRYGG_APP_MESSAGES_H_
#define TRYGG_TOOLS_TRYGG_APP_MESSAGES_H_

#include <string>
#include <string_view>
#include <vector>

namespace trygg::app {

enum class Language { kSwedish, kEnglish };

// "sv" or "en".
const char* LanguageCode(Language language);

// The text of `key`; "{0}", "{1}", ... are replaced by `args` (as given: the
// caller escapes them for HTML).
std::string Text(Language language, std::string_view key, const std::vector<std::string>& args = {});

// The same, with the catalogue's own text passed through `escape` (HTML
// escaping) and `args` inserted as given: they are HTML already, each
// escaped once by the caller.
std::string TextEscaped(Language language, std::string_view key, const std::vector<std::string>& args,
                        std::string (*escape)(std::string_view));

// A picklist value's label in `language`; the value itself when the field
// has no such value (an older record).
std::string PicklistLabel(Language language, std::string_view field, std::string_view value);
// The values of an HTCDS picklist, in the standard's order.
std::vector<std::string> PicklistValues(std::string_view field);

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_MESSAGES_H_
