#include "tls/cert_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <vector>

#include "tests/unit/tls/test_pki.h"

namespace tls {
namespace {

using testing::test_certificates;

std::shared_ptr<const CertStore> load_ok(const std::vector<CertSettings>& certs) {
  CertStore::LoadResult result = CertStore::load(certs);
  EXPECT_TRUE(result.errors.empty()) << result.errors.front();
  return result.store;
}

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

// The CN of the certificate a context serves for a given key type ("" if none).
std::string served_cn(SSL_CTX* ctx) {
  X509* cert = ctx != nullptr ? SSL_CTX_get0_certificate(ctx) : nullptr;
  if (cert == nullptr) return "";
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof buffer);
  return buffer;
}

TEST(CertStoreTest, NamesComeFromSubjectAltNames) {
  const auto& certs = test_certificates();
  auto store = load_ok({certs.webmail_rsa, certs.cloud, certs.wildcard});
  ASSERT_TRUE(store);
  const auto& infos = store->certificates();
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_EQ(infos[0].names, std::vector<std::string>{"webmail.example.coop"});  // IP SAN ignored
  EXPECT_EQ(infos[0].key_type, "RSA");
  EXPECT_EQ(infos[0].cert_path, certs.webmail_rsa.cert);
  EXPECT_EQ(infos[0].key_path, certs.webmail_rsa.key);
  EXPECT_EQ(infos[1].names, (std::vector<std::string>{"cloud.example.coop", "dav.example.coop"}));
  EXPECT_EQ(infos[1].key_type, "EC");
  EXPECT_EQ(infos[2].names, std::vector<std::string>{"*.example.coop"});
}

TEST(CertStoreTest, ReportsNotAfter) {
  auto store = load_ok({test_certificates().webmail_ec});
  ASSERT_TRUE(store);
  const CertificateInfo& info = store->certificates()[0];
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_FALSE(info.expired);
  EXPECT_GT(info.not_after, now + 89L * 86400);
  EXPECT_LT(info.not_after, now + 91L * 86400);
}

TEST(CertStoreTest, CommonNameOnlyWithoutSubjectAltName) {
  auto store = load_ok({test_certificates().legacy_cn});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->certificates()[0].names, std::vector<std::string>{"legacy.example.coop"});
  EXPECT_NE(store->find("legacy.example.coop"), nullptr);
}

TEST(CertStoreTest, FindsExactBeforeWildcard) {
  const auto& certs = test_certificates();
  auto store = load_ok({certs.wildcard, certs.webmail_ec, certs.cloud});
  ASSERT_TRUE(store);
  EXPECT_EQ(served_cn(store->find("webmail.example.coop")), "webmail-ec");
  EXPECT_EQ(served_cn(store->find("cloud.example.coop")), "cloud");
  EXPECT_EQ(served_cn(store->find("dav.example.coop")), "cloud");
  EXPECT_EQ(served_cn(store->find("other.example.coop")), "wildcard");
  EXPECT_EQ(store->find("example.org"), nullptr);
}

TEST(CertStoreTest, FindIgnoresCaseAndTrailingDot) {
  const auto& certs = test_certificates();
  auto store = load_ok({certs.webmail_ec, certs.wildcard});
  ASSERT_TRUE(store);
  EXPECT_EQ(served_cn(store->find("WebMail.Example.COOP.")), "webmail-ec");
  EXPECT_EQ(served_cn(store->find("Other.EXAMPLE.coop")), "wildcard");
}

TEST(CertStoreTest, WildcardCoversExactlyOneLabel) {
  auto store = load_ok({test_certificates().wildcard});
  ASSERT_TRUE(store);
  EXPECT_NE(store->find("a.example.coop"), nullptr);
  EXPECT_EQ(store->find("example.coop"), nullptr);
  EXPECT_EQ(store->find("a.b.example.coop"), nullptr);
  EXPECT_EQ(store->find(".example.coop"), nullptr);
  EXPECT_EQ(store->find("*.example.coop"), nullptr);
  EXPECT_EQ(store->find(""), nullptr);
}

TEST(CertStoreTest, DefaultIsTheConfiguredNameElseTheFirstCertificate) {
  const auto& certs = test_certificates();
  auto store = load_ok({certs.cloud, certs.webmail_ec, certs.wildcard});
  ASSERT_TRUE(store);
  EXPECT_EQ(served_cn(store->default_context("")), "cloud");
  EXPECT_EQ(served_cn(store->default_context("webmail.example.coop")), "webmail-ec");
  EXPECT_EQ(served_cn(store->default_context("x.example.coop")), "wildcard");
  EXPECT_EQ(served_cn(store->default_context("*.example.coop")), "wildcard");
  EXPECT_EQ(served_cn(store->default_context("unknown.example.org")), "cloud");
}

TEST(CertStoreTest, RsaAndEcdsaForOneNameShareOneContext) {
  const auto& certs = test_certificates();
  auto store = load_ok({certs.webmail_rsa, certs.webmail_ec});
  ASSERT_TRUE(store);
  SSL_CTX* ctx = store->find("webmail.example.coop");
  ASSERT_NE(ctx, nullptr);
  std::vector<std::string> held;
  for (int ok = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); ok == 1;
       ok = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
    held.push_back(served_cn(ctx));
  }
  std::sort(held.begin(), held.end());
  EXPECT_EQ(held, (std::vector<std::string>{"webmail-ec", "webmail-rsa"}));
}

TEST(CertStoreTest, ExpiredCertificateLoadsWithAWarning) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result = CertStore::load({certs.webmail_ec, certs.expired});
  ASSERT_TRUE(result.store);
  EXPECT_TRUE(result.errors.empty());
  EXPECT_TRUE(mentions(result.warnings, certs.expired.cert + ": certificate expired on "));
  const CertificateInfo& info = result.store->certificates()[1];
  EXPECT_TRUE(info.expired);
  EXPECT_LT(info.not_after, static_cast<int64_t>(std::time(nullptr)));
  EXPECT_NE(result.store->find("old.example.coop"), nullptr);
}

TEST(CertStoreTest, GarbageCertificateFileIsAnErrorNamingIt) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result =
      CertStore::load({certs.webmail_ec, {.cert = certs.garbage, .key = certs.webmail_ec.key}});
  EXPECT_FALSE(result.store);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].starts_with(certs.garbage + ": ")) << result.errors[0];
}

TEST(CertStoreTest, GarbageKeyFileIsAnErrorNamingIt) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result =
      CertStore::load({{.cert = certs.cloud.cert, .key = certs.garbage}});
  EXPECT_FALSE(result.store);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].starts_with(certs.garbage + ": ")) << result.errors[0];
}

TEST(CertStoreTest, MissingFileIsAnErrorNamingIt) {
  const std::string missing = test_certificates().pki.dir() + "/nowhere/fullchain.pem";
  CertStore::LoadResult result = CertStore::load({{.cert = missing, .key = missing}});
  EXPECT_FALSE(result.store);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], missing + ": No such file or directory");
}

TEST(CertStoreTest, KeyNotMatchingTheCertificateIsAnError) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result = CertStore::load({certs.mismatched});
  EXPECT_FALSE(result.store);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].starts_with(certs.mismatched.key + ": ")) << result.errors[0];
  EXPECT_NE(result.errors[0].find("does not match"), std::string::npos);
}

TEST(CertStoreTest, CertificateWithoutDnsNamesIsAnError) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result = CertStore::load({certs.ip_only});
  EXPECT_FALSE(result.store);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].starts_with(certs.ip_only.cert + ": ")) << result.errors[0];
}

TEST(CertStoreTest, EveryBrokenFileIsReported) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result = CertStore::load(
      {certs.webmail_ec, certs.mismatched, {.cert = certs.garbage, .key = certs.garbage}});
  EXPECT_FALSE(result.store);
  EXPECT_EQ(result.errors.size(), 2u);
}

TEST(CertStoreTest, NothingToLoadIsAnError) {
  CertStore::LoadResult result = CertStore::load({});
  EXPECT_FALSE(result.store);
  EXPECT_EQ(result.errors.size(), 1u);
}

TEST(CertStoreTest, SameNameAndKeyTypeTwiceKeepsTheLongerLivedOne) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result =
      CertStore::load({certs.webmail_ec, certs.wildcard, certs.webmail_ec});
  ASSERT_TRUE(result.store);
  EXPECT_TRUE(mentions(result.warnings, "EC certificate for webmail.example.coop"));
}

TEST(CertStoreTest, AReloadKeepsTheContextsOfUnchangedCertificates) {
  const auto& certs = test_certificates();
  testing::TestPki pki;
  CertSettings renewed = pki.leaf("renewed", {.cn = "renewed-1", .san = "DNS:r.example.coop"});
  const std::vector<CertSettings> list = {certs.webmail_rsa, certs.webmail_ec, certs.cloud,
                                          renewed};
  auto first = load_ok(list);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->contexts_made(), 3u);  // webmail's two certificates share one
  EXPECT_EQ(first->contexts_kept(), 0u);

  // Nothing changed: every context is kept, none is made.
  CertStore::LoadResult same = CertStore::load(list, false, first.get());
  ASSERT_TRUE(same.store);
  EXPECT_EQ(same.store->contexts_made(), 0u);
  EXPECT_EQ(same.store->contexts_kept(), 3u);
  EXPECT_EQ(same.store->find("cloud.example.coop"), first->find("cloud.example.coop"));
  EXPECT_EQ(same.store->find("r.example.coop"), first->find("r.example.coop"));

  // One certificate renewed in place (same paths, new certificate and key): only its context is
  // made again, and the new store serves the new certificate.
  pki.leaf("renewed", {.cn = "renewed-2", .san = "DNS:r.example.coop"});
  CertStore::LoadResult after = CertStore::load(list, false, same.store.get());
  ASSERT_TRUE(after.store);
  EXPECT_EQ(after.store->contexts_made(), 1u);
  EXPECT_EQ(after.store->contexts_kept(), 2u);
  EXPECT_EQ(served_cn(after.store->find("r.example.coop")), "renewed-2");
  EXPECT_EQ(served_cn(first->find("r.example.coop")), "renewed-1");
  EXPECT_EQ(after.store->find("webmail.example.coop"), first->find("webmail.example.coop"));

  // A shared context outlives the store that made it.
  SSL_CTX* cloud = first->find("cloud.example.coop");
  first.reset();
  same.store.reset();
  EXPECT_EQ(after.store->find("cloud.example.coop"), cloud);
  EXPECT_EQ(served_cn(after.store->find("cloud.example.coop")), "cloud");
}

TEST(CertStoreTest, AReloadOfUnchangedFilesRepeatsTheirWarnings) {
  const auto& certs = test_certificates();
  CertStore::LoadResult first = CertStore::load({certs.expired, certs.webmail_ec});
  ASSERT_TRUE(first.store);
  CertStore::LoadResult again =
      CertStore::load({certs.expired, certs.webmail_ec}, false, first.store.get());
  ASSERT_TRUE(again.store);
  EXPECT_EQ(again.store->contexts_made(), 0u);
  EXPECT_EQ(again.warnings, first.warnings);
  EXPECT_TRUE(mentions(again.warnings, "certificate expired on"));
  EXPECT_TRUE(again.store->certificates()[0].expired);
}

TEST(CertStoreTest, AReloadFindsABrokenFileEvenWhenItsOldBytesLoaded) {
  testing::TestPki pki;
  CertSettings cert = pki.leaf("breaks", {.cn = "breaks", .san = "DNS:b.example.coop"});
  auto first = load_ok({cert});
  ASSERT_TRUE(first);
  pki.write("breaks/privkey.pem", "not a key any more\n");
  CertStore::LoadResult after = CertStore::load({cert}, false, first.get());
  EXPECT_FALSE(after.store);
  EXPECT_TRUE(mentions(after.errors, cert.key));
}

TEST(CertStoreTest, CapturingContextsAreMadeWhenThePreviousStoreHadNone) {
  const auto& certs = test_certificates();
  auto plain = load_ok({certs.webmail_ec});
  ASSERT_TRUE(plain);
  CertStore::LoadResult both = CertStore::load({certs.webmail_ec}, true, plain.get());
  ASSERT_TRUE(both.store);
  EXPECT_EQ(both.store->contexts_kept(), 1u);
  EXPECT_EQ(both.store->contexts_made(), 1u);
  EXPECT_EQ(both.store->find("webmail.example.coop"), plain->find("webmail.example.coop"));
  SSL_CTX* capturing = both.store->find("webmail.example.coop", Records::passeur);
  ASSERT_NE(capturing, nullptr);
  EXPECT_NE(capturing, plain->find("webmail.example.coop"));
}

}  // namespace
}  // namespace tls
