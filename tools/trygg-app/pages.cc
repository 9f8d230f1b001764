// SPDX-License-Identifier: Apache-2.0

#include "pages.h"

#include <httplib.h>

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "app_data.h"
#include "local_peer.h"
#include "trygg/alias_index.h"
#include "trygg/case_record.h"
#include "trygg/case_record_check.h"
#include "qr_svg.h"
#include "trygg/consent_expiry.h"
#include "trygg/crypto_error.h"
#include "trygg/fingerprint.h"
#include "trygg/names.h"
#include "trygg/org_log.h"
#include "trygg/referral_packet.h"
#include "trygg/status_macros.h"
#include "trygg/v1/case_record.pb.h"

namespace trygg::app {
namespace {


// ---- HTML ----------------------------------------------------------------

std::string Esc(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A time as caseworkers read it: Swedish local time, minutes ("%Y-%m-%d
// %H:%M") or the date alone ("%Y-%m-%d").
std::string FormatStockholm(int64_t unix_millis, const char* format = "%Y-%m-%d %H:%M") {
  static const absl::TimeZone zone = [] {
    absl::TimeZone z;
    if (!absl::LoadTimeZone(kConsentTimeZone, &z)) {
      std::fprintf(stderr, "trygg-app: no time zone %s; install tzdata\n", kConsentTimeZone);
      std::abort();
    }
    return z;
  }();
  if (unix_millis <= 0) return "";
  return absl::FormatTime(format, absl::FromUnixMillis(unix_millis), zone);
}

// One request's context: its language and the guard's CSRF token.
struct Ctx {
  Language lang = Language::kSwedish;
  const HttpGuard* guard = nullptr;
  // The catalogue's text escaped for HTML; `args` are HTML already (each
  // escaped once by the caller), so "A & B" shows as "A & B".
  std::string T(std::string_view key, const std::vector<std::string>& args = {}) const {
    return TextEscaped(lang, key, args, &Esc);
  }
  std::string Csrf() const {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + Esc(guard->csrf_token()) + "\">";
  }
};

std::string EnumLabel(const Ctx& c, const char* prefix, NamedEnum kind, uint8_t value) {
  const std::string_view name = FormatName(kind, value);
  if (name.empty()) return c.T("value.unknown");
  return c.T(std::string(prefix) + "." + std::string(name));
}

std::string Page(const Ctx& c, std::string_view title_key, const std::string& body, const std::string& back,
                 bool unlocked, bool live = false) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"" + std::string(LanguageCode(c.lang)) + "\"><head>";
  h += "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>" + c.T(title_key) + " · Trygg</title>";
  h += "<link rel=\"stylesheet\" href=\"/static/app.css\"><script src=\"/static/app.js\" defer></script>";
  // A page made while the app is locked (unlock, a new device's enrolment)
  // does not follow the lock (app.js): it is where the lock leads, at
  // whatever address (/shown after a POST too).
  h += "</head><body" + std::string(live ? " data-live=\"1\"" : "") +
       std::string(unlocked ? "" : " data-locked-page=\"1\"") + " data-new-referral=\"" +
       c.T("notice.new_referral") + "\" data-changed-referral=\"" + c.T("notice.changed_referral") + "\">";
  h += "<a class=\"skip\" href=\"#main\">" + c.T("nav.skip") + "</a><header><p class=\"brand\">Trygg</p>";
  if (unlocked) {
    h += "<nav aria-label=\"" + c.T("nav.label") + "\"><ul>";
    for (const char* item : {"overview", "inbox", "outbox", "cases", "case_new", "directory", "device"}) {
      std::string href = std::string("/") + item;
      if (href == "/overview") href = "/";
      if (href == "/case_new") href = "/case/new";
      h += "<li><a href=\"" + href + "\">" + c.T(std::string("nav.") + item) + "</a></li>";
    }
    h += "</ul></nav>";
    h += "<form method=\"post\" action=\"/lock\" class=\"inline\">" + c.Csrf() + "<button type=\"submit\" id=\"lock\">" +
         c.T("nav.lock") + "</button></form>";
  }
  const Language other = c.lang == Language::kEnglish ? Language::kSwedish : Language::kEnglish;
  h += "<form method=\"post\" action=\"/lang\" class=\"inline\">" + c.Csrf() +
       "<input type=\"hidden\" name=\"to\" value=\"" + LanguageCode(other) + "\"><input type=\"hidden\" name=\"back\" value=\"" +
       Esc(back) + "\"><button type=\"submit\" id=\"language\" lang=\"" + LanguageCode(other) + "\">" +
       Esc(Text(other, "nav.language")) + "</button></form>";
  h += "</header><div id=\"notices\" role=\"status\" aria-live=\"polite\"></div>";
  h += "<main id=\"main\"><h1>" + c.T(title_key) + "</h1>" + body + "</main></body></html>\n";
  return h;
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return 503;
    case absl::StatusCode::kResourceExhausted: return 429;
    default: return 500;
  }
}

std::string ErrorBox(const Ctx& c, const absl::Status& status) {
  // The library's message names what was wrong (a field, a state) and never
  // a survivor's data; it is shown as given, in English, after the
  // translated summary.
  return "<div class=\"error\" role=\"alert\"><p>" + c.T("error.summary") + "</p><p lang=\"en\">" +
         Esc(std::string(status.message())) + "</p></div>";
}

// The alias index did not open: said on every page that uses it, with what
// to do; the file is left as it is.
std::string AliasErrorBox(const Ctx& c, const absl::Status& status) {
  return "<div class=\"error\" role=\"alert\" id=\"alias-error\"><p>" + c.T("alias.unavailable") +
         "</p><p lang=\"en\">" + Esc(std::string(status.message())) + "</p></div>";
}

// ---- Case records ----------------------------------------------------------

std::string Row(const Ctx& c, std::string_view key, const std::string& value_html) {
  if (value_html.empty()) return "";
  return "<dt>" + c.T(key) + "</dt><dd>" + value_html + "</dd>";
}

std::string Joined(const Ctx& c, std::string_view field, const google::protobuf::RepeatedPtrField<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += ", ";
    out += Esc(PicklistLabel(c.lang, field, v));
  }
  return out;
}

std::string RenderSection(const Ctx& c, std::string_view section, const v1::CaseRecord& r) {
  std::string d;
  if (section == "person" && r.has_person()) {
    const v1::Person& p = r.person();
    d += Row(c, "field.first_name", Esc(p.first_name()));
    d += Row(c, "field.second_name", Esc(p.second_name()));
    d += Row(c, "field.birthdate", Esc(p.birthdate()));
    d += Row(c, "field.gender", p.gender().empty() ? "" : Esc(PicklistLabel(c.lang, "prs_Gender", p.gender())));
    d += Row(c, "field.citizenship", Joined(c, "", p.citizenship()));
    d += Row(c, "field.primary_language", Esc(p.primary_language()));
    d += Row(c, "field.mobile_phone", Esc(p.mobile_phone()));
    d += Row(c, "field.email", Esc(p.email()));
  } else if (section == "exploitation" && r.has_exploitation()) {
    const v1::Exploitation& e = r.exploitation();
    d += Row(c, "field.trafficking_status",
             e.trafficking_status().empty() ? ""
                                            : Esc(PicklistLabel(c.lang, "vic_TraffickingStatus", e.trafficking_status())));
    d += Row(c, "field.type_of_exploitation", Joined(c, "vic_TypeOfExploitation", e.type_of_exploitation()));
  } else if (section == "needs") {
    for (const v1::Need& n : r.needs()) {
      std::string v = EnumLabel(c, "service", NamedEnum::kServiceCategory, static_cast<uint8_t>(n.service()));
      if (n.urgent()) v += " (" + c.T("field.urgent") + ")";
      if (!n.details().empty()) v += ": " + Esc(n.details());
      d += Row(c, "field.need", v);
    }
  } else if (section == "contacts") {
    for (const v1::Contact& k : r.contacts()) {
      d += Row(c, "field.contact", Esc(k.role() + " " + k.name() + " " + k.phone()));
    }
  } else if (section == "support_plan" && r.has_support_plan()) {
    d += Row(c, "field.objectives", Esc(r.support_plan().objectives()));
  } else if (section == "comments") {
    for (const std::string& comment : r.comments()) d += Row(c, "field.comment", Esc(comment));
  }
  if (d.empty()) return "";
  return "<section><h3>" + c.T(std::string("section.") + std::string(section)) + "</h3><dl>" + d + "</dl></section>";
}

std::string RenderRecord(const Ctx& c, const v1::CaseRecord& r) {
  std::string out;
  for (const std::string& s : ReferralPacketSections()) out += RenderSection(c, s, r);
  if (!r.case_status().empty()) {
    out += "<dl>" + Row(c, "field.case_status", Esc(PicklistLabel(c.lang, "cas_Status", r.case_status()))) + "</dl>";
  }
  return out;
}

std::string CaseName(const v1::CaseRecord& r) {
  std::string name = r.person().first_name();
  if (!r.person().second_name().empty()) name += " " + r.person().second_name();
  return name;
}

// ---- Forms -------------------------------------------------------------------


std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

std::vector<std::string> ParamAll(const httplib::Request& req, const char* name) {
  std::vector<std::string> out;
  auto range = req.params.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

std::string TextInput(const Ctx& c, const char* name, const std::string& label_key, const std::string& value,
                      const char* type = "text", const std::string& hint_key = "", bool required = false) {
  std::string h = "<p><label for=\"" + std::string(name) + "\">" + c.T(label_key) + "</label>";
  std::string described;
  if (!hint_key.empty()) {
    h += "<span class=\"hint\" id=\"" + std::string(name) + "-hint\">" + c.T(hint_key) + "</span>";
    described = " aria-describedby=\"" + std::string(name) + "-hint\"";
  }
  h += "<input type=\"" + std::string(type) + "\" id=\"" + name + "\" name=\"" + name + "\" value=\"" + Esc(value) +
       "\"" + described + (required ? " required" : "") + " autocomplete=\"off\"></p>";
  return h;
}

std::string TextArea(const Ctx& c, const char* name, const std::string& label_key, const std::string& value,
                     bool required = false) {
  return "<p><label for=\"" + std::string(name) + "\">" + c.T(label_key) + "</label><textarea id=\"" + name +
         "\" name=\"" + name + "\" rows=\"3\" autocomplete=\"off\"" + (required ? " required" : "") + ">" + Esc(value) + "</textarea></p>";
}

std::string PicklistSelect(const Ctx& c, const char* name, const char* field, const std::string& label_key,
                           const std::string& value) {
  std::string h = "<p><label for=\"" + std::string(name) + "\">" + c.T(label_key) + "</label><select id=\"" + name +
                  "\" name=\"" + name + "\"><option value=\"\">" + c.T("form.none") + "</option>";
  for (const std::string& v : PicklistValues(field)) {
    h += "<option value=\"" + Esc(v) + "\"" + (v == value ? " selected" : "") + ">" +
         Esc(PicklistLabel(c.lang, field, v)) + "</option>";
  }
  return h + "</select></p>";
}

std::string PicklistChecks(const Ctx& c, const char* name, const char* field, const std::string& legend_key,
                           const std::vector<std::string>& chosen) {
  std::string h = "<fieldset><legend>" + c.T(legend_key) + "</legend>";
  int i = 0;
  for (const std::string& v : PicklistValues(field)) {
    const std::string id = std::string(name) + "-" + std::to_string(i++);
    const bool on = std::find(chosen.begin(), chosen.end(), v) != chosen.end();
    h += "<label class=\"check\" for=\"" + id + "\"><input type=\"checkbox\" id=\"" + id + "\" name=\"" + name +
         "\" value=\"" + Esc(v) + "\"" + (on ? " checked" : "") + "> " + Esc(PicklistLabel(c.lang, field, v)) +
         "</label>";
  }
  return h + "</fieldset>";
}

std::string EnumSelect(const Ctx& c, const char* name, const std::string& label_key, const char* prefix,
                       NamedEnum kind, const std::string& value, bool allow_any) {
  std::string h = "<p><label for=\"" + std::string(name) + "\">" + c.T(label_key) + "</label><select id=\"" + name +
                  "\" name=\"" + name + "\">";
  if (allow_any) h += "<option value=\"\">" + c.T("form.any") + "</option>";
  for (std::string_view n : Names(kind)) {
    const std::string s(n);
    h += "<option value=\"" + Esc(s) + "\"" + (s == value ? " selected" : "") + ">" +
         c.T(std::string(prefix) + "." + s) + "</option>";
  }
  return h + "</select></p>";
}

// The case form's values, as submitted or read from the latest version.
struct CaseForm {
  std::map<std::string, std::string> text;
  std::vector<std::string> exploitation_types;
};

const char* const kCaseTextFields[] = {"alias", "first_name",  "second_name", "birthdate",          "gender",
                                       "citizenship", "primary_language", "mobile_phone",  "email",
                                       "trafficking_status", "need_service", "need_details", "need_urgent",
                                       "case_status", "comment"};

CaseForm FormFromRequest(const httplib::Request& req) {
  CaseForm f;
  for (const char* name : kCaseTextFields) f.text[name] = Param(req, name);
  f.exploitation_types = ParamAll(req, "type_of_exploitation");
  return f;
}

CaseForm FormFromRecord(const v1::CaseRecord& r) {
  CaseForm f;
  f.text["first_name"] = r.person().first_name();
  f.text["second_name"] = r.person().second_name();
  f.text["birthdate"] = r.person().birthdate();
  f.text["gender"] = r.person().gender();
  f.text["citizenship"] = r.person().citizenship_size() > 0 ? r.person().citizenship(0) : "";
  f.text["primary_language"] = r.person().primary_language();
  f.text["mobile_phone"] = r.person().mobile_phone();
  f.text["email"] = r.person().email();
  f.text["trafficking_status"] = r.exploitation().trafficking_status();
  for (const std::string& t : r.exploitation().type_of_exploitation()) f.exploitation_types.push_back(t);
  if (r.needs_size() > 0) {
    f.text["need_service"] = std::string(ServiceCategoryName(static_cast<uint8_t>(r.needs(0).service())));
    f.text["need_details"] = r.needs(0).details();
    f.text["need_urgent"] = r.needs(0).urgent() ? "1" : "";
  }
  f.text["case_status"] = r.case_status();
  return f;
}

// Checks every field before anything is sealed; the errors, each naming its
// field's label, in the caseworker's language.
std::vector<std::string> CheckCaseForm(const Ctx& c, const CaseForm& f, v1::CaseRecord& out) {
  std::vector<std::string> errors;
  auto get = [&f](const char* k) { return f.text.at(k); };
  if (get("first_name").empty()) errors.push_back(c.T("invalid.required", {Esc(Text(c.lang, "field.first_name"))}));
  struct Formatted {
    const char* name;
    FieldFormat format;
    const char* message;
  };
  for (const Formatted& x : {Formatted{"birthdate", FieldFormat::kDate, "invalid.date"},
                             Formatted{"citizenship", FieldFormat::kCountryCode, "invalid.country"},
                             Formatted{"primary_language", FieldFormat::kLanguageTag, "invalid.language"},
                             Formatted{"mobile_phone", FieldFormat::kPhoneNumber, "invalid.phone"},
                             Formatted{"email", FieldFormat::kEmail, "invalid.email"}}) {
    if (!CheckFieldFormat(x.format, x.name, get(x.name)).ok()) {
      errors.push_back(c.T(x.message, {Text(c.lang, std::string("field.") + x.name)}));
    }
  }
  auto in_picklist = [](const char* field, const std::string& v) {
    const std::vector<std::string> values = PicklistValues(field);
    return v.empty() || std::find(values.begin(), values.end(), v) != values.end();
  };
  if (!in_picklist("prs_Gender", get("gender"))) errors.push_back(c.T("invalid.choice", {Esc(Text(c.lang, "field.gender"))}));
  if (!in_picklist("vic_TraffickingStatus", get("trafficking_status"))) {
    errors.push_back(c.T("invalid.choice", {Esc(Text(c.lang, "field.trafficking_status"))}));
  }
  if (!in_picklist("cas_Status", get("case_status"))) {
    errors.push_back(c.T("invalid.choice", {Esc(Text(c.lang, "field.case_status"))}));
  }
  for (const std::string& t : f.exploitation_types) {
    if (!in_picklist("vic_TypeOfExploitation", t) || t.empty()) {
      errors.push_back(c.T("invalid.choice", {Esc(Text(c.lang, "field.type_of_exploitation"))}));
      break;
    }
  }
  std::optional<uint8_t> service;
  if (!get("need_service").empty()) {
    service = ServiceCategoryFromName(get("need_service"));
    if (!service) errors.push_back(c.T("invalid.choice", {Esc(Text(c.lang, "field.need"))}));
  }
  if (!errors.empty()) return errors;

  v1::Person* p = out.mutable_person();
  p->set_first_name(get("first_name"));
  p->set_second_name(get("second_name"));
  p->set_birthdate(get("birthdate"));
  p->set_gender(get("gender"));
  if (!get("citizenship").empty()) p->add_citizenship(get("citizenship"));
  p->set_primary_language(get("primary_language"));
  p->set_mobile_phone(get("mobile_phone"));
  p->set_email(get("email"));
  if (!get("trafficking_status").empty() || !f.exploitation_types.empty()) {
    v1::Exploitation* e = out.mutable_exploitation();
    e->set_trafficking_status(get("trafficking_status"));
    for (const std::string& t : f.exploitation_types) e->add_type_of_exploitation(t);
  }
  if (service) {
    v1::Need* n = out.add_needs();
    n->set_service(static_cast<v1::ServiceCategory>(*service));
    n->set_details(get("need_details"));
    n->set_urgent(!get("need_urgent").empty());
  }
  out.set_case_status(get("case_status"));
  if (!get("comment").empty()) out.add_comments(get("comment"));
  // libtrygg's own check of every field, the one the CLI and partner apps
  // run: the form's checks above say the same in the caseworker's language.
  if (absl::Status checked = CheckCaseRecordFields(out); !checked.ok()) {
    errors.push_back(Esc(std::string(checked.message())));
  }
  return errors;
}

std::string CaseFormHtml(const Ctx& c, const std::string& action, const CaseForm& f, const std::string& case_id,
                         const std::vector<std::string>& errors) {
  std::string h;
  if (!errors.empty()) {
    h += "<div class=\"error\" role=\"alert\"><p>" + c.T("form.fix") + "</p><ul>";
    for (const std::string& e : errors) h += "<li>" + e + "</li>";
    h += "</ul></div>";
  }
  auto t = [&f](const char* k) { return f.text.count(k) ? f.text.at(k) : std::string(); };
  h += "<form method=\"post\" action=\"" + action + "\" novalidate>" + c.Csrf();
  if (!case_id.empty()) h += "<input type=\"hidden\" name=\"id\" value=\"" + Esc(case_id) + "\">";
  if (case_id.empty()) {
    // The caseworker's own name for the case: kept on this device only.
    h += TextInput(c, "alias", "alias.label", t("alias"), "text", "alias.hint");
  }
  h += "<fieldset><legend>" + c.T("section.person") + "</legend>";
  h += TextInput(c, "first_name", "field.first_name", t("first_name"), "text", "", true);
  h += TextInput(c, "second_name", "field.second_name", t("second_name"));
  h += TextInput(c, "birthdate", "field.birthdate", t("birthdate"), "text", "hint.date");
  h += PicklistSelect(c, "gender", "prs_Gender", "field.gender", t("gender"));
  h += TextInput(c, "citizenship", "field.citizenship", t("citizenship"), "text", "hint.country");
  h += TextInput(c, "primary_language", "field.primary_language", t("primary_language"), "text", "hint.language");
  h += TextInput(c, "mobile_phone", "field.mobile_phone", t("mobile_phone"), "tel", "hint.phone");
  h += TextInput(c, "email", "field.email", t("email"), "email");
  h += "</fieldset><fieldset><legend>" + c.T("section.exploitation") + "</legend>";
  h += PicklistSelect(c, "trafficking_status", "vic_TraffickingStatus", "field.trafficking_status",
                      t("trafficking_status"));
  h += PicklistChecks(c, "type_of_exploitation", "vic_TypeOfExploitation", "field.type_of_exploitation",
                      f.exploitation_types);
  h += "</fieldset><fieldset><legend>" + c.T("section.needs") + "</legend>";
  h += EnumSelect(c, "need_service", "field.need", "service", NamedEnum::kServiceCategory, t("need_service"), true);
  h += TextArea(c, "need_details", "field.need_details", t("need_details"));
  h += "<p><label class=\"check\" for=\"need_urgent\"><input type=\"checkbox\" id=\"need_urgent\" name=\"need_urgent\" "
       "value=\"1\"" +
       std::string(t("need_urgent").empty() ? "" : " checked") + "> " + c.T("field.urgent") + "</label></p>";
  h += "</fieldset>";
  h += PicklistSelect(c, "case_status", "cas_Status", "field.case_status", t("case_status").empty() && case_id.empty()
                                                                              ? "Active"
                                                                              : t("case_status"));
  h += TextArea(c, "comment", "field.comment", t("comment"));
  h += "<p><button type=\"submit\" id=\"save\">" + c.T("form.seal") + "</button></p></form>";
  return h;
}

// ---- Routes ------------------------------------------------------------------

class Pages {
 public:
  Pages(HttpGuard& guard, Vault& vault, Language default_language)
      : guard_(guard), vault_(vault), default_language_(default_language) {}

  void Register(httplib::Server& s);

 private:
  using Handler = std::function<void(const Ctx&, const httplib::Request&, httplib::Response&)>;

  Ctx ContextOf(const httplib::Request& req) const {
    Ctx c{default_language_, &guard_};
    const std::string cookie = req.get_header_value("Cookie");
    if (cookie.find("trygg_lang=en") != std::string::npos) c.lang = Language::kEnglish;
    if (cookie.find("trygg_lang=sv") != std::string::npos) c.lang = Language::kSwedish;
    return c;
  }
  void Get(httplib::Server& s, const char* path, Handler h, bool needs_unlock = true);
  void Post(httplib::Server& s, const char* path, Handler h, bool needs_unlock = true);
  void Send(const Ctx& c, const httplib::Request& req, httplib::Response& res, std::string_view title_key,
            const std::string& body, bool live = false, int status = 200) const {
    res.status = status;
    res.set_content(Page(c, title_key, body, req.path, vault_.unlocked(), live), "text/html; charset=utf-8");
  }
  void Fail(const Ctx& c, const httplib::Request& req, httplib::Response& res, const absl::Status& status) const {
    Send(c, req, res, "error.title", ErrorBox(c, status), false, HttpStatusOf(status));
  }
  // The caseworker's use holds off the idle lock: a POST, or a page the
  // browser navigates to. app.js's background refreshes (fetch, so
  // Sec-Fetch-Mode "cors", and its X-Requested-With marker) and images do
  // not; a browser that sends no Sec-Fetch-Mode counts by the marker alone.
  static Vault::Activity ActivityOf(const httplib::Request& req) {
    if (req.method == "POST") return Vault::Activity::kUse;
    if (req.has_header("X-Requested-With")) return Vault::Activity::kBackground;
    const std::string mode = req.get_header_value("Sec-Fetch-Mode");
    return mode.empty() || mode == "navigate" ? Vault::Activity::kUse : Vault::Activity::kBackground;
  }
  // Vault::With's answer when the app is locked.
  static bool Locked(const absl::Status& status) {
    return absl::IsFailedPrecondition(status) && status.message() == "locked";
  }
  // Runs `fn` on the open device; a failure becomes the error page.
  bool Run(const Ctx& c, const httplib::Request& req, httplib::Response& res,
           const std::function<absl::Status(OpenDevice&)>& fn) {
    absl::Status status = vault_.With(fn, ActivityOf(req));
    if (status.ok()) return true;
    if (Locked(status)) {
      res.set_redirect("/unlock");
      return false;
    }
    Fail(c, req, res, status);
    return false;
  }

  void Overview(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void Box(const Ctx& c, const httplib::Request& req, httplib::Response& res, bool inbox);
  void Cases(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void CaseView(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void Directory(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void ReferForm(const Ctx& c, const httplib::Request& req, httplib::Response& res, bool preview);
  void ReferralPage(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void Move(const Ctx& c, const httplib::Request& req, httplib::Response& res, ReferralStatus to);
  void Device(const Ctx& c, const httplib::Request& req, httplib::Response& res);
  void DeviceQr(const Ctx& c, const httplib::Request& req, httplib::Response& res);

  void UnlockPage(const Ctx& c, const httplib::Request& req, httplib::Response& res, const std::string& error_html,
                  int status) const;
  void EnrolPage(const Ctx& c, const httplib::Request& req, httplib::Response& res, const std::string& error_html,
                 int status);
  void RegisterEnrolment(httplib::Server& s);
  // The request this app submitted, shown until the device is activated:
  // public values only (the enrolment id and the key's safety number).
  // Pages that POSTs rendered, each kept until the browser fetches it once
  // (ShowAfterPost).
  struct ShownPage {
    int status = 200;
    std::string content_type;
    std::string body;
    std::string retry_after;
    std::chrono::steady_clock::time_point made;
    // Made while unlocked: it may show decrypted records, so a lock since
    // then withdraws it.
    bool unlocked = false;
  };
  void ShowAfterPost(const httplib::Request& req, httplib::Response& res);
  // A passphrase attempt (unlock, enrolment, activation, revocation) asks
  // the unlock throttle first: nullopt when it may run now (then End the
  // throttle after it), otherwise the seconds to wait, also set as the
  // answer's Retry-After.
  std::optional<std::string> ThrottleWait(httplib::Response& res);
  void ServeShown(const httplib::Request& req, httplib::Response& res);
  std::mutex shown_mutex_;
  std::map<std::string, ShownPage> shown_;

  std::mutex enrol_mutex_;
  std::string enrol_id_;
  std::string enrol_safety_;

  HttpGuard& guard_;
  Vault& vault_;
  const Language default_language_;
  UnlockThrottle throttle_;
};

// Wipes a copy of a secret the request carried (the passphrase).
void Wipe(std::string& secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

// Wipes what httplib kept of a form with a passphrase: its parsed
// passphrase fields and the body they came from (the socket buffers it read
// through are not ours to wipe; the caller wipes its own copies).
void WipePassphraseForm(const httplib::Request& req) {
  auto& mutable_req = const_cast<httplib::Request&>(req);
  for (auto& [name, value] : mutable_req.params) {
    if (name == "passphrase" || name == "passphrase2") Wipe(value);
  }
  Wipe(mutable_req.body);
}

// The number of UTF-8 code points in `s` (continuation bytes not counted):
// a passphrase's minimum length is in characters, as the page says.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// Wipes what httplib kept of an upload once it is sealed: the body and the
// multipart parts (the plaintext of the file).
void WipeRequest(const httplib::Request& req) {
  auto& mutable_req = const_cast<httplib::Request&>(req);
  Wipe(mutable_req.body);
  for (auto& [name, part] : mutable_req.files) Wipe(part.content);
}

// An istream over a string the request already holds.
class MemoryBuf : public std::streambuf {
 public:
  explicit MemoryBuf(const std::string& bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
};

std::string ReferralRows(const Ctx& c, const std::vector<ReferralSummary>& rows, bool inbox,
                         const AliasIndex& aliases) {
  if (rows.empty()) return "<p>" + c.T("box.empty") + "</p>";
  std::string h = "<table><thead><tr><th scope=\"col\">" + c.T("col.alias") + "</th><th scope=\"col\">" +
                  c.T("col.state") + "</th><th scope=\"col\">" +
                  c.T("col.service") + "</th><th scope=\"col\">" + c.T("col.urgency") + "</th><th scope=\"col\">" +
                  c.T(inbox ? "col.from" : "col.to") + "</th><th scope=\"col\">" + c.T("col.answer_by") +
                  "</th><th scope=\"col\">" + c.T("col.open") + "</th></tr></thead><tbody>";
  for (const ReferralSummary& r : rows) {
    const std::string id = r.record.referral_id.ToHex();
    h += "<tr data-referral=\"" + id + "\"><td class=\"alias\">" + Esc(aliases.Get(r.record.case_id)) +
         "</td><td class=\"state state-" + std::string(ReferralStatusName(static_cast<uint8_t>(r.state))) +
         "\">" + EnumLabel(c, "state", NamedEnum::kReferralState, static_cast<uint8_t>(r.state)) + "</td><td>" +
         EnumLabel(c, "service", NamedEnum::kServiceCategory, r.record.service) + "</td><td>" +
         EnumLabel(c, "urgency", NamedEnum::kUrgency, static_cast<uint8_t>(r.record.urgency)) + "</td><td>" +
         Esc(inbox ? r.from_org_name : r.to_org_name) + "</td><td>" + Esc(FormatStockholm(r.answer_by_ms)) +
         "</td><td><a href=\"/referral?id=" + id + "\">" + c.T("col.open") + "</a></td></tr>";
  }
  return h + "</tbody></table>";
}

absl::StatusOr<std::vector<ReferralSummary>> AllReferrals(OpenDevice& d, bool inbox) {
  std::vector<ReferralSummary> out;
  ReferralQuery q;
  q.page_size = 100;
  for (int pages = 0; pages < 20; ++pages) {
    TRYGG_ASSIGN_OR_RETURN(ReferralPage page, inbox ? d.referrals->Inbox(q) : d.referrals->Outbox(q));
    out.insert(out.end(), page.referrals.begin(), page.referrals.end());
    if (page.next_page_token.empty()) break;
    q.page_token = page.next_page_token;
  }
  std::sort(out.begin(), out.end(), [](const ReferralSummary& a, const ReferralSummary& b) {
    return a.updated_at_ms > b.updated_at_ms;
  });
  return out;
}

// The overview's account of the app's checks of the server's audit log
// (Vault::audit_status) and its button. A log that does not agree with what
// the device saw or did, or a server that stopped presenting the certificate
// its logs were checked under, is an alert that stays until a check passes:
// the caseworker must not take it for a passing error, and a server must not
// be able to clear it by failing the next check some other way.
std::string AuditSection(const Ctx& c, const AuditStatus& st) {
  // data-checks: checks finished (a page can tell a new result from the
  // last); data-proven: this device's writes proven since unlock.
  std::string h = "<section id=\"audit\" class=\"audit\" data-checks=\"" + std::to_string(st.checks) +
                  "\" data-proven=\"" + std::to_string(st.proven_since_unlock) + "\"><h2>" + c.T("audit.title") +
                  "</h2>";
  // The words of the error as libtrygg or the server gave them (in English):
  // said to be theirs, so that a server's cannot pass for the app's.
  const auto detail = [&c](const absl::Status& status) {
    return "<p class=\"audit-detail\">" + c.T("audit.detail") + " <span lang=\"en\">" +
           Esc(std::string(status.message())) + "</span></p>";
  };
  if (!st.alarm.ok()) {
    h += "<div class=\"error audit-fault\" role=\"alert\"><p>" +
         c.T(absl::IsDataLoss(st.alarm) ? "audit.fault" : "audit.refused") + "</p><p>" +
         c.T("audit.alarm_since", {Esc(FormatStockholm(st.alarm_at_ms))}) + "</p>" + detail(st.alarm) + "</div>";
  }
  if (!st.checked) {
    h += "<p class=\"audit-checking\">" + c.T("audit.checking") + "</p>";
  } else if (st.last.ok()) {
    const std::string size = "<span class=\"audit-size\">" + std::to_string(st.report.head.tree_size) + "</span>";
    h += "<p class=\"audit-ok\">" + c.T("audit.ok", {Esc(FormatStockholm(st.last_at_ms))}) + "</p>";
    if (st.report.writes_verified == 0) {
      h += "<p class=\"audit-nothing-new\">" + c.T("audit.nothing_new", {size}) + "</p>";
    } else {
      h += "<p>" +
           c.T("audit.counts",
               {"<span class=\"audit-proven\">" + std::to_string(st.report.writes_verified) + "</span>", size}) +
           "</p>";
    }
  } else if (st.last != st.alarm) {
    // A failure of its own (an alarm that stands says what it found before).
    if (absl::IsFailedPrecondition(st.last)) {
      h += "<p class=\"audit-unchecked\">" + c.T("audit.uncertified") + "</p>";
    } else {
      h += "<p class=\"audit-unchecked\">" + c.T("audit.unchecked") + "</p>" + detail(st.last);
    }
    if (st.overdue) {
      h += "<div class=\"error audit-overdue\" role=\"alert\"><p>" +
           c.T("audit.overdue", {Esc(FormatStockholm(st.since_ms))}) + "</p></div>";
    }
  }
  if (st.pending > 0) h += "<p class=\"audit-pending\">" + c.T("audit.pending", {std::to_string(st.pending)}) + "</p>";
  h += "<form method=\"post\" action=\"/audit/check\">" + c.Csrf() + "<button type=\"submit\">" +
       c.T("audit.check_now") + "</button></form></section>";
  return h;
}

void Pages::Overview(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  // A check running or due (at unlock, after a write) is waited for briefly,
  // outside the lock every page and the lock button take, so the page shows
  // its result rather than "being checked".
  vault_.AwaitAudit(std::chrono::seconds(5));
  std::string body;
  size_t pending = 0;
  const absl::Status counted = vault_.With(
      [&](OpenDevice& d) -> absl::Status {
        pending = d.client->pending_audit_writes();  // now, not at the last check
        body = "<p>" + c.T("overview.signed_in", {Esc(d.org_name)}) + "</p>";
        const int64_t now = d.clock.NowUnixMillis();
        for (bool inbox : {true, false}) {
          TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralSummary> rows, AllReferrals(d, inbox));
          int fresh = 0, overdue = 0, accepted = 0;
          for (const ReferralSummary& r : rows) {
            if (r.state == ReferralStatus::kSent) ++fresh;
            if (r.state == ReferralStatus::kSent && r.answer_by_ms > 0 && r.answer_by_ms < now) ++overdue;
            if (r.state == ReferralStatus::kAccepted) ++accepted;
          }
          const std::string which = inbox ? "inbox" : "outbox";
          body += "<section class=\"counts\" id=\"counts-" + which + "\"><h2><a href=\"/" + which + "\">" +
                  c.T("nav." + which) + "</a></h2><dl><dt>" + c.T("count.new") + "</dt><dd class=\"count-new\">" +
                  std::to_string(fresh) + "</dd><dt>" + c.T("count.overdue") + "</dt><dd class=\"count-overdue\">" +
                  std::to_string(overdue) + "</dd><dt>" + c.T("count.accepted") + "</dt><dd class=\"count-accepted\">" +
                  std::to_string(accepted) + "</dd></dl></section>";
        }
        return absl::OkStatus();
      },
      ActivityOf(req));
  if (Locked(counted)) return res.set_redirect("/unlock");
  // The audit section even when the lists fail: a server that rolled back a
  // referral's history fails them, and its log's check says why.
  AuditStatus audit_status = vault_.audit_status();  // after the lists, which may have taken a while
  if (counted.ok()) audit_status.pending = pending;
  const std::string audit = AuditSection(c, audit_status);
  if (!counted.ok()) {
    Send(c, req, res, "error.title", ErrorBox(c, counted) + audit, false, HttpStatusOf(counted));
    return;
  }
  Send(c, req, res, "overview.title", body + audit, true);
}

void Pages::Box(const Ctx& c, const httplib::Request& req, httplib::Response& res, bool inbox) {
  std::string body;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralSummary> rows, AllReferrals(d, inbox));
        body = ReferralRows(c, rows, inbox, *d.aliases);
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, inbox ? "nav.inbox" : "nav.outbox", body, true);
}

absl::StatusOr<v1::CaseRecord> LatestRecord(const CaseRead& read) {
  for (const CaseVersion& v : read.versions) {
    if (v.header.content_type == kContentCaseRecord) return LatestCaseRecord(read);
  }
  return absl::NotFoundError("the case has no case record");
}

// The search is a POST, and its field is not remembered: a name or alias
// searched for must not end up in the browser's history or its saved form
// entries, on disk and outside the app's locking (docs/threat-model.md).
void Pages::Cases(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  const std::string query = req.method == "POST" ? Param(req, "q") : std::string();
  std::string body = "<form method=\"post\" action=\"/cases\" role=\"search\">" + c.Csrf() +
                     "<p><label for=\"q\">" + c.T("cases.find") +
                     "</label><input type=\"search\" id=\"q\" name=\"q\" autocomplete=\"off\" value=\"" +
                     Esc(query) + "\"> <button type=\"submit\">" + c.T("form.search") + "</button></p></form>";
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        if (!d.aliases_status.ok()) body += AliasErrorBox(c, d.aliases_status);
        TRYGG_ASSIGN_OR_RETURN(std::vector<CaseListing> cases, d.cases->ListCases());
        const std::string folded_query = FoldAliasForSearch(query);
        std::sort(cases.begin(), cases.end(),
                  [](const CaseListing& a, const CaseListing& b) { return a.updated_at_ms > b.updated_at_ms; });
        std::string rows;
        for (const CaseListing& listing : cases) {
          if (listing.owner_org != d.login.org_id) continue;
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(listing.case_id));
          absl::StatusOr<v1::CaseRecord> record = LatestRecord(read);
          const std::string name = record.ok() ? CaseName(*record) : "";
          const std::string alias = d.aliases->Get(listing.case_id);
          // By the caseworker's alias or the name in the record, either
          // case-insensitively (alias_index.h: Swedish letters included).
          if (!query.empty() && FoldAliasForSearch(alias).find(folded_query) == std::string::npos &&
              FoldAliasForSearch(name).find(folded_query) == std::string::npos) {
            continue;
          }
          rows += "<tr data-case=\"" + listing.case_id.ToHex() + "\"><td class=\"alias\">" + Esc(alias) +
                  "</td><td><a href=\"/case?id=" + listing.case_id.ToHex() + "\">" + Esc(name) + "</a></td><td>" +
                  std::to_string(listing.head_version) + "</td><td>" + Esc(FormatStockholm(listing.updated_at_ms)) +
                  "</td></tr>";
        }
        if (rows.empty()) {
          body += "<p>" + c.T("cases.none") + "</p>";
        } else {
          body += "<table id=\"case-list\"><thead><tr><th scope=\"col\">" + c.T("col.alias") +
                  "</th><th scope=\"col\">" + c.T("col.name") + "</th><th scope=\"col\">" +
                  c.T("col.versions") + "</th><th scope=\"col\">" + c.T("col.updated") + "</th></tr></thead><tbody>" +
                  rows + "</tbody></table>";
        }
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "nav.cases", body);
}

absl::StatusOr<Id128> IdParam(const httplib::Request& req, const char* name) {
  absl::StatusOr<Id128> id = Id128::FromHex(Param(req, name));
  if (!id.ok()) return absl::InvalidArgumentError(std::string(name) + " must be a 32-digit hex id");
  return id;
}

std::string OrgNameOf(OpenDevice& d, const Id128& org_id, std::map<Id128, std::string>& cache) {
  auto it = cache.find(org_id);
  if (it != cache.end()) return it->second;
  absl::StatusOr<OrgLogState> log = d.client->FetchOrgLog(org_id);
  std::string name = log.ok() ? log->name() : org_id.ToHex().substr(0, 8);
  cache[org_id] = name;
  return name;
}

std::string ServicesList(const Ctx& c, uint16_t services) {
  std::string out;
  for (uint8_t s = 1; s <= kMaxServiceCategory; ++s) {
    if (!(services & ServiceBit(s))) continue;
    if (!out.empty()) out += ", ";
    out += EnumLabel(c, "service", NamedEnum::kServiceCategory, s);
  }
  return out;
}

void Pages::CaseView(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  std::string body;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "id"));
        TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
        TRYGG_ASSIGN_OR_RETURN(v1::CaseRecord record, LatestRecord(read));
        const std::string id = case_id.ToHex();
        std::map<Id128, std::string> names;
        const std::string alias = d.aliases->Get(case_id);
        body += "<h2 id=\"case-name\">" + Esc(CaseName(record)) + "</h2>";
        body += "<section id=\"alias-section\"><h3>" + c.T("alias.title") + "</h3>";
        if (!d.aliases_status.ok()) body += AliasErrorBox(c, d.aliases_status);
        body += "<p id=\"case-alias\">" + (alias.empty() ? c.T("alias.none") : Esc(alias)) + "</p>";
        body += "<form method=\"post\" action=\"/case/alias\">" + c.Csrf() +
                "<input type=\"hidden\" name=\"id\" value=\"" + id + "\">" +
                TextInput(c, "alias", "alias.label", alias, "text", "alias.hint") +
                "<p><button type=\"submit\" id=\"alias-save\">" + c.T("alias.save") + "</button></p></form></section>";
        body += RenderRecord(c, record);
        body += "<p><a href=\"/case/edit?id=" + id + "\">" + c.T("case.edit") + "</a> · <a href=\"/directory?case=" +
                id + "\">" + c.T("case.refer") + "</a></p>";
        body += "<section><h2>" + c.T("case.versions") + "</h2><ol>";
        for (const CaseVersion& v : read.versions) {
          body += "<li>" + c.T("case.version_by", {std::to_string(v.header.version),
                                                   Esc(FormatStockholm(v.header.created_at_ms)),
                                                   Esc(OrgNameOf(d, v.header.author_org, names)),
                                                   v.header.author_device.ToHex().substr(0, 8)}) +
                  "</li>";
        }
        body += "</ol></section>";
        body += "<section id=\"attachments\"><h2>" + c.T("attach.title") + "</h2><ul>";
        for (const CaseVersion& v : read.versions) {
          for (size_t i = 0; i < v.attachment_hashes.size(); ++i) {
            body += "<li><a class=\"attachment\" href=\"/case/attachment?id=" + id +
                    "&amp;version=" + std::to_string(v.header.version) + "&amp;index=" + std::to_string(i) + "\">" +
                    c.T("attach.item", {std::to_string(i + 1), std::to_string(v.header.version)}) + "</a></li>";
          }
        }
        // app.js refuses a file over the limit before uploading it (the
        // server refuses it from its length either way).
        body += "</ul><form method=\"post\" action=\"/case/attach\" enctype=\"multipart/form-data\" id=\"attach-form\" "
                "data-max-bytes=\"" + std::to_string(kMaxUploadBytes) + "\" data-too-large=\"" +
                c.T("attach.too_large", {std::to_string(kMaxUploadBytes >> 20)}) + "\">" +
                c.Csrf() + "<input type=\"hidden\" name=\"id\" value=\"" + id + "\"><p><label for=\"file\">" +
                c.T("attach.file") + "</label><input type=\"file\" id=\"file\" name=\"file\" required></p>" +
                "<p><progress id=\"upload-progress\" max=\"100\" value=\"0\" hidden></progress></p>" +
                "<p><button type=\"submit\" id=\"attach\">" + c.T("attach.upload") + "</button></p></form></section>";
        TRYGG_ASSIGN_OR_RETURN(std::vector<ConsentView> consents, d.referrals->ListConsents(case_id));
        body += "<section id=\"consents\"><h2>" + c.T("consent.title") + "</h2>";
        const int64_t now = d.clock.NowUnixMillis();
        if (consents.empty()) body += "<p>" + c.T("consent.none") + "</p>";
        body += "<ul>";
        for (const ConsentView& v : consents) {
          const std::string state = v.withdrawn_at_ms ? c.T("consent.withdrawn", {Esc(FormatStockholm(*v.withdrawn_at_ms))})
                                    : v.record.expires_at_ms <= now ? c.T("consent.expired")
                                                                    : c.T("consent.active");
          body += "<li class=\"consent\">" +
                  c.T("consent.line", {ServicesList(c, v.record.services),
                                       // The last day it holds: the day before the instant it ends.
                                       Esc(FormatStockholm(v.record.expires_at_ms - 1, "%Y-%m-%d")), state,
                                       Esc(std::string(v.evidence.begin(), v.evidence.end())),
                                       Esc(FormatStockholm(v.record.expires_at_ms))});
          if (!v.withdrawn_at_ms && v.record.expires_at_ms > now) {
            body += " <form method=\"post\" action=\"/consent/withdraw\" class=\"inline\">" + c.Csrf() +
                    "<input type=\"hidden\" name=\"case\" value=\"" + id +
                    "\"><input type=\"hidden\" name=\"consent\" value=\"" + v.record.consent_id.ToHex() +
                    "\"><button type=\"submit\" class=\"withdraw\">" + c.T("consent.withdraw") + "</button></form>";
          }
          body += "</li>";
        }
        body += "</ul><form method=\"post\" action=\"/consent\" id=\"consent-form\">" + c.Csrf() +
                "<input type=\"hidden\" name=\"case\" value=\"" + id + "\"><fieldset><legend>" +
                c.T("consent.services") + "</legend>";
        for (uint8_t s = 1; s <= kMaxServiceCategory; ++s) {
          const std::string n(ServiceCategoryName(s));
          body += "<label class=\"check\" for=\"consent-" + n + "\"><input type=\"checkbox\" id=\"consent-" + n +
                  "\" name=\"service\" value=\"" + n + "\"> " + c.T("service." + n) + "</label>";
        }
        body += "</fieldset>";
        body += EnumSelect(c, "purpose", "consent.purpose", "purpose", NamedEnum::kConsentPurpose,
                           "referral-for-services", false);
        body += TextInput(c, "expires", "consent.expires", "", "date", "hint.expires", true);
        body += TextArea(c, "evidence", "consent.evidence", "", true);
        body += "<p><button type=\"submit\" id=\"record-consent\">" + c.T("consent.record") + "</button></p></form>";
        body += "</section>";
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "case.title", body);
}

void Pages::Directory(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  const std::string case_id = Param(req, "case");
  std::string body = "<form method=\"get\" action=\"/directory\" role=\"search\">";
  if (!case_id.empty()) body += "<input type=\"hidden\" name=\"case\" value=\"" + Esc(case_id) + "\">";
  body += EnumSelect(c, "service", "dir.service", "service", NamedEnum::kServiceCategory, Param(req, "service"), true);
  body += TextInput(c, "region", "dir.region", Param(req, "region"), "text", "hint.region");
  body += TextInput(c, "language", "dir.language", Param(req, "language"), "text", "hint.language");
  body += EnumSelect(c, "target", "dir.target", "target", NamedEnum::kTargetGroup, Param(req, "target"), true);
  body += "<p><label class=\"check\" for=\"open\"><input type=\"checkbox\" id=\"open\" name=\"open\" value=\"1\"" +
          std::string(Param(req, "open").empty() ? "" : " checked") + "> " + c.T("dir.open") + "</label></p>";
  body += "<p><button type=\"submit\" id=\"search\">" + c.T("form.search") + "</button></p></form>";
  if (!req.has_param("service")) {
    Send(c, req, res, "nav.directory", body);
    return;
  }
  ListingQuery q;
  if (!Param(req, "service").empty()) {
    std::optional<uint8_t> s = ServiceCategoryFromName(Param(req, "service"));
    if (!s) return Fail(c, req, res, absl::InvalidArgumentError("unknown service"));
    q.category = *s;
  }
  if (!Param(req, "target").empty()) {
    std::optional<uint8_t> t = TargetGroupFromName(Param(req, "target"));
    if (!t) return Fail(c, req, res, absl::InvalidArgumentError("unknown target group"));
    q.target_group = *t;
  }
  q.region = Param(req, "region");
  q.language = Param(req, "language");
  q.open_capacity_only = !Param(req, "open").empty();
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(ListingResults results, d.directory->Search(q));
        std::map<Id128, std::string> names;
        body += "<section id=\"results\"><h2>" + c.T("dir.results", {std::to_string(results.listings.size())}) + "</h2>";
        if (results.rejected > 0) body += "<p class=\"error\">" + c.T("dir.rejected", {std::to_string(results.rejected)}) + "</p>";
        for (const VerifiedListing& v : results.listings) {
          const Listing& l = v.listing;
          std::string regions, languages;
          for (const std::string& r : l.regions) regions += (regions.empty() ? "" : ", ") + r;
          for (const std::string& r : l.languages) languages += (languages.empty() ? "" : ", ") + r;
          body += "<article class=\"listing\"><h3>" + Esc(OrgNameOf(d, l.org_id, names)) + "</h3><dl>" +
                  Row(c, "dir.service", EnumLabel(c, "service", NamedEnum::kServiceCategory, l.category)) +
                  Row(c, "dir.region", Esc(regions)) + Row(c, "dir.language", Esc(languages)) +
                  Row(c, "dir.capacity", v.capacity_free < 0 ? c.T("dir.not_counted") : std::to_string(v.capacity_free)) +
                  Row(c, "dir.contact_hours", Esc(l.contact_hours)) + Row(c, "dir.description", Esc(l.description)) +
                  "</dl>";
          if (!case_id.empty()) {
            body += "<p><a class=\"button\" href=\"/refer?case=" + UrlEncode(case_id) + "&amp;listing=" +
                    l.listing_id.ToHex() + "\">" + c.T("dir.refer_here") + "</a></p>";
          }
          body += "</article>";
        }
        body += "</section>";
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "nav.directory", body);
}

// The referral form (preview false) or its preview (true): the packet built
// exactly as Refer will seal it, rendered as the receiver will see it.
void Pages::ReferForm(const Ctx& c, const httplib::Request& req, httplib::Response& res, bool preview) {
  std::string body;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "case"));
        TRYGG_ASSIGN_OR_RETURN(Id128 listing_id, IdParam(req, "listing"));
        TRYGG_ASSIGN_OR_RETURN(VerifiedListing listing, d.directory->Get(listing_id));
        TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
        TRYGG_ASSIGN_OR_RETURN(v1::CaseRecord record, LatestRecord(read));
        TRYGG_ASSIGN_OR_RETURN(std::vector<ConsentView> consents, d.referrals->ListConsents(case_id));
        std::map<Id128, std::string> names;
        const std::string to_name = OrgNameOf(d, listing.listing.org_id, names);
        body += "<p>" + c.T("refer.to", {Esc(to_name), EnumLabel(c, "service", NamedEnum::kServiceCategory,
                                                                 listing.listing.category),
                                         Esc(CaseName(record))}) +
                "</p>";
        const int64_t now = d.clock.NowUnixMillis();
        const std::vector<std::string> sections = ParamAll(req, "share");
        const std::string note = Param(req, "note");
        const std::string urgency = Param(req, "urgency").empty() ? "routine" : Param(req, "urgency");
        if (preview) {
          if (!UrgencyFromName(urgency)) return absl::InvalidArgumentError("unknown urgency");
          // The preview renders the very packet libtrygg will seal: sending
          // builds it again from the same fields with the same function.
          TRYGG_ASSIGN_OR_RETURN(v1::ReferralPacket packet, MakeReferralPacket(record, sections, note));
          body += "<section id=\"preview\" class=\"preview\"><h2>" + c.T("refer.preview") + "</h2>" +
                  RenderRecord(c, packet.shared()) + "<dl>" + Row(c, "refer.note", Esc(note)) +
                  Row(c, "refer.urgency", c.T("urgency." + urgency)) + "</dl></section>";
          // The version previewed: sending refuses if the case has moved on.
          body += "<form method=\"post\" action=\"/refer/send\">" + c.Csrf() +
                  "<input type=\"hidden\" name=\"head\" value=\"" +
                  std::to_string(read.versions.back().header.version) + "\">";
          for (const char* k : {"case", "listing", "note", "urgency", "consent"}) {
            body += "<input type=\"hidden\" name=\"" + std::string(k) + "\" value=\"" + Esc(Param(req, k)) + "\">";
          }
          for (const std::string& s : sections) {
            body += "<input type=\"hidden\" name=\"share\" value=\"" + Esc(s) + "\">";
          }
          body += "<p><button type=\"submit\" id=\"send\">" + c.T("refer.send") + "</button> <a href=\"/refer?case=" +
                  case_id.ToHex() + "&amp;listing=" + listing_id.ToHex() + "\">" + c.T("refer.change") +
                  "</a></p></form>";
          return absl::OkStatus();
        }
        body += "<form method=\"post\" action=\"/refer/preview\">" + c.Csrf() +
                "<input type=\"hidden\" name=\"case\" value=\"" + case_id.ToHex() +
                "\"><input type=\"hidden\" name=\"listing\" value=\"" + listing_id.ToHex() + "\">";
        body += "<p><label for=\"consent\">" + c.T("refer.consent") + "</label><select id=\"consent\" name=\"consent\">";
        int usable = 0;
        for (const ConsentView& v : consents) {
          if (v.withdrawn_at_ms || v.record.expires_at_ms <= now) continue;
          if (!(v.record.services & ServiceBit(listing.listing.category))) continue;
          ++usable;
          body += "<option value=\"" + v.record.consent_id.ToHex() + "\">" +
                  c.T("refer.consent_option", {ServicesList(c, v.record.services),
                                               Esc(FormatStockholm(v.record.expires_at_ms - 1, "%Y-%m-%d"))}) +
                  "</option>";
        }
        body += "</select></p>";
        if (usable == 0) {
          body = "<div class=\"error\" role=\"alert\"><p>" + c.T("refer.no_consent") + "</p><p><a href=\"/case?id=" +
                 case_id.ToHex() + "#consents\">" + c.T("refer.record_consent") + "</a></p></div>";
          return absl::OkStatus();
        }
        body += "<fieldset><legend>" + c.T("refer.sections") + "</legend>";
        for (const std::string& s : ReferralPacketSections()) {
          body += "<label class=\"check\" for=\"share-" + s + "\"><input type=\"checkbox\" id=\"share-" + s +
                  "\" name=\"share\" value=\"" + s + "\"> " + c.T("section." + s) + "</label>";
        }
        body += "</fieldset>" + TextArea(c, "note", "refer.note", "");
        body += EnumSelect(c, "urgency", "refer.urgency", "urgency", NamedEnum::kUrgency, "routine", false);
        body += "<p><button type=\"submit\" id=\"preview-button\">" + c.T("refer.show_preview") + "</button></p></form>";
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "refer.title", body);
}

void Pages::ReferralPage(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  std::string body;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(Id128 id, IdParam(req, "id"));
        TRYGG_ASSIGN_OR_RETURN(ReferralView v, d.referrals->Get(id));
        const std::string hex = id.ToHex();
        body += "<dl>" + Row(c, "col.state", "<span id=\"referral-state\">" +
                                                 EnumLabel(c, "state", NamedEnum::kReferralState,
                                                           static_cast<uint8_t>(v.state)) +
                                                 "</span>");
        if (v.state == ReferralStatus::kDeclined) {
          body += Row(c, "referral.reason", EnumLabel(c, "decline", NamedEnum::kDeclineReason, v.code));
        }
        if (v.state == ReferralStatus::kCompleted || v.state == ReferralStatus::kClosed) {
          body += Row(c, "referral.outcome", "<span id=\"referral-outcome\">" +
                                                 EnumLabel(c, "outcome", NamedEnum::kOutcome, v.code) + "</span>");
        }
        body += Row(c, "col.service", EnumLabel(c, "service", NamedEnum::kServiceCategory, v.record.service)) +
                Row(c, "col.urgency",
                    EnumLabel(c, "urgency", NamedEnum::kUrgency, static_cast<uint8_t>(v.record.urgency))) +
                Row(c, "col.from", Esc(v.from_org_name)) + Row(c, "col.to", Esc(v.to_org_name)) +
                Row(c, "referral.sent", Esc(FormatStockholm(v.record.created_at_ms))) +
                Row(c, "col.answer_by", Esc(FormatStockholm(v.answer_by_ms))) + "</dl>";
        if (v.packet) {
          // A packet that does not read (the sender's software, or another
          // organisation's, wrote it wrong) is shown as an error in its place;
          // the referral's state and the answer forms stay usable.
          absl::StatusOr<v1::ReferralPacket> packet = ReadReferralPacket(*v.packet);
          body += "<section id=\"packet\"><h2>" + c.T("referral.packet") + "</h2>";
          if (packet.ok()) {
            body += RenderRecord(c, packet->shared()) + "<dl>" + Row(c, "refer.note", Esc(packet->note())) + "</dl>";
          } else {
            body += "<div class=\"error\" role=\"alert\" id=\"packet-error\"><p>" + c.T("referral.packet_unreadable") +
                    "</p><p lang=\"en\">" + Esc(std::string(packet.status().message())) + "</p></div>";
          }
          body += "</section>";
        }
        auto action = [&](const char* path, const std::string& fields, const char* button_id, const char* key) {
          return "<form method=\"post\" action=\"" + std::string(path) + "\">" + c.Csrf() +
                 "<input type=\"hidden\" name=\"id\" value=\"" + hex + "\">" + fields +
                 "<p><button type=\"submit\" id=\"" + button_id + "\">" + c.T(key) + "</button></p></form>";
        };
        if (v.incoming && v.state == ReferralStatus::kSent) {
          body += "<section><h2>" + c.T("referral.answer") + "</h2>" +
                  action("/referral/accept", "", "accept", "referral.accept") +
                  action("/referral/decline",
                         EnumSelect(c, "reason", "referral.reason", "decline", NamedEnum::kDeclineReason, "", false),
                         "decline", "referral.decline") +
                  "</section>";
        }
        if (v.incoming && v.state == ReferralStatus::kAccepted) {
          body += "<section><h2>" + c.T("referral.finish") + "</h2>" +
                  action("/referral/complete",
                         EnumSelect(c, "outcome", "referral.outcome", "outcome", NamedEnum::kOutcome, "", false),
                         "complete", "referral.complete") +
                  "</section>";
        }
        body += "<section><h2>" + c.T("referral.history") + "</h2><ol>";
        for (const SignedTransitionView& t : v.transitions) {
          body += "<li>" + Esc(FormatStockholm(t.transition.at_ms)) + " " +
                  EnumLabel(c, "state", NamedEnum::kReferralState, static_cast<uint8_t>(t.transition.to_state)) +
                  "</li>";
        }
        body += "</ol></section>";
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "referral.title", body);
}

void Pages::Move(const Ctx& c, const httplib::Request& req, httplib::Response& res, ReferralStatus to) {
  std::string id_hex;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(Id128 id, IdParam(req, "id"));
        id_hex = id.ToHex();
        if (to == ReferralStatus::kAccepted) return d.referrals->Accept(id).status();
        if (to == ReferralStatus::kDeclined) {
          std::optional<uint8_t> reason = DeclineReasonFromName(Param(req, "reason"));
          if (!reason) return absl::InvalidArgumentError("choose a reason to decline");
          return d.referrals->Decline(id, static_cast<DeclineReason>(*reason)).status();
        }
        std::optional<uint8_t> outcome = OutcomeFromName(Param(req, "outcome"));
        if (!outcome) return absl::InvalidArgumentError("choose an outcome");
        return d.referrals->Complete(id, static_cast<ReferralOutcome>(*outcome)).status();
      })) {
    return;
  }
  res.set_redirect("/referral?id=" + id_hex, 303);
}

std::string SafetyNumberBlock(const Ctx& c, const std::string& number, const std::string& qr_query,
                              const std::string& id) {
  return "<p class=\"safety\" id=\"" + id + "\">" + Esc(number) + "</p><p><img class=\"qr\" src=\"/device/qr.svg" +
         qr_query + "\" alt=\"" + c.T("device.qr_alt") + "\" width=\"240\" height=\"240\"></p>";
}

// The admin types the number the new device shows (as `trygg enrol approve
// --fingerprint`): reading it off her own screen is not a comparison.
std::string ApproveForm(const Ctx& c, const std::string& enrolment_hex) {
  const std::string field = "fingerprint-" + enrolment_hex;
  return "<form method=\"post\" action=\"/device/approve\" class=\"approve\">" + c.Csrf() +
         "<input type=\"hidden\" name=\"enrolment\" value=\"" + enrolment_hex + "\"><p><label for=\"" + field +
         "\">" + c.T("device.type_number") + "</label><span class=\"hint\" id=\"" + field + "-hint\">" +
         c.T("device.type_number_hint") + "</span><input type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" id=\"" +
         field + "\" name=\"fingerprint\" aria-describedby=\"" + field + "-hint\" required></p><p><button type=\"submit\" "
         "id=\"approve-" + enrolment_hex + "\">" + c.T("device.approve") + "</button></p></form>";
}

// Revoking rewrites the key store (the organisation key rotates), so the
// admin confirms with the passphrase.
std::string RevokeForm(const Ctx& c, const std::string& device_hex) {
  const std::string field = "revoke-passphrase-" + device_hex;
  return "<form method=\"post\" action=\"/device/revoke\" class=\"revoke\">" + c.Csrf() +
         "<input type=\"hidden\" name=\"device\" value=\"" + device_hex + "\"><p><label for=\"" + field + "\">" +
         c.T("device.revoke_passphrase") + "</label><input type=\"password\" autocomplete=\"current-password\" id=\"" +
         field + "\" name=\"passphrase\" required></p><p><button type=\"submit\" id=\"revoke-" + device_hex + "\">" +
         c.T("device.revoke_button") + "</button></p></form>";
}

// What a refused device action means to the admin, in her language, then
// the library's reason.
std::string DeviceErrorBox(const Ctx& c, const absl::Status& status) {
  std::string key = "error.summary";
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated: key = "device.error.denied"; break;
    case absl::StatusCode::kInvalidArgument: key = "device.error.invalid"; break;
    case absl::StatusCode::kNotFound: key = "device.error.not_found"; break;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: key = "device.error.conflict"; break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: key = "device.error.unavailable"; break;
    default: break;
  }
  return "<div class=\"error\" role=\"alert\" id=\"device-error\"><p>" + c.T(key) + "</p><p lang=\"en\">" +
         Esc(std::string(status.message())) + "</p></div><p><a href=\"/device\">" + c.T("device.back") + "</a></p>";
}

// This device and, for an admin, the devices waiting to be approved: each
// with its safety number large and as a QR code, for the in-person check of
// the enrolment ceremony (docs/cli.md, `enrol approve --fingerprint`).
void Pages::Device(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  std::string body;
  const std::string done = Param(req, "done");
  if (done == "approved" || done == "revoked") {
    body += "<p class=\"done\" role=\"status\" id=\"device-done\">" + c.T("device.done_" + done) + "</p>";
  }
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        const std::string number = SafetyNumber(d.keys.device.signing().public_key);
        body += "<section><h2>" + c.T("device.this") + "</h2><dl>" +
                Row(c, "device.id", "<code>" + d.keys.device_id.ToHex() + "</code>") +
                Row(c, "device.org", Esc(d.org_name)) +
                Row(c, "device.role", EnumLabel(c, "role", NamedEnum::kRole, static_cast<uint8_t>(d.login.role))) +
                "</dl><h3>" + c.T("device.safety_number") + "</h3>" +
                SafetyNumberBlock(c, number, "", "safety-number") + "<p>" + c.T("device.compare") + "</p></section>";
        body += "<section><h2>" + c.T("device.root") + "</h2><p class=\"safety-small\" id=\"root-safety-number\">" +
                Esc(SafetyNumber(d.client->options().platform_root)) + "</p></section>";
        if (d.login.role == Role::kOrgAdmin) {
          TRYGG_ASSIGN_OR_RETURN(std::vector<PendingEnrolment> pending, d.client->ListEnrolments());
          body += "<section id=\"enrolments\"><h2>" + c.T("device.pending") + "</h2>";
          if (pending.empty()) body += "<p>" + c.T("device.none_pending") + "</p>";
          for (const PendingEnrolment& p : pending) {
            body += "<article class=\"enrolment\"><h3>" + Esc(p.request.label) + "</h3><dl>" +
                    Row(c, "device.id", "<code>" + p.request.device_id.ToHex() + "</code>") +
                    Row(c, "device.role", EnumLabel(c, "role", NamedEnum::kRole,
                                                    static_cast<uint8_t>(p.request.requested_role))) +
                    Row(c, "device.submitted", Esc(FormatStockholm(p.submitted_at_ms))) + "</dl>" +
                    SafetyNumberBlock(c, SafetyNumber(p.request.sign_key), "?enrolment=" + p.enrolment_id.ToHex(),
                                      "safety-" + p.enrolment_id.ToHex()) +
                    ApproveForm(c, p.enrolment_id.ToHex()) + "</article>";
          }
          body += "</section>";
          TRYGG_ASSIGN_OR_RETURN(OrgLogState log, d.client->FetchOrgLog(d.login.org_id));
          body += "<section id=\"devices\"><h2>" + c.T("device.members") + "</h2><table><thead><tr><th scope=\"col\">" +
                  c.T("device.id") + "</th><th scope=\"col\">" + c.T("device.role") + "</th><th scope=\"col\">" +
                  c.T("device.state") + "</th><th scope=\"col\">" + c.T("device.safety_number") +
                  "</th><th scope=\"col\">" + c.T("device.revoke") + "</th></tr></thead><tbody>";
          for (const auto& [id, record] : log.devices()) {
            const std::string hex = id.ToHex();
            const bool self = id == d.keys.device_id;
            body += "<tr data-device=\"" + hex + "\"><td><code>" + hex + "</code>" +
                    (self ? " " + c.T("device.self") : "") + "</td><td>" +
                    EnumLabel(c, "role", NamedEnum::kRole, static_cast<uint8_t>(record.role)) +
                    "</td><td class=\"device-state\">" +
                    (record.revoked ? c.T("device.revoked", {Esc(FormatStockholm(record.revoked_at_ms))})
                                    : c.T("device.active")) +
                    "</td><td class=\"safety-small\">" + Esc(SafetyNumber(record.sign_key)) + "</td><td>" +
                    (record.revoked || self ? "" : RevokeForm(c, hex)) + "</td></tr>";
          }
          body += "</tbody></table></section>";
        }
        return absl::OkStatus();
      })) {
    return;
  }
  Send(c, req, res, "nav.device", body);
}

void Pages::DeviceQr(const Ctx& c, const httplib::Request& req, httplib::Response& res) {
  std::string svg;
  if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
        std::string number;
        if (req.has_param("enrolment")) {
          TRYGG_ASSIGN_OR_RETURN(Id128 id, IdParam(req, "enrolment"));
          TRYGG_ASSIGN_OR_RETURN(std::vector<PendingEnrolment> pending, d.client->ListEnrolments());
          for (const PendingEnrolment& p : pending) {
            if (p.enrolment_id == id) number = SafetyNumber(p.request.sign_key);
          }
          if (number.empty()) return absl::NotFoundError("no such enrolment request");
        } else {
          number = SafetyNumber(d.keys.device.signing().public_key);
        }
        TRYGG_ASSIGN_OR_RETURN(svg, QrSvg(number));
        return absl::OkStatus();
      })) {
    return;
  }
  res.set_content(svg, "image/svg+xml");
}

void Pages::UnlockPage(const Ctx& c, const httplib::Request& req, httplib::Response& res,
                       const std::string& error_html, int status) const {
  std::string body;
  if (!error_html.empty()) body += "<div class=\"error\" role=\"alert\"><p>" + error_html + "</p></div>";
  body += "<form method=\"post\" action=\"/unlock\">" + c.Csrf() + "<p><label for=\"passphrase\">" +
          c.T("unlock.passphrase") +
          "</label><input type=\"password\" id=\"passphrase\" name=\"passphrase\" autocomplete=\"current-password\" "
          "required autofocus></p><p><button type=\"submit\" id=\"unlock\">" +
          c.T("unlock.button") + "</button></p></form>";
  if (error_html.empty()) body += "<p>" + c.T("unlock.explain") + "</p>";
  Send(c, req, res, "unlock.title", body, false, status);
}

// A new device, from the app: the key store and the request to join (step
// 1), the safety number large and as a QR code for the admin to compare in
// person, then activation once approved (step 2). docs/caseworker-guide.md.
void Pages::EnrolPage(const Ctx& c, const httplib::Request& req, httplib::Response& res, const std::string& error_html,
                      int status) {
  std::string body;
  if (!error_html.empty()) body += "<div class=\"error\" role=\"alert\" id=\"enrol-error\">" + error_html + "</div>";
  std::string id, number;
  {
    std::lock_guard<std::mutex> lock(enrol_mutex_);
    id = enrol_id_;
    number = enrol_safety_;
  }
  if (number.empty()) {
    body += "<p>" + c.T("enrol.explain") + "</p><form method=\"post\" action=\"/enrol\">" + c.Csrf();
    body += TextInput(c, "org", "enrol.org", Param(req, "org"), "text", "enrol.org_hint", true);
    body += TextInput(c, "label", "enrol.label", Param(req, "label"), "text", "enrol.label_hint", true);
    const std::string role = Param(req, "role");
    body += "<p><label for=\"role\">" + c.T("device.role") + "</label><select id=\"role\" name=\"role\">";
    for (const char* r : {"caseworker", "org-admin"}) {
      body += "<option value=\"" + std::string(r) + "\"" + (role == r ? " selected" : "") + ">" + c.T(std::string("role.") + r) +
              "</option>";
    }
    body += "</select></p>";
    body += "<p><label for=\"new-passphrase\">" + c.T("enrol.passphrase") + "</label><span class=\"hint\" "
            "id=\"new-passphrase-hint\">" + c.T("enrol.passphrase_hint") + "</span><input type=\"password\" "
            "id=\"new-passphrase\" name=\"passphrase\" autocomplete=\"new-password\" "
            "aria-describedby=\"new-passphrase-hint\" required></p>";
    body += "<p><label for=\"new-passphrase2\">" + c.T("enrol.passphrase2") + "</label><input type=\"password\" "
            "id=\"new-passphrase2\" name=\"passphrase2\" autocomplete=\"new-password\" required></p>";
    body += "<p><button type=\"submit\" id=\"enrol-request\">" + c.T("enrol.request") + "</button></p></form>";
  } else {
    body += "<p>" + c.T("enrol.show_admin") + "</p><p class=\"safety\" id=\"enrol-safety\">" + Esc(number) +
            "</p><p><img class=\"qr\" src=\"/enrol/qr.svg\" alt=\"" + c.T("device.qr_alt") +
            "\" width=\"240\" height=\"240\"></p><p>" + c.T("enrol.request_id", {"<code id=\"enrol-id\">" + id + "</code>"}) +
            "</p><h2>" + c.T("enrol.then") + "</h2><form method=\"post\" action=\"/enrol/activate\">" + c.Csrf() +
            "<p><label for=\"activate-passphrase\">" + c.T("unlock.passphrase") + "</label><input type=\"password\" "
            "id=\"activate-passphrase\" name=\"passphrase\" autocomplete=\"current-password\" required></p><p>"
            "<button type=\"submit\" id=\"activate\">" + c.T("enrol.activate") + "</button></p></form>";
  }
  Send(c, req, res, "enrol.title", body, false, status);
}

void Pages::RegisterEnrolment(httplib::Server& s) {
  Get(
      s, "/enrol",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
        if (vault_.unlocked()) return res.set_redirect("/device");
        EnrolPage(c, req, res, "", 200);
      },
      false);
  Get(
      s, "/enrol/qr.svg",
      [this](const Ctx&, const httplib::Request&, httplib::Response& res) {
        std::string number;
        {
          std::lock_guard<std::mutex> lock(enrol_mutex_);
          number = enrol_safety_;
        }
        absl::StatusOr<std::string> svg = number.empty() ? absl::NotFoundError("no request") : QrSvg(number);
        if (!svg.ok()) {
          res.status = 404;
          return;
        }
        res.set_content(*svg, "image/svg+xml");
      },
      false);
  Post(
      s, "/enrol",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
        if (vault_.unlocked()) return res.set_redirect("/device", 303);
        std::string passphrase = Param(req, "passphrase");
        std::string again = Param(req, "passphrase2");
        auto wipe_request = [&req, &passphrase, &again] {
          Wipe(passphrase);
          Wipe(again);
          WipePassphraseForm(req);
        };
        std::string error;
        absl::StatusOr<Id128> org = Id128::FromHex(std::string(absl::StripAsciiWhitespace(Param(req, "org"))));
        const std::string role_name = Param(req, "role");
        const std::string label(absl::StripAsciiWhitespace(Param(req, "label")));
        if (!org.ok()) {
          error = c.T("enrol.bad_org");
        } else if (role_name != "caseworker" && role_name != "org-admin") {
          error = c.T("enrol.bad_role");
        } else if (CodePoints(passphrase) < 12) {
          error = c.T("enrol.short_passphrase");
        } else if (sodium_memcmp(passphrase.data(), again.data(), std::min(passphrase.size(), again.size())) != 0 ||
                   passphrase.size() != again.size()) {
          error = c.T("enrol.mismatch");
        }
        if (!error.empty()) {
          wipe_request();
          return EnrolPage(c, req, res, "<p>" + error + "</p>", 400);
        }
        if (std::optional<std::string> wait = ThrottleWait(res)) {
          wipe_request();
          return EnrolPage(c, req, res, "<p>" + c.T("unlock.wait", {*wait}) + "</p>", 429);
        }
        absl::StatusOr<EnrolmentTicket> ticket = vault_.Enrol(
            passphrase, *org, role_name == "org-admin" ? Role::kOrgAdmin : Role::kCaseworker, label);
        wipe_request();
        // Only a key store that did not open is a guess; a refusal from the
        // server (PERMISSION_DENIED too) is not.
        const bool wrong = !ticket.ok() && GetCryptoError(ticket.status()) == CryptoError::kWrongPassphrase;
        throttle_.End(ticket.ok(), wrong, UnlockThrottle::Clock::now());
        if (!ticket.ok()) {
          return EnrolPage(c, req, res, wrong ? "<p>" + c.T("unlock.wrong") + "</p>" : ErrorBox(c, ticket.status()),
                           HttpStatusOf(ticket.status()));
        }
        {
          std::lock_guard<std::mutex> lock(enrol_mutex_);
          enrol_id_ = ticket->enrolment_id.ToHex();
          enrol_safety_ = ticket->safety_number;
        }
        res.set_redirect("/enrol", 303);
      },
      false);
  Post(
      s, "/enrol/activate",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
        if (vault_.unlocked()) return res.set_redirect("/device", 303);
        std::string passphrase = Param(req, "passphrase");
        auto wipe_request = [&req, &passphrase] {
          Wipe(passphrase);
          WipePassphraseForm(req);
        };
        if (std::optional<std::string> wait = ThrottleWait(res)) {
          wipe_request();
          return EnrolPage(c, req, res, "<p>" + c.T("unlock.wait", {*wait}) + "</p>", 429);
        }
        absl::StatusOr<int> added = vault_.Activate(passphrase);
        wipe_request();
        // Only a wrong passphrase counts towards the throttle: "not approved
        // yet" from the server is not a guess.
        const bool wrong = !added.ok() && GetCryptoError(added.status()) == CryptoError::kWrongPassphrase;
        throttle_.End(added.ok(), wrong, UnlockThrottle::Clock::now());
        if (!added.ok()) {
          std::string error;
          if (wrong) {
            error = "<p>" + c.T("unlock.wrong") + "</p>";
          } else if (absl::IsPermissionDenied(added.status()) || absl::IsUnauthenticated(added.status())) {
            error = "<p>" + c.T("enrol.not_approved") + "</p><p lang=\"en\">" + Esc(std::string(added.status().message())) +
                    "</p>";
          } else {
            error = ErrorBox(c, added.status());
          }
          return EnrolPage(c, req, res, error, HttpStatusOf(added.status()));
        }
        {
          std::lock_guard<std::mutex> lock(enrol_mutex_);
          enrol_id_.clear();
          enrol_safety_.clear();
        }
        res.set_redirect("/unlock", 303);
      },
      false);
}

void Pages::Get(httplib::Server& s, const char* path, Handler h, bool needs_unlock) {
  s.Get(path, [this, h, needs_unlock](const httplib::Request& req, httplib::Response& res) {
    const Ctx c = ContextOf(req);
    if (needs_unlock && !vault_.unlocked()) return res.set_redirect("/unlock");
    h(c, req, res);
  });
}

void Pages::Post(httplib::Server& s, const char* path, Handler h, bool needs_unlock) {
  s.Post(path, [this, h, needs_unlock](const httplib::Request& req, httplib::Response& res) {
    // A file upload carries its fields in the multipart body.
    const std::string csrf = req.is_multipart_form_data() ? req.get_file_value("csrf").content : Param(req, "csrf");
    RequestFacts facts{"POST", req.path, req.get_header_value("Host"), req.get_header_value("Origin"),
                       req.get_header_value("Cookie"), csrf};
    if (std::optional<Refusal> refusal = guard_.Check(facts)) {
      res.status = refusal->http_status;
      res.set_content(refusal->message + "\n", "text/plain; charset=utf-8");
      return;
    }
    const Ctx c = ContextOf(req);
    if (needs_unlock && !vault_.unlocked()) return res.set_redirect("/unlock", 303);
    h(c, req, res);
    ShowAfterPost(req, res);
  });
}

// A browser keeps the body of a POST that answered with a page in its
// session history, and writes it to disk (Chromium's Sessions/ files): a
// survivor's name from the case form, an alias, a search term, a decline
// reason, in the clear and beyond the app's locking. So a form the browser
// submitted (Sec-Fetch-Mode: navigate) never answers with a page: the page
// is kept here and the answer is 303 to /shown?t=<one-time token>, a GET
// whose history entry holds only the token. The page goes at its first
// fetch, or after a minute; at most 16 are kept. Callers that are not a
// browser's navigation (the suite's raw requests) get the page directly.
// Proven by the browser suite: nothing in the browser's profile holds an
// alias, a name or a search term (docs/threat-model.md).
void Pages::ShowAfterPost(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("Sec-Fetch-Mode") != "navigate" || res.has_header("Location")) return;
  ShownPage page;
  page.status = res.status > 0 ? res.status : 200;
  page.content_type = res.get_header_value("Content-Type");
  page.body = std::move(res.body);
  page.retry_after = res.get_header_value("Retry-After");
  page.made = std::chrono::steady_clock::now();
  page.unlocked = vault_.unlocked();
  std::array<uint8_t, 16> raw;
  randombytes_buf(raw.data(), raw.size());
  const std::string token = HexEncode(raw);
  {
    std::lock_guard<std::mutex> lock(shown_mutex_);
    for (auto it = shown_.begin(); it != shown_.end();) {
      if (page.made - it->second.made > std::chrono::minutes(1) || shown_.size() >= 16) {
        Wipe(it->second.body);
        it = shown_.erase(it);
      } else {
        ++it;
      }
    }
    shown_[token] = std::move(page);
  }
  res.body.clear();
  res.headers.erase("Content-Type");
  res.headers.erase("Retry-After");
  res.set_redirect("/shown?t=" + token, 303);
}

std::optional<std::string> Pages::ThrottleWait(httplib::Response& res) {
  const std::optional<std::chrono::milliseconds> wait = throttle_.Begin(UnlockThrottle::Clock::now());
  if (!wait.has_value()) return std::nullopt;
  std::string seconds = std::to_string((wait->count() + 999) / 1000);
  res.set_header("Retry-After", seconds);
  return seconds;
}

void Pages::ServeShown(const httplib::Request& req, httplib::Response& res) {
  ShownPage page;
  {
    std::lock_guard<std::mutex> lock(shown_mutex_);
    auto it = shown_.find(Param(req, "t"));
    if (it == shown_.end() || std::chrono::steady_clock::now() - it->second.made > std::chrono::minutes(1)) {
      // Fetched already (a reload), or too old: the page is gone.
      return res.set_redirect("/", 303);
    }
    page = std::move(it->second);
    shown_.erase(it);
  }
  if (page.unlocked && !vault_.unlocked()) {
    Wipe(page.body);
    return res.set_redirect("/unlock", 303);
  }
  res.status = page.status;
  if (!page.retry_after.empty()) res.set_header("Retry-After", page.retry_after);
  res.set_content(page.body, page.content_type.empty() ? "text/html; charset=utf-8" : page.content_type);
  Wipe(page.body);
}

void Pages::Register(httplib::Server& s) {
  s.set_default_headers({{"Content-Security-Policy", HttpGuard::ContentSecurityPolicy()},
                         {"X-Content-Type-Options", "nosniff"},
                         {"Referrer-Policy", "same-origin"},
                         {"X-Frame-Options", "DENY"},
                         {"Cache-Control", "no-store"},
                         {"Cross-Origin-Opener-Policy", "same-origin"},
                         {"Cross-Origin-Resource-Policy", "same-origin"}});
  // A backstop behind the pre-routing check of Content-Length below.
  s.set_payload_max_length(kMaxRequestBytes);
  // Host and the session cookie for every request, before routing; the POST
  // handlers check Origin and CSRF once the form is read.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // First: the client's socket must be this user's own (local_peer.h).
    const std::string our_addr = req.local_addr.empty() ? "127.0.0.1" : req.local_addr;
    const int our_port = req.local_port > 0 ? req.local_port : guard_.port();
    const std::optional<uid_t> peer = LoopbackPeerUid(req.remote_addr, req.remote_port, our_addr, our_port);
    if (std::optional<Refusal> refusal = guard_.CheckPeer(peer)) {
      std::fprintf(stderr, "trygg-app: refused a connection from %s (client port %d)\n",
                   peer ? ("uid " + std::to_string(*peer)).c_str() : "a socket not found in /proc/net/tcp",
                   req.remote_port);
      res.status = refusal->http_status;
      res.set_header("Connection", "close");
      res.set_content(refusal->message + "\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Host, cookie and, for a POST, Origin: all headers, so a request from
    // another site is refused before httplib reads any of its body. The
    // connection closes with the refusal (the unread body is not a request).
    RequestFacts facts{req.method, req.path, req.get_header_value("Host"), req.get_header_value("Origin"),
                       req.get_header_value("Cookie"), ""};
    if (std::optional<Refusal> refusal = guard_.Check(facts, /*check_csrf=*/false)) {
      res.status = refusal->http_status;
      res.set_header("Connection", "close");
      res.set_content(refusal->message + "\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "POST") {
      // The app's own forms always send Content-Length; a body of unknown
      // or too large a size is refused before it is read.
      const std::string length_text = req.get_header_value("Content-Length");
      const bool chunked = req.has_header("Transfer-Encoding");
      size_t length = 0;
      bool length_ok = !length_text.empty() && length_text.size() <= 12 &&
                       length_text.find_first_not_of("0123456789") == std::string::npos;
      if (length_ok) length = static_cast<size_t>(std::stoull(length_text));
      if (chunked || !length_ok) {
        res.status = 411;
        res.set_header("Connection", "close");
        res.set_content("refused: a POST must say its length (Content-Length)\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (length > kMaxRequestBytes) {
        const Ctx c = ContextOf(req);
        res.set_header("Connection", "close");
        Send(c, req, res, "error.title",
             "<div class=\"error\" role=\"alert\"><p>" +
                 c.T("attach.too_large", {std::to_string(kMaxUploadBytes >> 20)}) + "</p></div>",
             false, 413);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  s.Get("/open", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> cookie = guard_.ExchangeLaunchToken(Param(req, "token"));
    if (!cookie) {
      res.status = 403;
      res.set_content(
          "this launch address was already used or is wrong; start trygg-app again / "
          "adressen är redan använd eller fel; starta trygg-app igen\n",
          "text/plain; charset=utf-8");
      return;
    }
    res.set_header("Set-Cookie", *cookie);
    res.set_redirect(vault_.unlocked() ? "/" : "/unlock", 303);
  });
  for (size_t i = 0; i < data::kAssetCount; ++i) {
    const data::Asset& asset = data::kAssets[i];
    s.Get(asset.path, [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.bytes, asset.size, asset.content_type);
    });
  }

  RegisterEnrolment(s);
  Get(
      s, "/unlock",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
        if (vault_.unlocked()) return res.set_redirect("/");
        // A new computer: the enrolment ceremony first.
        if (!vault_.has_key_store()) return res.set_redirect("/enrol");
        UnlockPage(c, req, res, "", 200);
      },
      false);
  Post(
      s, "/unlock",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
        if (vault_.unlocked()) return res.set_redirect("/", 303);
        std::string passphrase = Param(req, "passphrase");
        // httplib's own copies are wiped as well once the attempt is over.
        auto wipe_request = [&req, &passphrase] {
          Wipe(passphrase);
          WipePassphraseForm(req);
        };
        if (std::optional<std::string> wait = ThrottleWait(res)) {
          wipe_request();
          return UnlockPage(c, req, res, c.T("unlock.wait", {*wait}), 429);
        }
        absl::Status status = vault_.Unlock(passphrase);
        wipe_request();
        throttle_.End(status.ok(), absl::IsPermissionDenied(status), UnlockThrottle::Clock::now());
        if (status.ok()) return res.set_redirect("/", 303);
        UnlockPage(c, req, res, absl::IsPermissionDenied(status) ? c.T("unlock.wrong") : ErrorBox(c, status),
                   HttpStatusOf(status));
      },
      false);
  Post(
      s, "/lock",
      [this](const Ctx&, const httplib::Request&, httplib::Response& res) {
        vault_.Lock();
        res.set_redirect("/unlock", 303);
      },
      false);
  Post(
      s, "/lang",
      [](const Ctx&, const httplib::Request& req, httplib::Response& res) {
        const std::string to = Param(req, "to") == "en" ? "en" : "sv";
        std::string back = Param(req, "back");
        // Only a path of this app: never an open redirect.
        if (back.empty() || back[0] != '/' || (back.size() > 1 && (back[1] == '/' || back[1] == '\\'))) back = "/";
        if (back == "/lang" || back == "/lock" || back == "/unlock" || back.rfind("/refer/", 0) == 0 ||
            back.rfind("/consent", 0) == 0 || back.rfind("/referral/", 0) == 0) {
          back = "/";
        }
        res.set_header("Set-Cookie", "trygg_lang=" + to + "; Path=/; SameSite=Strict");
        res.set_redirect(back, 303);
      },
      false);
  Get(s, "/events", [this](const Ctx&, const httplib::Request& req, httplib::Response& res) {
    uint64_t after = 0;
    try {
      after = std::stoull(Param(req, "after").empty() ? "0" : Param(req, "after"));
    } catch (...) {
      res.status = 400;
      return res.set_content("{\"error\":\"after must be a number\"}", "application/json");
    }
    // Polling is not use: it does not hold off the idle lock, and it tells
    // an open page when the app has locked so the page can follow.
    if (!vault_.unlocked()) return res.set_content("{\"locked\":true,\"notices\":[],\"seq\":0}", "application/json");
    uint64_t newest = 0;
    std::string json = "{\"locked\":false,\"notices\":[";
    bool first = true;
    for (const Notice& n : vault_.NoticesAfter(after, newest)) {
      if (!first) json += ",";
      first = false;
      json += "{\"seq\":" + std::to_string(n.seq) + ",\"referral\":\"" + n.notice.referral_id.ToHex() +
              "\",\"state\":\"" + std::string(ReferralStatusName(static_cast<uint8_t>(n.notice.state))) +
              "\",\"incoming\":" + (n.notice.incoming ? "true" : "false") + "}";
    }
    json += "],\"seq\":" + std::to_string(newest) + "}";
    res.set_content(json, "application/json");
  }, false);

  Get(s, "/", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Overview(c, req, res); });
  // Checks the audit log now, waiting for the result a little while (never
  // under the vault's lock); the overview shows it.
  Post(s, "/audit/check", [this](const Ctx&, const httplib::Request&, httplib::Response& res) {
    if (!vault_.CheckAuditNow(std::chrono::seconds(10)).ok()) return res.set_redirect("/unlock", 303);
    res.set_redirect("/#audit", 303);
  });
  Get(s, "/inbox", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Box(c, req, res, true); });
  Get(s, "/outbox",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Box(c, req, res, false); });
  Get(s, "/cases", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Cases(c, req, res); });
  Get(
      s, "/shown", [this](const Ctx&, const httplib::Request& req, httplib::Response& res) { ServeShown(req, res); },
      false);
  Post(s, "/cases", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Cases(c, req, res); });
  Get(s, "/case", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { CaseView(c, req, res); });
  Get(s, "/case/new", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    Send(c, req, res, "case.new_title", CaseFormHtml(c, "/case/new", CaseForm{}, "", {}));
  });
  Post(s, "/case/new", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    const CaseForm form = FormFromRequest(req);
    v1::CaseRecord record;
    std::vector<std::string> errors = CheckCaseForm(c, form, record);
    const std::string alias(absl::StripAsciiWhitespace(form.text.at("alias")));
    if (absl::Status checked = CheckAlias(alias); !checked.ok()) {
      errors.push_back(c.T("alias.invalid") + " " + Esc(std::string(checked.message())));
    }
    if (!errors.empty()) {
      return Send(c, req, res, "case.new_title", CaseFormHtml(c, "/case/new", form, "", errors), false, 400);
    }
    Id128 case_id;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          // A file that did not open refuses before anything is sealed.
          if (!alias.empty()) TRYGG_RETURN_IF_ERROR(d.aliases_status);
          const std::string bytes = record.SerializeAsString();
          TRYGG_ASSIGN_OR_RETURN(case_id, d.cases->CreateCase(
                                              std::span<const uint8_t>(
                                                  reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                                              kContentCaseRecord));
          if (!alias.empty()) TRYGG_RETURN_IF_ERROR(d.SetAlias(case_id, alias));
          return absl::OkStatus();
        })) {
      return;
    }
    res.set_redirect("/case?id=" + case_id.ToHex(), 303);
  });
  // The caseworker's own name for a case, on this device only: never sent.
  Post(s, "/case/alias", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string id_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "id"));
          // Only a case this organisation can read gets a name.
          TRYGG_RETURN_IF_ERROR(d.cases->ReadCase(case_id).status());
          id_hex = case_id.ToHex();
          const std::string alias(absl::StripAsciiWhitespace(Param(req, "alias")));
          return d.SetAlias(case_id, alias);
        })) {
      return;
    }
    res.set_redirect("/case?id=" + id_hex, 303);
  });
  Get(s, "/case/edit", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string body;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "id"));
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
          TRYGG_ASSIGN_OR_RETURN(v1::CaseRecord record, LatestRecord(read));
          body = CaseFormHtml(c, "/case/edit", FormFromRecord(record), case_id.ToHex(), {});
          return absl::OkStatus();
        })) {
      return;
    }
    Send(c, req, res, "case.edit", body);
  });
  Post(s, "/case/edit", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    const CaseForm form = FormFromRequest(req);
    v1::CaseRecord edited;
    std::vector<std::string> errors = CheckCaseForm(c, form, edited);
    if (!errors.empty()) {
      return Send(c, req, res, "case.edit", CaseFormHtml(c, "/case/edit", form, Param(req, "id"), errors), false, 400);
    }
    std::string id_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "id"));
          id_hex = case_id.ToHex();
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
          TRYGG_ASSIGN_OR_RETURN(v1::CaseRecord record, LatestRecord(read));
          // The form holds some of the record's fields: the others (more
          // needs, contacts, the support plan, older comments) carry over.
          v1::Person person = edited.person();
          for (int i = 1; i < record.person().citizenship_size(); ++i) person.add_citizenship(record.person().citizenship(i));
          person.set_number_of_children(record.person().number_of_children());
          person.set_secondary_language(record.person().secondary_language());
          person.set_mailing_city(record.person().mailing_city());
          person.set_mailing_country(record.person().mailing_country());
          person.set_identity_number(record.person().identity_number());
          *record.mutable_person() = person;
          record.mutable_exploitation()->set_trafficking_status(edited.exploitation().trafficking_status());
          *record.mutable_exploitation()->mutable_type_of_exploitation() = edited.exploitation().type_of_exploitation();
          if (edited.needs_size() > 0) {
            if (record.needs_size() == 0) record.add_needs();
            *record.mutable_needs(0) = edited.needs(0);
          }
          record.set_case_status(edited.case_status());
          for (const std::string& comment : edited.comments()) record.add_comments(comment);
          const std::string bytes = record.SerializeAsString();
          return d.cases
              ->AppendVersion(case_id,
                              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                              kContentCaseRecord)
              .status();
        })) {
      return;
    }
    res.set_redirect("/case?id=" + id_hex, 303);
  });
  // An attachment is a new version of the case: the same record, with the
  // file encrypted on this device in 64 KiB chunks (protocol.md section 6).
  Post(s, "/case/attach", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string id_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, Id128::FromHex(req.get_file_value("id").content));
          id_hex = case_id.ToHex();
          if (!req.has_file("file") || req.get_file_value("file").content.empty()) {
            return absl::InvalidArgumentError(Text(c.lang, "attach.empty"));
          }
          const std::string& content = req.get_file_value("file").content;
          if (content.size() > kMaxUploadBytes) {
            return absl::InvalidArgumentError(Text(c.lang, "attach.too_large", {std::to_string(kMaxUploadBytes >> 20)}));
          }
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
          const CaseVersion& latest = read.versions.back();
          // Read in place: no second copy of the plaintext.
          MemoryBuf buffer(content);
          std::istream in(&buffer);
          return d.cases->AppendVersion(case_id, latest.plaintext, latest.header.content_type,
                                        {AttachmentInput{&in, content.size()}})
              .status();
        })) {
      WipeRequest(req);
      return;
    }
    WipeRequest(req);
    res.set_redirect("/case?id=" + id_hex + "#attachments", 303);
  });
  Get(s, "/case/attachment", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string content;
    std::string name;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "id"));
          uint64_t version = 0;
          size_t index = 0;
          try {
            version = std::stoull(Param(req, "version"));
            index = std::stoul(Param(req, "index"));
          } catch (...) {
            return absl::InvalidArgumentError("version and index must be numbers");
          }
          // ReadCase first: it checks the version and remembers the case's head.
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(case_id));
          name = "trygg-" + case_id.ToHex().substr(0, 8) + "-v" + std::to_string(version) + "-" +
                 std::to_string(index + 1);
          return d.cases->DownloadAttachment(case_id, version, index, [&content](std::span<const uint8_t> chunk) {
            content.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
            return absl::OkStatus();
          });
        })) {
      return;
    }
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_content(content, "application/octet-stream");
  });
  Post(s, "/consent", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string id_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          ConsentTerms terms;
          TRYGG_ASSIGN_OR_RETURN(terms.case_id, IdParam(req, "case"));
          id_hex = terms.case_id.ToHex();
          for (const std::string& name : ParamAll(req, "service")) {
            std::optional<uint8_t> s = ServiceCategoryFromName(name);
            if (!s) return absl::InvalidArgumentError("unknown service " + name);
            terms.services |= ServiceBit(*s);
          }
          if (terms.services == 0) return absl::InvalidArgumentError(Text(c.lang, "consent.need_service"));
          std::optional<uint8_t> purpose = ConsentPurposeFromName(Param(req, "purpose"));
          if (!purpose) return absl::InvalidArgumentError("unknown purpose");
          terms.purpose = static_cast<ConsentPurpose>(*purpose);
          TRYGG_ASSIGN_OR_RETURN(terms.expires_at_ms, ConsentExpiryFromDate(Param(req, "expires")));
          if (terms.expires_at_ms <= d.clock.NowUnixMillis()) {
            return absl::InvalidArgumentError(Text(c.lang, "consent.past"));
          }
          const std::string evidence = Param(req, "evidence");
          if (evidence.empty()) return absl::InvalidArgumentError(Text(c.lang, "consent.need_evidence"));
          terms.evidence.assign(evidence.begin(), evidence.end());
          return d.referrals->RecordConsent(terms).status();
        })) {
      return;
    }
    res.set_redirect("/case?id=" + id_hex + "#consents", 303);
  });
  Post(s, "/consent/withdraw", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string id_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdParam(req, "case"));
          TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, IdParam(req, "consent"));
          id_hex = case_id.ToHex();
          return d.referrals->WithdrawConsent(case_id, consent_id);
        })) {
      return;
    }
    res.set_redirect("/case?id=" + id_hex + "#consents", 303);
  });
  Get(s, "/directory",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Directory(c, req, res); });
  Get(s, "/refer",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { ReferForm(c, req, res, false); });
  Post(s, "/refer/preview",
       [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { ReferForm(c, req, res, true); });
  Post(s, "/refer/send", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string referral_hex;
    if (!Run(c, req, res, [&](OpenDevice& d) -> absl::Status {
          ReferralRequest request;
          TRYGG_ASSIGN_OR_RETURN(request.case_id, IdParam(req, "case"));
          TRYGG_ASSIGN_OR_RETURN(request.listing_id, IdParam(req, "listing"));
          TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, IdParam(req, "consent"));
          request.consent_id = consent_id;
          std::optional<uint8_t> urgency = UrgencyFromName(Param(req, "urgency"));
          if (!urgency) return absl::InvalidArgumentError("unknown urgency");
          request.urgency = static_cast<ReferralUrgency>(*urgency);
          request.share = ParamAll(req, "share");
          request.note = Param(req, "note");
          // Only what the caseworker saw: the case must still be at the
          // version the preview showed, and the packet is built from that
          // very read (not from whatever PrepareReferral reads next).
          const std::string head_text = Param(req, "head");
          if (head_text.empty() || head_text.size() > 19 ||
              head_text.find_first_not_of("0123456789") != std::string::npos) {
            return absl::InvalidArgumentError("head must be the previewed version number");
          }
          const uint64_t previewed = std::stoull(head_text);
          TRYGG_ASSIGN_OR_RETURN(CaseRead read, d.cases->ReadCase(request.case_id));
          if (read.versions.empty() || read.versions.back().header.version != previewed) {
            return absl::FailedPreconditionError(Text(c.lang, "refer.changed"));
          }
          TRYGG_ASSIGN_OR_RETURN(v1::CaseRecord record, LatestRecord(read));
          TRYGG_ASSIGN_OR_RETURN(v1::ReferralPacket packet, MakeReferralPacket(record, request.share, request.note));
          TRYGG_ASSIGN_OR_RETURN(ReferralDraft draft, PrepareReferral(*d.cases, *d.directory, request));
          const std::string packet_bytes = packet.SerializeAsString();
          draft.packet.assign(packet_bytes.begin(), packet_bytes.end());
          TRYGG_ASSIGN_OR_RETURN(Id128 referral_id, d.referrals->Refer(draft));
          referral_hex = referral_id.ToHex();
          return absl::OkStatus();
        })) {
      return;
    }
    res.set_redirect("/referral?id=" + referral_hex, 303);
  });
  Get(s, "/device", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { Device(c, req, res); });
  Post(s, "/device/approve", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    absl::Status status = vault_.With([&](OpenDevice& d) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(Id128 id, IdParam(req, "enrolment"));
      return d.ApproveEnrolment(id, Param(req, "fingerprint"));
    });
    if (absl::IsFailedPrecondition(status) && status.message() == "locked") return res.set_redirect("/unlock", 303);
    if (!status.ok()) return Send(c, req, res, "nav.device", DeviceErrorBox(c, status), false, HttpStatusOf(status));
    res.set_redirect("/device?done=approved", 303);
  });
  Post(s, "/device/revoke", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    std::string passphrase = Param(req, "passphrase");
    // As for the unlock: our copy, httplib's body and its parsed field.
    auto wipe_request = [&req, &passphrase] {
      Wipe(passphrase);
      WipePassphraseForm(req);
    };
    // The passphrase typed here is a guess like one at /unlock: the same
    // throttle, or someone at an unlocked app could try passphrases at
    // Argon2's speed.
    if (std::optional<std::string> wait = ThrottleWait(res)) {
      wipe_request();
      return Send(c, req, res, "nav.device",
                  "<div class=\"error\" role=\"alert\"><p>" + c.T("unlock.wait", {*wait}) + "</p></div>", false, 429);
    }
    absl::Status status = vault_.With([&](OpenDevice& d) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(Id128 id, IdParam(req, "device"));
      return d.RevokeDevice(id, passphrase).status();
    });
    wipe_request();
    throttle_.End(status.ok(), GetCryptoError(status) == CryptoError::kWrongPassphrase, UnlockThrottle::Clock::now());
    if (absl::IsFailedPrecondition(status) && status.message() == "locked") return res.set_redirect("/unlock", 303);
    if (!status.ok()) return Send(c, req, res, "nav.device", DeviceErrorBox(c, status), false, HttpStatusOf(status));
    res.set_redirect("/device?done=revoked", 303);
  });
  Get(s, "/device/qr.svg",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { DeviceQr(c, req, res); });
  Get(s, "/referral",
      [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) { ReferralPage(c, req, res); });
  Post(s, "/referral/accept", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    Move(c, req, res, ReferralStatus::kAccepted);
  });
  Post(s, "/referral/decline", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    Move(c, req, res, ReferralStatus::kDeclined);
  });
  Post(s, "/referral/complete", [this](const Ctx& c, const httplib::Request& req, httplib::Response& res) {
    Move(c, req, res, ReferralStatus::kCompleted);
  });
}

}  // namespace

void RegisterPages(httplib::Server& server, HttpGuard& guard, Vault& vault, Language default_language) {
  // The routes capture the Pages object; it lives as long as the process.
  static Pages* pages = new Pages(guard, vault, default_language);
  pages->Register(server);
}

}  // namespace trygg::app
