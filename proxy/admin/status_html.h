// The status page's HTML, written on the server so that it reads and acts without JavaScript
// (its script, status/page.js, then refreshes the numbers in place and draws the sparklines).
// Every form carries its own CSRF token, given by `sign` for the form's scope.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/admin/status_view.h"

namespace proxy::admin {

using FormSigner = std::function<std::string(std::string_view scope)>;

// The scope of a node's form, and of the reload and logout forms.
std::string node_scope(std::string_view pool, std::string_view node);
inline constexpr std::string_view kReloadScope = "reload";
inline constexpr std::string_view kLogoutScope = "logout";

// `logged_in`: a session (a logout button); `refresh`: seconds between refreshes without script.
std::string status_html(const StatusView& view, const FormSigner& sign, bool logged_in);
std::string login_html(std::string_view error);
// Asks to confirm an action; `fields` are the form's hidden fields, already signed.
std::string confirm_html(std::string_view question, std::string_view button,
                         const std::vector<std::pair<std::string, std::string>>& fields);
// The outcome of an action, with a way back.
std::string result_html(std::string_view message, bool ok);

}  // namespace proxy::admin
