#include "node/interop/stix_verify.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "node/core/record_builder.h"
#include "node/interop/stix.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

class StixVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::RecordBody body = testing::IndicatorBody(key_, v1::INDICATOR_TYPE_DOMAIN,
                                                 "evil.example.com", testing::kTestNowMs);
    body.set_tlp(v1::TLP_AMBER);
    body.add_labels("apt-x");
    const v1::StoredRecord r = testing::StoredRecordOf(body, key_);
    std::ostringstream out;
    StixBundleWriter writer(out);
    std::string why;
    ASSERT_TRUE(writer.Add(r, &why)) << why;
    writer.Finish();
    bundle_ = Json::parse(out.str());
  }

  // The bundle's indicator.
  Json& Indicator() {
    for (Json& o : bundle_["objects"]) {
      if (o["type"] == "indicator") return o;
    }
    ADD_FAILURE() << "no indicator";
    return bundle_;
  }

  ProofResult Verify() { return VerifyStix(bundle_.dump(), testing::kTestNowMs); }

  // Whether `r` names `element` among its failures.
  static bool Names(const ProofResult& r, const std::string& element) {
    for (const ProofFailure& f : r.failures) {
      if (f.element.size() >= element.size() &&
          f.element.compare(f.element.size() - element.size(), element.size(), element) == 0) {
        return true;
      }
    }
    return false;
  }

  crypto::KeyPair key_ = crypto::KeyPair::Generate();
  Json bundle_;
};

TEST_F(StixVerifyTest, AnExportedBundleAndALoneObjectVerify) {
  ASSERT_TRUE(IsThreatmeshStix(bundle_.dump()));
  ProofResult r = Verify();
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kValid)
      << (r.failures.empty() ? "" : r.failures[0].message);
  EXPECT_EQ(r.kind, "stix");
  ProofResult alone = VerifyStix(Indicator().dump(), testing::kTestNowMs);
  EXPECT_EQ(alone.verdict, ProofResult::Verdict::kValid);
}

TEST_F(StixVerifyTest, AChangedPatternTlpLabelOrSignatureIsNamed) {
  const Json original = bundle_;
  Indicator()["pattern"] = "[domain-name:value = 'harmless.example.com']";
  ProofResult r = Verify();
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "pattern"));

  bundle_ = original;
  Indicator()["object_marking_refs"] = Json::array({std::string(TlpMarkingId(v1::TLP_CLEAR))});
  r = Verify();
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "tlp"));

  bundle_ = original;
  Indicator()["labels"] = Json::array({"benign"});
  EXPECT_TRUE(Names(Verify(), "labels"));

  bundle_ = original;
  Json& ext = Indicator()["extensions"][std::string(kStixExtensionId)];
  std::string bytes = *crypto::Base64Decode(ext["signed_record"].get<std::string>());
  bytes[bytes.size() - 3] ^= 1;  // inside the signature
  ext["signed_record"] = crypto::Base64Encode(bytes);
  r = Verify();
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "signature"));
}

TEST_F(StixVerifyTest, WhatIsNotThreatmeshStixIsUnusable) {
  EXPECT_EQ(VerifyStix("not json", 0).verdict, ProofResult::Verdict::kUnusable);
  EXPECT_EQ(VerifyStix("{\"type\":\"bundle\",\"objects\":[{\"type\":\"identity\"}]}", 0).verdict,
            ProofResult::Verdict::kUnusable);
  Json& ext = Indicator()["extensions"][std::string(kStixExtensionId)];
  ext = 7;  // the extension is not an object
  EXPECT_EQ(Verify().verdict, ProofResult::Verdict::kInvalid);
}

}  // namespace
}  // namespace threatmesh::interop
