// sendfile(2): copy bytes from a file to a socket (or any fd) inside the kernel, without
// passing them through user space. Kafka serves consumer fetches this way (FileRecords.writeTo
// → FileChannel.transferTo).
//
// Plain C++ with no Node dependency. The call never blocks on the output when `out_fd` is
// non-blocking (libuv makes every socket it owns non-blocking): a full socket buffer gives a
// partial count or -EAGAIN, and the caller decides how to wait for writability. It can block on
// the *input* when the file range is not in the page cache (a disk read), as Kafka's
// transferTo does.
#ifndef SEGLOG_SENDFILE_H
#define SEGLOG_SENDFILE_H

#include <stddef.h>
#include <stdint.h>

namespace seglog {

// Largest count one call asks for: Linux transfers at most 0x7ffff000 bytes per call anyway.
constexpr size_t kSendfileMaxCount = 0x7ffff000;

// Sends up to `count` bytes of `in_fd` starting at file position `offset` to `out_fd`. The file
// offset of `in_fd` is not changed (positional, like pread). Returns the bytes sent (> 0), 0 at
// the end of the file, or a negative errno: -EAGAIN when `out_fd` cannot take a byte now. EINTR
// is retried. -ENOSYS where the platform has no Linux-style sendfile.
int64_t sendfile_some(int out_fd, int in_fd, int64_t offset, size_t count);

// Whether sendfile_some is implemented on this platform (Linux).
bool sendfile_supported();

}  // namespace seglog

#endif  // SEGLOG_SENDFILE_H
