// The worked test vector of docs/FORMAT.md, reproduced byte for byte.
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "node/core/validate.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh::crypto {
namespace {

constexpr char kSeedHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kPublicHex[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr char kPublicText[] = "tmpkaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4pdskf7a";
constexpr char kFingerprint[] = "5647:5aa7:5463:474c";
constexpr char kPayloadHex[] =
    "0a2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b81080d0eab6b7331802"
    "220408031001320b746573742d766563746f72385a820114080412106576696c2e6578616d706c652e636f6d";
constexpr char kIdHex[] = "fc4800e571f73c2f3b1d9aa8756c1a6b5d2a2caf4272a6613dc243d93072b37e";
constexpr char kSignatureHex[] =
    "a404af6b277559400378b4e54694bd9dd7bcd7d767ede5213ae243b46b0c141d"
    "4755897924693b86a250e153ed91fe83496d224a89d65455254ec6f23e923108";

TEST(FormatVectorTest, KeyFromSeed) {
  absl::StatusOr<KeyPair> key = KeyPair::FromSeed(*HexDecode(kSeedHex));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(HexEncode(key->public_key().bytes()), kPublicHex);
  EXPECT_EQ(key->public_key().ToText(), kPublicText);
  EXPECT_EQ(key->public_key().Fingerprint(), kFingerprint);
}

TEST(FormatVectorTest, IdAndSignature) {
  absl::StatusOr<KeyPair> key = KeyPair::FromSeed(*HexDecode(kSeedHex));
  ASSERT_TRUE(key.ok());
  const std::string payload = *HexDecode(kPayloadHex);
  EXPECT_EQ(HexEncode(RecordId(payload)), kIdHex);
  EXPECT_EQ(HexEncode(key->Sign(kRecordDomain, payload)), kSignatureHex);
  EXPECT_TRUE(Verify(key->public_key(), kRecordDomain, payload, *HexDecode(kSignatureHex)));
}

TEST(FormatVectorTest, PayloadDecodesAsDocumented) {
  threatmesh::v1::RecordBody body;
  ASSERT_TRUE(body.ParseFromString(*HexDecode(kPayloadHex)));
  EXPECT_EQ(HexEncode(body.author()), kPublicHex);
  EXPECT_EQ(body.created_at(), 1767225600000);
  EXPECT_EQ(body.tlp(), threatmesh::v1::TLP_GREEN);
  EXPECT_EQ(body.handling().max_hops(), 3u);
  EXPECT_TRUE(body.handling().may_relay());
  ASSERT_EQ(body.labels_size(), 1);
  EXPECT_EQ(body.labels(0), "test-vector");
  EXPECT_EQ(body.confidence(), 90u);
  EXPECT_EQ(body.indicator().type(), threatmesh::v1::INDICATOR_TYPE_DOMAIN);
  EXPECT_EQ(body.indicator().value(), "evil.example.com");
}

TEST(FormatVectorTest, EnvelopeValidates) {
  threatmesh::v1::Signed envelope;
  envelope.set_payload(*HexDecode(kPayloadHex));
  envelope.set_signature(*HexDecode(kSignatureHex));
  absl::StatusOr<VerifiedRecord> record =
      ValidateRecord(envelope.SerializeAsString(), {}, 1767225600000);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(HexEncode(record->id), kIdHex);
}

}  // namespace
}  // namespace threatmesh::crypto
