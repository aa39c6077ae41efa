// sendfile(2) for Linux; other platforms report ENOSYS and seglog uses its read + write path.
#include "sendfile.h"

#include <errno.h>

#if defined(__linux__)
#include <sys/sendfile.h>
#include <sys/types.h>
#endif

namespace seglog {

#if defined(__linux__)

int64_t sendfile_some(int out_fd, int in_fd, int64_t offset, size_t count) {
  if (offset < 0) return -EINVAL;
  if (count > kSendfileMaxCount) count = kSendfileMaxCount;
  for (;;) {
    off_t pos = static_cast<off_t>(offset);
    ssize_t n = ::sendfile(out_fd, in_fd, &pos, count);
    if (n >= 0) return static_cast<int64_t>(n);
    if (errno == EINTR) continue;
    // EWOULDBLOCK equals EAGAIN on Linux; normalise anyway so callers test one value.
    return errno == EWOULDBLOCK ? -EAGAIN : -static_cast<int64_t>(errno);
  }
}

bool sendfile_supported() { return true; }

#else

int64_t sendfile_some(int, int, int64_t, size_t) { return -ENOSYS; }

bool sendfile_supported() { return false; }

#endif

}  // namespace seglog
