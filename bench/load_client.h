// The pieces bench/log_batch_load.cc and bench/http_load.cc share: exiting
// with a message, a keep-alive loopback connection, and HTTP/1.1 response
// framing (Content-Length bodies, as Cairn always sends).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace cairn::bench {

// Set by each tool's main to prefix its messages.
inline const char* tool_name = "load";

[[noreturn]] inline void Fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", tool_name, message.c_str());
  std::exit(1);
}

// A TCP connection to 127.0.0.1:port with Nagle off, or exits.
inline int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    Fail("connect to port " + std::to_string(port) + ": " + std::strerror(errno));
  }
  return fd;
}

// The length of the first whole response in `data`, with its status in
// *status, or 0 while it is incomplete.
inline size_t ResponseLength(std::string_view data, int* status) {
  size_t header_end = data.find("\r\n\r\n");
  if (header_end == std::string_view::npos) return 0;
  std::string_view headers = data.substr(0, header_end);
  std::string_view code = headers.substr(headers.find(' ') + 1, 3);
  std::from_chars(code.data(), code.data() + code.size(), *status);
  size_t length = 0;
  for (size_t line = headers.find("\r\n"); line != std::string_view::npos;
       line = headers.find("\r\n", line + 2)) {
    std::string_view rest = headers.substr(line + 2);
    constexpr std::string_view kName = "content-length:";
    if (rest.size() < kName.size()) continue;
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(rest[i])) == kName[i];
    }
    if (!match) continue;
    std::string_view digits = rest.substr(kName.size());
    while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
    std::from_chars(digits.data(), digits.data() + digits.size(), length);
    break;
  }
  size_t total = header_end + 4 + length;
  return data.size() >= total ? total : 0;
}

}  // namespace cairn::bench
