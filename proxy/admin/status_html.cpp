#include "proxy/admin/status_html.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>

#include "proxy/admin/web_request.h"

namespace proxy::admin {
namespace {

constexpr std::string_view kHead =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<link rel=\"stylesheet\" href=\"/status/page.css\">";

std::string page(std::string_view title, std::string_view head_extra, std::string_view body) {
  std::string out(kHead);
  out += "<title>";
  out += html_escape(title);
  out += "</title>";
  out += head_extra;
  out += "</head><body>";
  out += body;
  out += "</body></html>\n";
  return out;
}

std::string number(double v) {
  char buf[32];
  if (v >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string ms(const std::optional<double>& v) {
  return v ? number(*v) : std::string("–");
}

std::string age(double seconds) {
  if (seconds < 0) return "";
  if (seconds < 120) return std::to_string(static_cast<long>(std::lround(seconds))) + " s ago";
  if (seconds < 7200) return std::to_string(static_cast<long>(seconds / 60)) + " min ago";
  return std::to_string(static_cast<long>(seconds / 3600)) + " h ago";
}

std::string utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

void hidden(std::string& out, std::string_view name, std::string_view value) {
  out += "<input type=\"hidden\" name=\"";
  out += name;
  out += "\" value=\"";
  out += html_escape(value);
  out += "\">";
}

void cell(std::string& out, std::string_view text, std::string_view cls = {}) {
  out += cls.empty() ? "<td>" : "<td class=\"" + std::string(cls) + "\">";
  out += html_escape(text);
  out += "</td>";
}

void reload_section(std::string& out, const StatusView& v, const FormSigner& sign) {
  out += "<section id=\"reload\"><h2>Configuration</h2><p>Last <span id=\"reload-kind\">";
  out += (v.reload.successes + v.reload.failures) > 0 ? "reload" : "load (the start)";
  out += "</span>: <span id=\"reload-result\" class=\"";
  out += v.reload.last_ok ? "ok\">applied" : "bad\">rejected";
  out += "</span> at <span id=\"reload-at\">" + utc(v.reload.last_unix) +
         "</span> <span id=\"reload-message\">" + html_escape(v.reload.last_message) +
         "</span> · <span id=\"reload-counts\">" + std::to_string(v.reload.successes) +
         " applied, " + std::to_string(v.reload.failures) + " rejected</span></p>";
  out += "<form method=\"post\" action=\"/status/action\" class=\"act\">";
  hidden(out, "csrf", sign(kReloadScope));
  out +=
      "<button name=\"action\" value=\"reload\" data-ask=\"Reload the configuration file?\">"
      "Reload</button></form></section>";
}

void listeners_section(std::string& out, const StatusView& v) {
  out +=
      "<section><h2>Listeners</h2><table id=\"listeners\" class=\"listeners\"><thead><tr>"
      "<th>Listener</th><th>Kind</th><th>Open</th><th>Accepted</th><th>Requests</th>"
      "<th>Req/s</th></tr></thead><tbody>";
  for (size_t i = 0; i < v.listeners.size(); ++i) {
    const auto& l = v.listeners[i];
    out += "<tr id=\"l" + std::to_string(i) + "\"><td><b>" + html_escape(l.status.name) +
           "</b> <small>" + html_escape(l.status.listen) + "</small></td>";
    cell(out, l.status.kind);
    cell(out, std::to_string(l.status.connections), "num");
    cell(out, std::to_string(l.status.accepted), "num");
    cell(out, std::to_string(l.status.counts.requests), "num");
    cell(out, number(l.minute.rate), "num");
    out += "</tr>";
  }
  out += "</tbody></table></section>";
}

// A node's open connections, and for a mail pool with user affinity the users they belong to.
std::string connections(const NodeView& n) {
  std::string s = std::to_string(n.connections);
  if (n.mail_users >= 0) s += " \u00b7 " + std::to_string(n.mail_users) + " users";
  return s;
}

void node_row(std::string& out, size_t p, size_t i, const PoolView& pool, const NodeView& n,
              const FormSigner& sign) {
  out += "<tr id=\"n" + std::to_string(p) + "-" + std::to_string(i) + "\"><td><b>" +
         html_escape(n.name) + "</b>";
  if (n.address != n.name) out += " <small>" + html_escape(n.address) + "</small>";
  out += "</td>";
  cell(out, n.health, "h-" + n.health);
  cell(out, n.admin, "a-" + n.admin);
  cell(out, std::to_string(n.weight), "num");
  cell(out, std::to_string(n.in_flight), "num");
  cell(out, connections(n), "num");
  out += "<td class=\"c-" + (n.check.empty() ? std::string("none") : n.check) + "\" title=\"" +
         html_escape(n.check_detail) + "\">" +
         (n.check.empty() ? std::string("–") : html_escape(n.check) + " " + age(n.check_age)) +
         "</td>";
  cell(out, number(n.minute.rate), "num");
  cell(out, ms(n.minute.p50_ms), "num");
  cell(out, ms(n.minute.p99_ms), "num");
  out +=
      "<td class=\"spark\"></td><td><form method=\"post\" action=\"/status/action\" "
      "class=\"act\">";
  hidden(out, "pool", pool.name);
  hidden(out, "node", n.name);
  hidden(out, "csrf", sign(node_scope(pool.name, n.name)));
  out +=
      "<button name=\"action\" value=\"drain\">Drain</button>"
      "<button name=\"action\" value=\"ready\">Ready</button>"
      "<button name=\"action\" value=\"maintenance\">Maint.</button></form></td></tr>";
}

void pools_section(std::string& out, const StatusView& v, const FormSigner& sign) {
  out += "<section id=\"pools\"><h2>Pools</h2>";
  for (size_t p = 0; p < v.pools.size(); ++p) {
    const auto& pool = v.pools[p];
    out += "<h3>" + html_escape(pool.name) + " <small><span id=\"u" + std::to_string(p) + "\">" +
           std::to_string(pool.usable) + "</span>/" + std::to_string(pool.nodes.size()) +
           " usable · " + pool.balance + "</small></h3>";
    out +=
        "<table class=\"nodes\"><thead><tr><th>Node</th><th>Health</th><th>Admin</th>"
        "<th>Weight</th><th>In flight</th><th>Conns</th><th>Last check</th><th>Req/s</th>"
        "<th>p50 ms</th><th>p99 ms</th><th>15 min</th><th></th></tr></thead><tbody>";
    for (size_t i = 0; i < pool.nodes.size(); ++i) node_row(out, p, i, pool, pool.nodes[i], sign);
    out += "</tbody></table>";
  }
  if (v.pools.empty()) out += "<p>No pools.</p>";
  out += "</section>";
}

void certificates_section(std::string& out, const StatusView& v) {
  out += "<section><h2>Certificates</h2>";
  if (v.certificates.empty()) {
    out += "<p>None loaded.</p></section>";
    return;
  }
  out +=
      "<table class=\"certs\"><thead><tr><th>Names</th><th>Expires</th><th>Days left</th>"
      "</tr></thead><tbody>";
  for (const auto& c : v.certificates) {
    std::string names;
    for (const auto& n : c.cert.names) names += (names.empty() ? "" : ", ") + n;
    out +=
        "<tr><td>" + html_escape(names) + " <small>" + html_escape(c.cert.path) + "</small></td>";
    cell(out, utc(c.cert.not_after));
    cell(out, std::to_string(c.days_left),
         c.days_left < 14 ? "num bad" : (c.days_left < 30 ? "num warn" : "num"));
    out += "</tr>";
  }
  out += "</tbody></table></section>";
}

}  // namespace

std::string node_scope(std::string_view pool, std::string_view node) {
  std::string s = "node\n";
  s += pool;
  s += '\n';
  s += node;
  return s;
}

std::string status_html(const StatusView& v, const FormSigner& sign, bool logged_in) {
  std::string body;
  body.reserve(4096 + v.pools.size() * 512 + v.pools.size() * 10 * 900);
  body += "<header><h1>Passeur</h1><span id=\"updated\" data-layout=\"" + v.layout +
          "\" data-seq=\"" + std::to_string(v.seq) + "\">" + utc(v.now_unix) + "</span>";
  if (logged_in) {
    body += "<form method=\"post\" action=\"/logout\">";
    hidden(body, "csrf", sign(kLogoutScope));
    body += "<button>Log out</button></form>";
  }
  body += "</header><main><p id=\"message\" role=\"status\"></p>";
  reload_section(body, v, sign);
  listeners_section(body, v);
  pools_section(body, v, sign);
  certificates_section(body, v);
  body += "</main><script src=\"/status/page.js\"></script>";
  // Without script, the page reloads itself.
  return page("Passeur status", "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>",
              body);
}

std::string login_html(std::string_view error) {
  std::string body =
      "<main class=\"login\"><h1>Passeur</h1><form method=\"post\" action=\"/login\">"
      "<label for=\"token\">Admin token</label>"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" "
      "required autofocus><button>Log in</button></form>";
  if (!error.empty()) body += "<p class=\"bad\" role=\"alert\">" + html_escape(error) + "</p>";
  body += "</main>";
  return page("Passeur: log in", "", body);
}

std::string confirm_html(std::string_view question, std::string_view button,
                         const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body = "<main class=\"confirm\"><h1>Passeur</h1><p>" + html_escape(question) +
                     "</p><form method=\"post\" action=\"/status/action\">";
  for (const auto& [name, value] : fields) hidden(body, name, value);
  hidden(body, "confirm", "yes");
  body += "<button>" + html_escape(button) + "</button> <a href=\"/\">Cancel</a></form></main>";
  return page("Passeur: confirm", "", body);
}

std::string result_html(std::string_view message, bool ok) {
  std::string body = "<main class=\"confirm\"><h1>Passeur</h1><p class=\"" +
                     std::string(ok ? "ok" : "bad") + "\" role=\"status\">" + html_escape(message) +
                     "</p><p><a href=\"/\">Back to the status page</a></p>"
                     "</main>";
  return page("Passeur", "<meta http-equiv=\"refresh\" content=\"3;url=/\">", body);
}

}  // namespace proxy::admin
