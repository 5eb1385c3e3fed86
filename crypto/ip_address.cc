#include "crypto/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace threatmesh::crypto {

std::optional<IpAddress> ParseIp(std::string_view text) {
  // inet_pton reads a C string: text that would not fit an address, or with a NUL in it
  // (which would end the string early), is refused here.
  char t[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof t || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(t, text.data(), text.size());
  t[text.size()] = '\0';
  unsigned char buf[16];
  IpAddress ip;
  if (inet_pton(AF_INET, t, buf) == 1) {
    ip.family = 4;
    ip.bytes.assign(reinterpret_cast<char*>(buf), 4);
    return ip;
  }
  if (inet_pton(AF_INET6, t, buf) == 1) {
    ip.family = 6;
    ip.bytes.assign(reinterpret_cast<char*>(buf), 16);
    return ip;
  }
  return std::nullopt;
}

std::string FormatIp(const IpAddress& ip) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (ip.bytes.size() != (ip.family == 4 ? 4u : 16u)) return "";
  // glibc's inet_ntop writes RFC 5952 text for IPv6.
  inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes.data(), text, sizeof text);
  return text;
}

}  // namespace threatmesh::crypto
