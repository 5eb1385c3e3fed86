// IP addresses as bytes: the one parser of address text in threatmesh (indicator values, the
// CIDR index, log sanitizing, config hosts), with the rules of inet_pton: IPv4 as exactly four
// decimal octets without leading zeros, IPv6 as RFC 4291 text without a zone. It lives beside
// Crypto-PAn, which maps these bytes. Pure; thread-safe.
#ifndef THREATMESH_CRYPTO_IP_ADDRESS_H_
#define THREATMESH_CRYPTO_IP_ADDRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace threatmesh::crypto {

struct IpAddress {
  uint8_t family = 0;  // 4 or 6
  std::string bytes;   // 4 or 16, network order
  int bits() const { return family == 4 ? 32 : 128; }
};

// The address `text` holds, or nullopt (text with anything around the address, a NUL byte
// or a zone id is not one).
std::optional<IpAddress> ParseIp(std::string_view text);

// Canonical text: dotted quad, or RFC 5952 for IPv6 (lower case, longest zero run as "::").
std::string FormatIp(const IpAddress& ip);

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_IP_ADDRESS_H_
