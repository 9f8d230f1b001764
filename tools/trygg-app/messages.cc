// SPDX-License-Identifier: Apache-2.0

#include "messages.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app_data.h"

namespace trygg::app {

const char* LanguageCode(Language language) { return language == Language::kEnglish ? "en" : "sv"; }

std::string Text(Language language, std::string_view key, const std::vector<std::string>& args) {
  return TextEscaped(language, key, args, nullptr);
}

std::string TextEscaped(Language language, std::string_view key, const std::vector<std::string>& args,
                        std::string (*escape)(std::string_view)) {
  const data::Message* found = nullptr;
  for (size_t i = 0; i < data::kMessageCount; ++i) {
    if (key == data::kMessages[i].key) {
      found = &data::kMessages[i];
      break;
    }
  }
  if (found == nullptr) {
    std::fprintf(stderr, "trygg-app: BUG: no message %.*s in the catalogues\n", static_cast<int>(key.size()),
                 key.data());
    std::abort();
  }
  const std::string_view text = language == Language::kEnglish ? found->en : found->sv;
  std::string out;
  size_t literal = 0;  // start of the catalogue text not yet copied
  auto flush = [&](size_t end) {
    const std::string_view piece = text.substr(literal, end - literal);
    out += escape != nullptr ? escape(piece) : std::string(piece);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 2 < text.size() && text[i + 2] == '}' && text[i + 1] >= '0' && text[i + 1] <= '9') {
      flush(i);
      const size_t n = static_cast<size_t>(text[i + 1] - '0');
      if (n < args.size()) out += args[n];
      i += 2;
      literal = i + 1;
    }
  }
  flush(text.size());
  return out;
}

std::string PicklistLabel(Language language, std::string_view field, std::string_view value) {
  for (size_t i = 0; i < data::kPicklistValueCount; ++i) {
    const data::PicklistValue& v = data::kPicklistValues[i];
    if (field == v.field && value == v.value) return language == Language::kEnglish ? v.en : v.sv;
  }
  return std::string(value);
}

std::vector<std::string> PicklistValues(std::string_view field) {
  std::vector<std::string> out;
  for (size_t i = 0; i < data::kPicklistValueCount; ++i) {
    if (field == data::kPicklistValues[i].field) out.emplace_back(data::kPicklistValues[i].value);
  }
  return out;
}

}  // namespace trygg::app
