#include "proxy/admin/status_page.h"

#include <charconv>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include "proxy/admin/status_assets.h"
#include "proxy/admin/status_html.h"
#include "proxy/admin/status_json.h"
#include "proxy/admin/status_view.h"
#include "proxy/admin/token.h"
#include "proxy/admin/web_request.h"
#include "routing/node_state.h"

namespace proxy::admin {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
// The page's own files only: no inline script, no other origin, no framing.
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

bool is_get(std::string_view m) {
  return m == "GET" || m == "HEAD";
}

Response html(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::string(kHtml);
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  r.headers.emplace_back("X-Frame-Options", "DENY");
  // same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with the
  // page's own form posts (login, log out, the pages without JavaScript), which the cross-site
  // check must refuse. Other sites still get no referrer.
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response redirect(std::string_view to) {
  Response r;
  r.status = 303;
  r.content_type = "text/plain";
  r.headers.emplace_back("Location", std::string(to));
  return r;
}

Response method_not_allowed(std::string_view allow) {
  Response r = error_response(405, "method not allowed here (" + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

struct Action {
  std::string name;  // drain, ready, maintenance, reload
  std::string pool, node;
};

class StatusPage {
 public:
  StatusPage(const Request& req, const Context& ctx) : req_(req), ctx_(ctx) {}

  Response run() {
    const std::string_view path = req_.target.substr(0, req_.target.find('?'));
    if (path == "/status/page.css" || path == "/status/page.js") {
      if (!is_get(req_.method)) return method_not_allowed("GET, HEAD");
      Response r;
      const bool css = path.ends_with(".css");
      r.content_type = css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
      r.body = std::string(css ? status_page_css() : status_page_js());
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      return r;
    }
    if (path == "/login") return login();
    authenticate();
    if (path == "/logout") return logout();
    if (path == "/status/action") return action();
    if (!is_get(req_.method)) return method_not_allowed("GET, HEAD");
    if (!authed_) {
      if (path == "/") return html(401, login_html({}));
      Response r = error_response(401, "log in on the status page, or send a bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"passeur\"");
      return r;
    }
    if (!ctx_.snapshot) return error_response(503, "no configuration loaded");
    if (path == "/") return html(200, status_html(view(), signer(), !session_.empty()));
    if (path == "/status.json") return json(status_json(view()));
    if (path == "/status/history.json") {
      if (!ctx_.history) return error_response(503, "no history");
      return json(history_json(*ctx_.snapshot, *ctx_.history, view().layout, query_after()));
    }
    return error_response(404, "no such path \"" + std::string(path) + "\"");
  }

 private:
  // Bearer token, session cookie, or no token configured.
  void authenticate() {
    if (ctx_.token.empty()) {
      authed_ = true;
      return;
    }
    if (token_equal(bearer_token(req_.authorization), ctx_.token)) {
      authed_ = true;
      return;
    }
    std::string_view id = cookie_value(req_.cookie, kSessionCookie);
    if (!id.empty() && ctx_.sessions->valid(id, ctx_.now)) {
      authed_ = true;
      session_ = std::string(id);
    }
  }

  FormSigner signer() const {
    return [this](std::string_view scope) { return ctx_.sessions->form_token(session_, scope); };
  }

  StatusView view() const {
    StatusSources sources;
    if (ctx_.status) sources = ctx_.status();
    return build_status_view(*ctx_.snapshot, sources, ctx_.history, ctx_.now, ctx_.now_unix);
  }

  static Response json(std::string body) {
    Response r;
    r.body = std::move(body);
    return r;
  }

  uint64_t query_after() const {
    const size_t q = req_.target.find('?');
    if (q == std::string_view::npos) return 0;
    std::string_view query = req_.target.substr(q + 1);
    auto v = form_field(query, "after");
    uint64_t n = 0;
    if (v) std::from_chars(v->data(), v->data() + v->size(), n);
    return n;
  }

  std::string peer() const { return req_.peer.empty() ? "?" : std::string(req_.peer); }

  void log(std::string_view line) const {
    if (ctx_.log) ctx_.log(line);
  }

  std::string cookie(std::string_view value, std::string_view max_age) const {
    std::string c = std::string(kSessionCookie) + "=" + std::string(value) +
                    "; Path=/; Max-Age=" + std::string(max_age) + "; HttpOnly; SameSite=Strict";
    if (req_.forwarded_proto == "https") c += "; Secure";
    return c;
  }

  // A refusal of a POST: logged, answered 403.
  Response refuse(std::string_view what, std::string_view why) const {
    log("status page: refused " + std::string(what) + " from " + peer() + ": " + std::string(why));
    if (wants_json()) {
      Response r = error_response(403, why);
      return r;
    }
    Response r = html(403, result_html("Refused: " + std::string(why), false));
    r.close = true;
    return r;
  }

  bool wants_json() const { return req_.accept.find("application/json") != std::string_view::npos; }

  Response login() {
    if (is_get(req_.method)) {
      authenticate();
      if (authed_) return redirect("/");
      return html(200, login_html({}));
    }
    if (req_.method != "POST") return method_not_allowed("GET, HEAD, POST");
    if (auto why = cross_site_reason(req_.origin, req_.sec_fetch_site, req_.host); !why.empty())
      return refuse("a login", "cross-site request (" + why + ")");
    if (ctx_.token.empty()) return redirect("/");
    auto token = form_field(req_.body, "token");
    if (!token || !token_equal(*token, ctx_.token)) {
      log("status page: refused a login from " + peer() + ": " +
          (token && !token->empty() ? "wrong token" : "no token"));
      Response r = html(401, login_html("Wrong token."));
      r.close = true;
      return r;
    }
    const std::string id = ctx_.sessions->open(ctx_.now);
    log("status page: login from " + peer());
    Response r = redirect("/");
    r.headers.emplace_back("Set-Cookie", cookie(id, "43200"));
    return r;
  }

  Response logout() {
    if (req_.method != "POST") return method_not_allowed("POST");
    if (auto why = cross_site_reason(req_.origin, req_.sec_fetch_site, req_.host); !why.empty())
      return refuse("a logout", "cross-site request (" + why + ")");
    if (!session_.empty()) {
      auto csrf = form_field(req_.body, "csrf");
      if (!csrf || !ctx_.sessions->form_token_ok(session_, kLogoutScope, *csrf))
        return refuse("a logout", "missing or wrong CSRF token");
      ctx_.sessions->close(session_);
      log("status page: logout from " + peer());
    }
    Response r = redirect("/");
    r.headers.emplace_back("Set-Cookie", cookie("", "0"));
    return r;
  }

  Response action() {
    if (req_.method != "POST") return method_not_allowed("POST");
    Action a;
    a.name = form_field(req_.body, "action").value_or("");
    const bool reload = a.name == "reload";
    if (!reload && a.name != "drain" && a.name != "ready" && a.name != "maintenance")
      return error_response(400, "action must be drain, ready, maintenance or reload");
    if (!reload) {
      a.pool = form_field(req_.body, "pool").value_or("");
      a.node = form_field(req_.body, "node").value_or("");
    }
    const std::string what =
        reload ? std::string("a reload")
               : "a " + a.name + " of node \"" + a.node + "\" in pool \"" + a.pool + "\"";
    if (!authed_) return refuse(what, "not logged in");
    if (auto why = cross_site_reason(req_.origin, req_.sec_fetch_site, req_.host); !why.empty())
      return refuse(what, "cross-site request (" + why + ")");
    const std::string scope = reload ? std::string(kReloadScope) : node_scope(a.pool, a.node);
    auto csrf = form_field(req_.body, "csrf");
    if (!csrf || !ctx_.sessions->form_token_ok(session_, scope, *csrf))
      return refuse(what, "missing or wrong CSRF token");
    if (form_field(req_.body, "confirm").value_or("") != "yes") return confirm(a, *csrf);
    return reload ? do_reload() : do_node(a);
  }

  Response confirm(const Action& a, const std::string& csrf) const {
    std::vector<std::pair<std::string, std::string>> fields{{"action", a.name}, {"csrf", csrf}};
    if (a.name == "reload")
      return html(200, confirm_html("Reload the configuration file?", "Reload", fields));
    fields.emplace_back("pool", a.pool);
    fields.emplace_back("node", a.node);
    std::string q;
    if (a.name == "drain") {
      q = "Drain node \"" + a.node + "\" in pool \"" + a.pool +
          "\"? It takes no new work; work in flight finishes.";
    } else if (a.name == "maintenance") {
      q = "Put node \"" + a.node + "\" in pool \"" + a.pool +
          "\" in maintenance? It takes no new work and its checks stop.";
    } else {
      q = "Make node \"" + a.node + "\" in pool \"" + a.pool + "\" ready for new work?";
    }
    const std::string button = a.name == "drain"         ? "Drain"
                               : a.name == "maintenance" ? "Maintenance"
                                                         : "Ready";
    return html(200, confirm_html(q, button, fields));
  }

  Response outcome(unsigned status, bool ok, const std::string& message) const {
    if (wants_json()) {
      Response r;
      r.status = status;
      r.body = "{\"ok\":" + std::string(ok ? "true" : "false") +
               ",\"message\":" + boost::json::serialize(boost::json::string_view(message)) + "}\n";
      return r;
    }
    return html(status, result_html(message, ok));
  }

  Response do_node(const Action& a) {
    if (!ctx_.snapshot) return error_response(503, "no configuration loaded");
    const routing::Pool* pool = ctx_.snapshot->find_pool(a.pool);
    routing::Node* node = nullptr;
    if (pool)
      for (routing::Node* n : pool->nodes())
        if (n->name() == a.node) node = n;
    if (!node) return outcome(404, false, "No node \"" + a.node + "\" in pool \"" + a.pool + "\".");
    const routing::Admin target = a.name == "drain"   ? routing::Admin::Draining
                                  : a.name == "ready" ? routing::Admin::Active
                                                      : routing::Admin::Maintenance;
    log("status page: " + a.name + " of node \"" + a.node + "\" in pool \"" + a.pool +
        "\" asked by " + peer());
    auto change = routing::set_admin(*node, target, "status page from " + peer(), ctx_.now);
    if (change) log(routing::describe(*change, pool->name()));
    return outcome(200, true,
                   "Node \"" + a.node + "\" in pool \"" + a.pool + "\" is " +
                       std::string(routing::to_string(node->admin())) +
                       (change ? "." : " (it already was)."));
  }

  Response do_reload() {
    if (!ctx_.reload) return outcome(503, false, "Reload is not available.");
    std::string message;
    bool ok = false;
    try {
      ok = ctx_.reload(message);
    } catch (const std::exception& e) {
      message = e.what();
    }
    log("status page: reload asked by " + peer() + ": " + (ok ? "done" : "rejected"));
    return outcome(ok ? 200 : 422, ok,
                   ok ? "Reloaded: " + message
                      : "Reload rejected; the running configuration stays: " + message);
  }

  const Request& req_;
  const Context& ctx_;
  bool authed_ = false;
  std::string session_;  // the session's id; empty with a bearer token or no token configured
};

}  // namespace

bool is_status_path(std::string_view path) {
  return path == "/" || path == "/login" || path == "/logout" || path == "/status.json" ||
         path.starts_with("/status/");
}

Response handle_status(const Request& request, const Context& context) {
  if (!context.sessions) return error_response(404, "no such path \"/\"");
  return StatusPage(request, context).run();
}

}  // namespace proxy::admin
