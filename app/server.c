/*
 * The example service: a tiny HTTP/1.0 server for the ECS blue/green demo.
 *
 *   GET /health  -> 200 "ok"             (ALB target-group and container health checks)
 *   GET /        -> 200 JSON with the version the image was built from
 *   anything else -> 404
 *
 * `app -healthcheck` connects to 127.0.0.1:$PORT/health and exits 0 on a 200: the container
 * health check of taskdef.json, because a `scratch` image has no shell and no curl.
 *
 * One process, one connection at a time, small fixed buffers: it only has to answer health checks
 * and a demo page. Built static (see Makefile) so that the image can be `FROM scratch`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef APP_VERSION
#define APP_VERSION "dev"
#endif

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static int port_from_env(void) {
    const char *p = getenv("PORT");
    int port = p ? atoi(p) : 8080;
    return (port > 0 && port < 65536) ? port : 8080;
}

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, type, strlen(body));
    write_all(fd, head, (size_t)n);
    write_all(fd, body, strlen(body));
}

static void serve(int fd) {
    char req[2048];
    size_t got = 0;
    /* Read until the end of the request line; a slow client gets 5 s (SO_RCVTIMEO). */
    while (got < sizeof req - 1) {
        ssize_t n = read(fd, req + got, sizeof req - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n") || strchr(req, '\n')) break;
    }
    req[got] = '\0';
    char method[8] = "", path[256] = "";
    if (sscanf(req, "%7s %255s", method, path) != 2) {
        respond(fd, 400, "Bad Request", "text/plain", "bad request\n");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        respond(fd, 405, "Method Not Allowed", "text/plain", "method not allowed\n");
        return;
    }
    if (strcmp(path, "/health") == 0) {
        respond(fd, 200, "OK", "text/plain", "ok\n");
    } else if (strcmp(path, "/") == 0) {
        char body[256];
        snprintf(body, sizeof body, "{\"service\":\"web\",\"version\":\"%s\"}\n", APP_VERSION);
        respond(fd, 200, "OK", "application/json", body);
    } else {
        respond(fd, 404, "Not Found", "text/plain", "not found\n");
    }
}

static int healthcheck(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 1;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    const char *req = "GET /health HTTP/1.0\r\n\r\n";
    write_all(fd, req, strlen(req));
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = '\0';
    return strncmp(buf, "HTTP/1.0 200", 12) == 0 || strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    int port = port_from_env();
    if (argc > 1 && strcmp(argv[1], "-healthcheck") == 0) return healthcheck(port);
    if (argc > 1 && strcmp(argv[1], "-version") == 0) {
        puts(APP_VERSION);
        return 0;
    }

    /* SIGTERM from ECS when the blue task set is drained: stop accepting and exit 0. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int srv = socket(AF_INET, SOCK_STREAM, 0);
    if (srv < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    const char *bind_host = getenv("BIND");
    addr.sin_addr.s_addr = bind_host ? inet_addr(bind_host) : htonl(INADDR_ANY);
    if (bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 64) != 0) {
        perror("bind/listen");
        return 1;
    }
    fprintf(stderr, "web %s listening on port %d\n", APP_VERSION, port);

    while (!stopping) {
        int fd = accept(srv, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            continue;
        }
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve(fd);
        close(fd);
    }
    close(srv);
    fprintf(stderr, "web stopped\n");
    return 0;
}
