// hearth-test-image-runtime: a tiny custom Lambda runtime for the end-to-end tests of
// container-image functions. tests/e2e/images.py puts it in an image as the entrypoint.
//
// It is linked statically because an image's tree becomes the sandbox root and the test image
// brings no shared libraries. For the same reason it resolves no names: AWS_LAMBDA_RUNTIME_API
// must be a numeric IPv4 host:port (what hearth-init sets, e.g. 127.0.0.1:9001).
//
// Each invoke is answered on /response with a JSON report of what the process sees:
//   {"argv": [...], "cwd": "/app" | null,
//    "env": {NAME: "value" | null for each name in kEnvNames},
//    "event": <the event, embedded verbatim; null when the body is empty>,
//    "file": <contents of argv[1] when it is an absolute path, else null>,
//    "file_error": <strerror() when reading that file failed, else null>}
// The event "crash" (the JSON string) is answered on /error instead. Any failure to talk to the
// Runtime API is printed to stderr and ends the process with status 1.
//
// HTTP: one connection per request (Connection: close); the answer's body is read by its
// Content-Length, which hearth-init always sends.

#define _GNU_SOURCE  // memmem
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* const kEnvNames[] = {
    "HEARTH_IMAGE_VAR",         "FROM_FUNCTION",    "PATH",
    "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "_HANDLER",
};
static const char kApiPrefix[] = "/2018-06-01/runtime/invocation";
static const char kCrashEvent[] = "\"crash\"";
static const char kErrorHeaders[] = "Lambda-Runtime-Function-Error-Type: Function.TestError\r\n";
static const char kErrorBody[] =
    "{\"errorMessage\":\"asked to crash\",\"errorType\":\"TestError\"}";
enum { kMaxHeaderBytes = 64 * 1024 };

static struct sockaddr_in api_addr;  // parsed once from AWS_LAMBDA_RUNTIME_API
static const char* api_host;         // the same, as text, for the Host header

// Single-threaded throughout, so exit(), getenv() and strerror() are safe to use.
_Noreturn static void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  (void)fputs("hearth-test-image-runtime: ", stderr);
  (void)vfprintf(stderr, fmt, ap);
  (void)fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

// A growable byte buffer; `data` is always NUL-terminated (not counted in `len`).
struct buf {
  char* data;
  size_t len, cap;
};

static void buf_append(struct buf* b, const void* p, size_t n) {
  if (n > SIZE_MAX / 4 - b->len) die("out of memory");  // keeps the sizes below from overflowing
  if (b->data == NULL || b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char* data = realloc(b->data, cap);
    if (data == NULL) die("out of memory");
    b->data = data;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_puts(struct buf* b, const char* s) { buf_append(b, s, strlen(s)); }

// Length of the well-formed UTF-8 sequence (RFC 3629) at p, or 0 if it is not one.
static size_t utf8_len(const unsigned char* p, size_t n) {
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  size_t len;
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    len = 2;
  } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    len = 3;
    if (p[0] == 0xE0) lo = 0xA0;  // no overlong forms
    if (p[0] == 0xED) hi = 0x9F;  // no surrogates
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    len = 4;
    if (p[0] == 0xF0) lo = 0x90;  // no overlong forms
    if (p[0] == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; i++) {
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  }
  return len;
}

// Appends s[0..n) as a JSON string: quotes, backslashes and control characters escaped,
// valid UTF-8 kept, each byte of invalid UTF-8 replaced by U+FFFD so the output stays JSON.
static void json_string(struct buf* b, const char* s, size_t n) {
  buf_puts(b, "\"");
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      buf_append(b, esc, 2);
    } else if (c == '\n') {
      buf_puts(b, "\\n");
    } else if (c == '\r') {
      buf_puts(b, "\\r");
    } else if (c == '\t') {
      buf_puts(b, "\\t");
    } else if (c < 0x20 || c == 0x7F) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      buf_puts(b, esc);
    } else if (c >= 0x80) {
      size_t len = utf8_len((const unsigned char*)s + i, n - i);
      if (len == 0) {
        buf_puts(b, "\\ufffd");
      } else {
        buf_append(b, s + i, len);
        i += len;
        continue;
      }
    } else {
      buf_append(b, s + i, 1);
    }
    i++;
  }
  buf_puts(b, "\"");
}

static void json_cstring_or_null(struct buf* b, const char* s) {
  if (s == NULL) {
    buf_puts(b, "null");
  } else {
    json_string(b, s, strlen(s));
  }
}

static void parse_api_address(void) {
  api_host = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api_host == NULL) die("AWS_LAMBDA_RUNTIME_API is not set");
  const char* colon = strrchr(api_host, ':');
  char host[INET_ADDRSTRLEN];
  char* end;
  long port = colon ? strtol(colon + 1, &end, 10) : 0;
  if (colon == NULL || (size_t)(colon - api_host) >= sizeof host || colon[1] == '\0' ||
      *end != '\0' || port <= 0 || port > 65535) {
    die("AWS_LAMBDA_RUNTIME_API must be IPV4:PORT, got \"%s\"", api_host);
  }
  memcpy(host, api_host, (size_t)(colon - api_host));
  host[colon - api_host] = '\0';
  api_addr.sin_family = AF_INET;
  api_addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &api_addr.sin_addr) != 1) {
    die("AWS_LAMBDA_RUNTIME_API host \"%s\" is not an IPv4 address", host);
  }
}

static void send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    // MSG_NOSIGNAL: a peer that went away is EPIPE here, not a SIGPIPE.
    ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) die("send to the Runtime API: %s", strerror(errno));
    p += sent;
    n -= (size_t)sent;
  }
}

// Reads more of the answer into b; returns the number of bytes read (0 at EOF).
static size_t recv_some(int fd, struct buf* b) {
  char chunk[16384];
  ssize_t got;
  do {
    got = recv(fd, chunk, sizeof chunk, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) die("recv from the Runtime API: %s", strerror(errno));
  buf_append(b, chunk, (size_t)got);
  return (size_t)got;
}

// Sends one request and reads the answer. Returns the HTTP status; stores the answer's body
// in *body_out and its Lambda-Runtime-Aws-Request-Id header in id_out (both optional).
static int http_request(const char* method, const char* path, const char* extra_headers,
                        const struct buf* body, struct buf* body_out, char* id_out,
                        size_t id_size) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  if (connect(fd, (const struct sockaddr*)&api_addr, sizeof api_addr) != 0) {
    die("connect to %s: %s", api_host, strerror(errno));
  }
  struct buf out = {0};
  char head[1024];
  int head_len = snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                          "Content-Length: %zu\r\n",
                          method, path, api_host, body ? body->len : 0);
  if (head_len < 0 || (size_t)head_len >= sizeof head) die("%s %s: request too long", method, path);
  buf_puts(&out, head);
  if (body != NULL) buf_puts(&out, "Content-Type: application/json\r\n");
  if (extra_headers != NULL) buf_puts(&out, extra_headers);
  buf_puts(&out, "\r\n");
  if (body != NULL) buf_append(&out, body->data, body->len);
  send_all(fd, out.data, out.len);
  free(out.data);

  // Read up to the end of the header block.
  struct buf in = {0};
  char* end_of_headers;
  while ((end_of_headers = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL) == NULL) {
    if (in.len > kMaxHeaderBytes) die("%s %s: answer headers too long", method, path);
    if (recv_some(fd, &in) == 0) die("%s %s: connection closed before the headers", method, path);
  }
  *end_of_headers = '\0';
  // Status line: "HTTP/1.x NNN reason".
  long status = 0;
  if (strncmp(in.data, "HTTP/1.", 7) == 0 && in.data[7] != '\0' && in.data[8] == ' ') {
    status = strtol(in.data + 9, NULL, 10);
  }
  if (status < 100 || status > 599) die("%s %s: bad status line", method, path);

  // Headers: one per CRLF-terminated line after the status line.
  long long content_length = -1;
  if (id_out != NULL) id_out[0] = '\0';
  for (char* line = strstr(in.data, "\r\n"); line != NULL;) {
    line += 2;
    char* next = strstr(line, "\r\n");
    if (next != NULL) *next = '\0';
    char* value = strchr(line, ':');
    if (value != NULL) {
      *value++ = '\0';
      value += strspn(value, " \t");
      value[strcspn(value, " \t")] = '\0';  // the values read here are single tokens
      if (strcasecmp(line, "Content-Length") == 0) {
        char* end;
        content_length = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || content_length < 0) {
          die("%s %s: bad Content-Length \"%s\"", method, path, value);
        }
      } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        die("%s %s: Transfer-Encoding %s is not supported", method, path, value);
      } else if (strcasecmp(line, "Lambda-Runtime-Aws-Request-Id") == 0 && id_out != NULL) {
        if (strlen(value) >= id_size) die("%s %s: request id too long", method, path);
        memcpy(id_out, value, strlen(value) + 1);
      }
    }
    line = next;
  }

  // Body: what followed the headers, then the rest up to Content-Length (or EOF without one).
  struct buf rest = {0};
  size_t header_bytes = (size_t)(end_of_headers - in.data) + 4;
  buf_append(&rest, in.data + header_bytes, in.len - header_bytes);
  free(in.data);
  while (content_length < 0 || rest.len < (size_t)content_length) {
    if (recv_some(fd, &rest) == 0) {
      if (content_length < 0) break;
      die("%s %s: connection closed inside the body", method, path);
    }
  }
  close(fd);
  if (content_length >= 0) rest.len = (size_t)content_length;
  if (body_out != NULL) {
    *body_out = rest;
  } else {
    free(rest.data);
  }
  return (int)status;
}

// The report /response gets for one event (see the header comment).
static void build_report(struct buf* out, int argc, char** argv, const struct buf* event) {
  buf_puts(out, "{\"argv\":[");
  for (int i = 0; i < argc; i++) {
    if (i > 0) buf_puts(out, ",");
    json_cstring_or_null(out, argv[i]);
  }
  char cwd[PATH_MAX];
  buf_puts(out, "],\"cwd\":");
  json_cstring_or_null(out, getcwd(cwd, sizeof cwd));

  buf_puts(out, ",\"env\":{");
  for (size_t i = 0; i < sizeof kEnvNames / sizeof kEnvNames[0]; i++) {
    if (i > 0) buf_puts(out, ",");
    json_cstring_or_null(out, kEnvNames[i]);
    buf_puts(out, ":");
    json_cstring_or_null(out, getenv(kEnvNames[i]));
  }

  // The event is JSON already; an empty body (an Invoke without payload) becomes null.
  buf_puts(out, "},\"event\":");
  if (event->len == strspn(event->data, " \t\r\n")) {
    buf_puts(out, "null");
  } else {
    buf_append(out, event->data, event->len);
  }

  buf_puts(out, ",\"file\":");
  const char* error = NULL;
  if (argc > 1 && argv[1][0] == '/') {
    FILE* f = fopen(argv[1], "rb");
    struct buf contents = {0};
    if (f != NULL) {
      char chunk[16384];
      size_t got;
      while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&contents, chunk, got);
      if (ferror(f)) error = strerror(errno);
      fclose(f);
    } else {
      error = strerror(errno);
    }
    if (error == NULL) {
      json_string(out, contents.data ? contents.data : "", contents.len);
    } else {
      buf_puts(out, "null");
    }
    free(contents.data);
  } else {
    buf_puts(out, "null");
  }
  buf_puts(out, ",\"file_error\":");
  json_cstring_or_null(out, error);
  buf_puts(out, "}");
}

// True when the event is the JSON string "crash", surrounding whitespace aside.
static int is_crash(const struct buf* event) {
  const char* p = event->data + strspn(event->data, " \t\r\n");
  size_t n = strlen(kCrashEvent);
  return strncmp(p, kCrashEvent, n) == 0 && p[n + strspn(p + n, " \t\r\n")] == '\0';
}

int main(int argc, char** argv) {
  parse_api_address();
  for (;;) {
    char path[512];
    char id[256];
    struct buf event = {0};
    snprintf(path, sizeof path, "%s/next", kApiPrefix);
    int status = http_request("GET", path, NULL, NULL, &event, id, sizeof id);
    if (status != 200) die("GET %s answered %d", path, status);
    // The id goes into a path: refuse anything that could break out of it.
    if (id[0] == '\0' || id[strcspn(id, "/?#%")] != '\0') {
      die("GET %s: missing or unusable Lambda-Runtime-Aws-Request-Id \"%s\"", path, id);
    }
    // The event must be text for strspn/strncmp above; JSON has no NUL bytes.
    if (event.data == NULL) buf_append(&event, "", 0);
    if (memchr(event.data, '\0', event.len) != NULL) die("the event holds a NUL byte");

    struct buf answer = {0};
    const char* route = "response";
    const char* headers = NULL;
    if (is_crash(&event)) {
      route = "error";
      headers = kErrorHeaders;
      buf_puts(&answer, kErrorBody);
    } else {
      build_report(&answer, argc, argv, &event);
    }
    printf("hearth-test-image-runtime: request %s -> %s\n", id, route);
    fflush(stdout);
    snprintf(path, sizeof path, "%s/%s/%s", kApiPrefix, id, route);
    status = http_request("POST", path, headers, &answer, NULL, NULL, 0);
    if (status < 200 || status > 299) die("POST %s answered %d", path, status);
    free(answer.data);
    free(event.data);
  }
}
