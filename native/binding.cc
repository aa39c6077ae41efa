// The one binding file: exposes the plain C++ cores (crc32c.cc, sendfile.cc) to JavaScript
// through node-addon-api, and owns the only piece that needs the event loop: waiting for a
// socket to become writable. src/native/addon.ts is the only JavaScript file that loads this.
//
// Errors are JavaScript Errors whose `code` is the errno name (`EPIPE`), with `errno` (negative,
// as libuv and Node report it) and `syscall`, like Node's own fs errors; the JS wrapper turns
// them into SeglogError IO_ERROR.
//
// Exports:
//   crc32c(crc, bytes, start, end) -> uint32         hardware or software, chosen at run time
//   crc32cSoftware(crc, bytes, start, end) -> uint32 the table path (parity tests, benchmarks)
//   crc32cImplementation: "sse4.2" | "armv8-crc" | "software"
//   noop() -> undefined                              the cost of a call, for benchmarks
//   sendfileSupported: boolean
//   sendfile(outFd, inFd, position, count) -> bytes sent (>= 0), or -1 when outFd would block
//   waitWritable(fd, callback) -> handle             calls callback(errName?) once, when fd is
//                                                    writable (or in error: the next write says)
//   cancelWait(handle)                               stops a wait; its callback is never called
#define NAPI_VERSION 8
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "crc32c.h"
#include "sendfile.h"

namespace {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall) {
  // libuv's error codes are negative errnos on Unix, so uv_err_name gives the errno name.
  const char* name = uv_err_name(-err);
  std::string message = std::string(name) + ": " + uv_strerror(-err) + ", " + syscall;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// ---- CRC-32C --------------------------------------------------------------------------------

using CrcFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

// crc32c(crc, bytes, start, end): bounds are checked here, because an out-of-range index must
// be an exception and never a read outside the buffer.
//
// Written against the C N-API rather than node-addon-api: this is the one call made per batch
// on the append and read paths, and skipping the wrapper (CallbackInfo, Napi::Value) took a
// 100-byte call from ~57 ns to ~45 ns on the dev machine (a no-op call costs ~14 ns).
template <CrcFn fn>
napi_value Crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (argc < 4 || napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array && type != napi_int8_array)) {
    napi_throw_type_error(env, nullptr, "crc32c(crc, bytes, start, end): bytes must be a Uint8Array");
    return nullptr;
  }
  uint32_t seed;
  double start, end;
  if (napi_get_value_uint32(env, argv[0], &seed) != napi_ok || napi_get_value_double(env, argv[2], &start) != napi_ok ||
      napi_get_value_double(env, argv[3], &end) != napi_ok) {
    napi_throw_type_error(env, nullptr, "crc32c(crc, bytes, start, end): numbers expected");
    return nullptr;
  }
  // The negated comparison also rejects NaN.
  if (!(start >= 0 && start <= end && end <= static_cast<double>(length))) {
    napi_throw_range_error(env, nullptr, "crc32c(crc, bytes, start, end): need 0 <= start <= end <= bytes.length");
    return nullptr;
  }
  const size_t from = static_cast<size_t>(start);
  const size_t to = static_cast<size_t>(end);
  // An empty typed array may have a null data pointer: fn is not called for an empty range.
  const uint32_t result = to == from ? seed : fn(seed, static_cast<const uint8_t*>(data) + from, to - from);
  napi_value out;
  napi_create_uint32(env, result, &out);
  return out;
}

Napi::Value Noop(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// ---- sendfile -------------------------------------------------------------------------------

bool ToInt64(const Napi::Value& value, int64_t* out) {
  if (!value.IsNumber()) return false;
  const double d = value.As<Napi::Number>().DoubleValue();
  // Integers up to 2^53 only: file positions and fds are JavaScript numbers.
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

Napi::Value Sendfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t out_fd, in_fd, position, count;
  if (info.Length() < 4 || !ToInt64(info[0], &out_fd) || !ToInt64(info[1], &in_fd) || !ToInt64(info[2], &position) ||
      !ToInt64(info[3], &count) || out_fd > INT32_MAX || in_fd > INT32_MAX) {
    return ThrowType(env, "sendfile(outFd, inFd, position, count): non-negative integers expected");
  }
  const int64_t n = seglog::sendfile_some(static_cast<int>(out_fd), static_cast<int>(in_fd), position, static_cast<size_t>(count));
  if (n == -EAGAIN) return Napi::Number::New(env, -1);
  if (n < 0) return ThrowErrno(env, static_cast<int>(-n), "sendfile");
  return Napi::Number::New(env, static_cast<double>(n));
}

// ---- waiting for writability ------------------------------------------------------------------
//
// libuv owns the socket's fd and its epoll registration; a second uv_poll_t on the same fd
// number would clash with it (libuv keys watchers by fd number, and uv_poll_init refuses an fd
// the loop already watches). So the wait polls a dup() of the fd: a separate fd number for the
// same open socket, which epoll accepts as a separate registration. The dup is closed as soon
// as the wait ends, so it keeps the socket open only while a wait is pending; the JS side
// cancels its wait when the socket closes.
//
// Lifetime: a WritableWait is freed when both the uv handle is closed and the JS handle (an
// External) has been collected, whichever comes last; both happen on the loop thread.
//
// A worker thread may end with a wait pending. Its uv handle must be closed, and its close
// callback must run, before Node unloads the addon from that environment: a close callback that
// runs afterwards jumps into unmapped code (seen: SIGSEGV in uv__finish_close on worker exit).
// So each wait holds an *async* cleanup hook, which keeps the environment's teardown waiting;
// the hook starts the close, and OnClosed removes the hook, which lets the teardown finish.

struct WritableWait {
  uv_poll_t poll;
  int fd = -1;
  napi_env env = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
  bool closing = false;
  bool uv_closed = false;
  bool js_released = false;
};

void FreeIfDone(WritableWait* w) {
  if (w->uv_closed && w->js_released) delete w;
}

void OnClosed(uv_handle_t* handle) {
  WritableWait* w = static_cast<WritableWait*>(handle->data);
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  w->uv_closed = true;
  if (w->cleanup != nullptr) {
    // Either cancels the hook (normal end) or tells a waiting teardown that this wait is done.
    napi_remove_async_cleanup_hook(w->cleanup);
    w->cleanup = nullptr;
  }
  FreeIfDone(w);
}

// Stops polling and starts closing; idempotent.
void StopWait(WritableWait* w) {
  if (w->closing) return;
  w->closing = true;
  uv_poll_stop(&w->poll);  // removes the epoll registration now, so the fd may be closed
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
}

// The environment is going away (a worker ends) with a wait pending: close without calling JS.
void AsyncCleanupHook(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  WritableWait* w = static_cast<WritableWait*>(arg);
  w->callback.Reset();
  w->context.reset();
  StopWait(w);  // OnClosed removes the hook; if a close was already under way it does so too
}

void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  WritableWait* w = static_cast<WritableWait*>(handle->data);
  if (w->closing) return;
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::FunctionReference callback = std::move(w->callback);
  std::unique_ptr<Napi::AsyncContext> context = std::move(w->context);
  StopWait(w);
  Napi::Value arg = status < 0 ? Napi::String::New(env, uv_err_name(status)) : env.Undefined();
  callback.MakeCallback(env.Global(), {arg}, *context);
  if (env.IsExceptionPending()) {
    // Never from seglog's own callback; report like any uncaught exception.
    napi_fatal_exception(env, env.GetAndClearPendingException().Value());
  }
}

void FinalizeWait(Napi::Env /*env*/, WritableWait* w) {
  w->js_released = true;
  FreeIfDone(w);
}

Napi::Value WaitWritable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() < 2 || !ToInt64(info[0], &fd) || fd > INT32_MAX || !info[1].IsFunction()) {
    return ThrowType(env, "waitWritable(fd, callback): an fd and a function expected");
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return ThrowErrno(env, EINVAL, "uv_loop");
  const int dup_fd = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ThrowErrno(env, errno, "dup");
  WritableWait* w = new WritableWait();
  w->fd = dup_fd;
  w->env = env;
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, dup_fd);
  if (rc != 0) {
    close(dup_fd);
    delete w;
    return ThrowErrno(env, -rc, "uv_poll_init");
  }
  rc = uv_poll_start(&w->poll, UV_WRITABLE, OnPoll);
  if (rc != 0) {
    w->closing = true;
    w->js_released = true;  // no JS handle will exist
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    return ThrowErrno(env, -rc, "uv_poll_start");
  }
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  w->context = std::make_unique<Napi::AsyncContext>(env, "seglog:waitWritable");
  if (napi_add_async_cleanup_hook(env, AsyncCleanupHook, w, &w->cleanup) != napi_ok) w->cleanup = nullptr;
  return Napi::External<WritableWait>::New(env, w, FinalizeWait);
}

Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) return ThrowType(env, "cancelWait(handle): a handle from waitWritable expected");
  WritableWait* w = info[0].As<Napi::External<WritableWait>>().Data();
  if (!w->closing) {
    w->callback.Reset();
    w->context.reset();
    StopWait(w);
  }
  return env.Undefined();
}

Napi::Value RawFunction(Napi::Env env, const char* name, napi_callback cb) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn), Napi::Value());
  return Napi::Value(env, fn);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", RawFunction(env, "crc32c", Crc32c<seglog::crc32c_update>));
  exports.Set("crc32cSoftware", RawFunction(env, "crc32cSoftware", Crc32c<seglog::crc32c_update_software>));
  exports.Set("crc32cImplementation", Napi::String::New(env, seglog::crc32c_implementation()));
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  exports.Set("sendfileSupported", Napi::Boolean::New(env, seglog::sendfile_supported()));
  exports.Set("sendfile", Napi::Function::New(env, Sendfile, "sendfile"));
  exports.Set("waitWritable", Napi::Function::New(env, WaitWritable, "waitWritable"));
  exports.Set("cancelWait", Napi::Function::New(env, CancelWait, "cancelWait"));
  return exports;
}

}  // namespace

NODE_API_MODULE(seglog_native, Init)
