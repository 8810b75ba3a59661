/*
 * repair-load: a load driver for repair decisions (ops/bench/repair, ops/fault/repair-sync).
 *
 * Streams N POST /v1/repair/decisions over h2c (prior knowledge, x-crgw-role: platform) to one
 * node, with C streams in flight and an optional fixed rate. A request that gets no answer (the
 * node was killed, the connection dropped, 5xx) is sent again after a reconnect, so every
 * decision is eventually answered 201. Each 201 is logged: "index record event_id origin_seq
 * decision sent_ms" (--log FILE).
 *
 * Records: --records R cycles over R record ids "<prefix>-<k>" (k = index % R); the decisions of
 * a record alternate repaired, revoked, repaired, ... (the record's state allows each one: a
 * revoked needs a repaired record, a repaired one that is not repaired), with decided_at never
 * going back, and a record's next decision is sent only once its previous one was answered.
 * Every request carries an Idempotency-Key and is resent with the same body, so a decision whose
 * answer was lost is answered from the stored answer instead of being decided twice (which the
 * record's state would refuse: 409). --seed is accepted for compatibility (it no longer picks
 * the decisions); --idem is accepted too (every request carries its key). The 503 answers
 * (durability-not-reached) are counted ("answered 503" in the summary) and resent. With --unique, every decision is for its own record
 * and, with --peer-redis ADDR (repeatable: unix:/path), the driver waits until every record is
 * present at every peer and prints the throughput (decisions / (last applied - first sent)) and
 * the p50/p90/p99/max latency from send to "received_at" at the peers (same machine clock).
 *
 * Build: cc -O2 -o repair-load repair-load.c $(pkg-config --cflags --libs libnghttp2 libevent
 * hiredis)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <nghttp2/nghttp2.h>

#define MAX_PEERS 8

typedef struct {
    int idx;
    int record;
    const char *decision;
    char body[768];
    size_t len, off;
    long long sent_ms;
    int32_t stream_id;
    int status;
    char resp[512];
    size_t rlen;
    int queued;   /* in the to-send queue */
    int answered; /* 201 or refused: the record's next decision may go */
} req;

static struct {
    const char *host;
    int port;
    int n, records, conc, unique, idem;
    double rate;
    unsigned seed;
    const char *prefix, *uscc, *origin, *domain;
    FILE *log;
    const char *peers[MAX_PEERS];
    int n_peers;
    int wait_s;

    struct event_base *base;
    struct bufferevent *bev;
    nghttp2_session *sess;
    int connected;
    req *reqs;
    int *queue; /* ring of request indexes to send */
    int qhead, qtail, qlen;
    int inflight, done, ok, errors, retries, refused503;
    double tokens;
    struct event *tick, *reconnect_ev;
    long long first_sent_ms, last_answer_ms;
    long long started_ms; /* part of every Idempotency-Key: runs do not meet */
} g;

static int to_i(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

static long long to_ll(const char *s)
{
    return strtoll(s, NULL, 10);
}

static double strtod_(const char *s)
{
    return strtod(s, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void q_push(int i)
{
    g.queue[g.qtail] = i;
    g.qtail = (g.qtail + 1) % g.n;
    g.qlen++;
    g.reqs[i].queued = 1;
}

/* A request to send again: before everything queued (the order of a record's decisions). */
static void q_push_front(int i)
{
    g.qhead = (g.qhead + g.n - 1) % g.n;
    g.queue[g.qhead] = i;
    g.qlen++;
    g.reqs[i].queued = 1;
}

/* 1 when request i may be sent: its record's previous decision was answered. */
static int q_ready(int i)
{
    return g.unique || i < g.records || g.reqs[i - g.records].answered;
}

static int q_pop(void)
{
    int i = g.queue[g.qhead];
    g.qhead = (g.qhead + 1) % g.n;
    g.qlen--;
    g.reqs[i].queued = 0;
    return i;
}

static void pump(void);
static void connect_node(void);

static void close_conn(const char *why)
{
    if (g.sess) {
        nghttp2_session_del(g.sess);
        g.sess = NULL;
    }
    if (g.bev) {
        bufferevent_free(g.bev);
        g.bev = NULL;
    }
    g.connected = 0;
    /* Everything in flight goes back to the front of the queue, in index order. */
    for (int i = g.n - 1; i >= 0; i--) {
        req *r = &g.reqs[i];
        if (r->stream_id > 0) {
            r->stream_id = 0;
            r->status = 0;
            r->rlen = 0;
            g.inflight--;
            g.retries++;
            q_push_front(i);
        }
    }
    static long long last_log;
    if (now_ms() - last_log > 1000) {
        fprintf(stderr, "repair-load: connection lost (%s), %d answered, retrying\n", why, g.done);
        last_log = now_ms();
    }
    struct timeval tv = {0, 200 * 1000};
    evtimer_add(g.reconnect_ev, &tv);
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    (void)ud;
    bufferevent_write(g.bev, data, len);
    return (ssize_t)len;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (r && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        r->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    (void)flags;
    (void)ud;
    req *r = nghttp2_session_get_stream_user_data(s, id);
    if (r && r->rlen + len < sizeof(r->resp)) {
        memcpy(r->resp + r->rlen, data, len);
        r->rlen += len;
        r->resp[r->rlen] = '\0';
    }
    return 0;
}

static int close_cb(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void)ud;
    req *r = nghttp2_session_get_stream_user_data(s, id);
    if (r == NULL || r->stream_id != id)
        return 0;
    r->stream_id = 0;
    g.inflight--;
    if (r->status == 201 && err == 0) {
        const char *e = strstr(r->resp, "\"event_id\":\"");
        const char *q = strstr(r->resp, "\"origin_seq\":");
        char eid[64] = "?";
        long long seq = -1;
        if (e)
            sscanf(e + 12, "%63[^\"]", eid);
        if (q)
            seq = to_ll(q + 13);
        if (g.log)
            fprintf(g.log, "%d %s-%d %s %lld %s %lld\n", r->idx, g.prefix, r->record, eid, seq,
                    r->decision, r->sent_ms);
        g.ok++;
        g.done++;
        r->answered = 1;
        g.last_answer_ms = now_ms();
    } else if (r->status >= 500 || r->status == 0 || err != 0) {
        g.retries++;
        if (r->status == 503)
            g.refused503++;
        r->status = 0;
        r->rlen = 0;
        q_push_front(r->idx);
    } else {
        fprintf(stderr, "repair-load: decision %d answered %d: %s\n", r->idx, r->status, r->resp);
        g.errors++;
        g.done++;
        r->answered = 1;
    }
    if (g.done == g.n)
        event_base_loopexit(g.base, NULL);
    return 0;
}

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    req *r = src->ptr;
    size_t n = r->len - r->off;
    if (n > length)
        n = length;
    memcpy(buf, r->body + r->off, n);
    r->off += n;
    if (r->off == r->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void submit(int i)
{
    req *r = &g.reqs[i];
    long long ms = now_ms();
    if (r->len == 0) { /* built once: a resend is the same request (Idempotency-Key) */
        char ts[40];
        time_t t = (time_t)(ms / 1000) + 8 * 3600;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S+08:00", &tm);
        r->len = (size_t)snprintf(r->body, sizeof(r->body),
                                  "{\"record\":{\"origin_node\":\"%s\",\"record_id\":\"%s-%d\","
                                  "\"domain\":\"%s\"},\"subject_uscc\":\"%s\",\"decision\":\"%s\","
                                  "\"decided_by\":\"repair-load\",\"decided_at\":\"%s\"}",
                                  g.origin, g.prefix, r->record, g.domain, g.uscc, r->decision, ts);
    }
    r->off = 0;
    r->sent_ms = ms;
    if (g.first_sent_ms == 0)
        g.first_sent_ms = ms;
    char clen[16], auth[64], idem[64];
    snprintf(clen, sizeof(clen), "%zu", r->len);
    snprintf(idem, sizeof(idem), "repair-load-%lld-%d", g.started_ms, r->idx);
    snprintf(auth, sizeof(auth), "%s:%d", g.host, g.port);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv h[] = {NV(":method", "POST"),
                      NV(":scheme", "http"),
                      NV(":authority", auth),
                      NV(":path", "/v1/repair/decisions"),
                      NV("content-type", "application/json"),
                      NV("content-length", clen),
                      NV("x-crgw-role", "platform"),
                      NV("idempotency-key", idem)};
#undef NV
    nghttp2_data_provider dp = {.source.ptr = r, .read_callback = body_cb};
    size_t nh = sizeof(h) / sizeof(h[0]);
    int32_t id = nghttp2_submit_request(g.sess, NULL, h, nh, &dp, r);
    if (id < 0) {
        q_push(i);
        return;
    }
    r->stream_id = id;
    r->status = 0;
    r->rlen = 0;
    g.inflight++;
}

static void pump(void)
{
    if (!g.connected)
        return;
    while (g.qlen > 0 && g.inflight < g.conc && (g.rate <= 0 || g.tokens >= 1.0) &&
           q_ready(g.queue[g.qhead])) {
        submit(q_pop());
        if (g.rate > 0)
            g.tokens -= 1.0;
    }
    if (nghttp2_session_send(g.sess) != 0)
        close_conn("send");
}

static void readcb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    ssize_t rv = nghttp2_session_mem_recv(g.sess, evbuffer_pullup(in, -1), len);
    if (rv < 0) {
        close_conn("protocol");
        return;
    }
    evbuffer_drain(in, (size_t)rv);
    pump();
}

static void eventcb(struct bufferevent *bev, short ev, void *arg)
{
    (void)bev;
    (void)arg;
    if (ev & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(g.bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        nghttp2_session_callbacks *cb;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_send_callback(cb, send_cb);
        nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
        nghttp2_session_client_new(&g.sess, cb, NULL);
        nghttp2_session_callbacks_del(cb);
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
        nghttp2_submit_settings(g.sess, NGHTTP2_FLAG_NONE, iv, 1);
        g.connected = 1;
        pump();
        return;
    }
    close_conn(ev & BEV_EVENT_EOF ? "eof" : "error");
}

static void connect_node(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    inet_pton(AF_INET, g.host, &sa.sin_addr);
    g.bev = bufferevent_socket_new(g.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(g.bev, readcb, NULL, eventcb, NULL);
    bufferevent_enable(g.bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(g.bev, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        close_conn("connect");
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (!g.bev)
        connect_node();
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (g.rate > 0) {
        static long long last_us;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        if (last_us == 0)
            last_us = us;
        g.tokens += g.rate * (double)(us - last_us) / 1e6;
        last_us = us;
        if (g.tokens > g.rate * 0.01 + 1)
            g.tokens = g.rate * 0.01 + 1;
    }
    pump();
}

/* "2026-11-23T15:43:26.034+08:00" -> Unix ms. */
static long long parse_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return ((long long)timegm(&tm) - 8 * 3600) * 1000 + ms;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static redisContext *redis_open(const char *addr)
{
    if (strncmp(addr, "unix:", 5) == 0)
        return redisConnectUnix(addr + 5);
    char host[64];
    int port = 6379;
    sscanf(addr, "%63[^:]:%d", host, &port);
    return redisConnect(host, port);
}

/* Counts the fields of a hash that start with ARGV[1]. */
#define LUA_COUNT                                                                                  \
    "local n = 0 for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "                             \
    "if string.sub(f, 1, #ARGV[1]) == ARGV[1] then n = n + 1 end end return n"

/* Waits until every unique record is at every peer; prints throughput and latencies. */
static int check_peers(void)
{
    long long *lat = calloc((size_t)g.n * (size_t)g.n_peers, sizeof(long long));
    size_t nl = 0;
    long long last_applied = 0;
    int rc = 0;
    for (int p = 0; p < g.n_peers; p++) {
        redisContext *c = redis_open(g.peers[p]);
        if (c == NULL || c->err) {
            fprintf(stderr, "repair-load: cannot connect to %s\n", g.peers[p]);
            return 1;
        }
        char count_prefix[128];
        snprintf(count_prefix, sizeof(count_prefix), "%s:%s-", g.origin, g.prefix);
        long long deadline = now_ms() + (long long)g.wait_s * 1000;
        long long have = 0;
        while (now_ms() < deadline) {
            redisReply *r =
                redisCommand(c, "EVAL %s 1 crgw:rs:%s %s", LUA_COUNT, g.uscc, count_prefix);
            have = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
            freeReplyObject(r);
            if (have >= g.ok)
                break;
            usleep(20000);
        }
        if (have < g.ok) {
            fprintf(stderr, "repair-load: peer %s has %lld of %d records after %d s\n", g.peers[p],
                    have, g.ok, g.wait_s);
            rc = 1;
        }
        redisReply *r = redisCommand(c, "HGETALL crgw:rs:%s", g.uscc);
        for (size_t i = 0; r && i + 1 < r->elements; i += 2) {
            const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
            char want[128];
            int wl = snprintf(want, sizeof(want), "%s:%s-", g.origin, g.prefix);
            const char *ra = strstr(v, "\"received_at\":\"");
            if (strncmp(f, want, (size_t)wl) != 0 || !ra || nl >= (size_t)g.n * (size_t)g.n_peers)
                continue;
            int idx = to_i(f + wl);
            if (idx < 0 || idx >= g.n)
                continue;
            long long rms = parse_ms(ra + 15);
            if (rms < 0)
                continue;
            lat[nl++] = rms - g.reqs[idx].sent_ms;
            if (rms > last_applied)
                last_applied = rms;
        }
        freeReplyObject(r);
        redisFree(c);
    }
    qsort(lat, nl, sizeof(long long), cmp_ll);
    double secs = (double)(last_applied - g.first_sent_ms) / 1000.0;
    if (nl > 0) {
        printf("applied: %zu events at %d peer(s)\n", nl, g.n_peers);
        printf("throughput: %.0f decisions/s applied at every peer (%d decisions in %.2f s)\n",
               secs > 0 ? g.ok / secs : 0.0, g.ok, secs);
        printf("latency decision->applied ms: p50 %lld  p90 %lld  p99 %lld  max %lld\n",
               lat[nl / 2], lat[nl * 9 / 10], lat[nl * 99 / 100], lat[nl - 1]);
    }
    free(lat);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: repair-load --node HOST:PORT --n N [--records R | --unique] "
                    "[--concurrency C] [--rate R] [--seed S] [--prefix P] [--uscc U] "
                    "[--origin CODE] [--log FILE] [--peer-redis ADDR]... [--wait S] [--idem]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    g.host = "127.0.0.1";
    g.port = 19120;
    g.n = 1000;
    g.records = 100;
    g.conc = 64;
    g.seed = 1;
    g.prefix = "LOAD";
    g.uscc = "91120116MA06T8E28X";
    g.origin = "120000";
    g.domain = "transport";
    g.wait_s = 60;
    static char hostbuf[64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--unique") == 0) {
            g.unique = 1;
            continue;
        }
        if (strcmp(a, "--idem") == 0) {
            g.idem = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--node") == 0) {
            if (sscanf(v, "%63[^:]:%d", hostbuf, &g.port) != 2)
                usage();
            g.host = hostbuf;
        } else if (strcmp(a, "--n") == 0)
            g.n = to_i(v);
        else if (strcmp(a, "--records") == 0)
            g.records = to_i(v);
        else if (strcmp(a, "--concurrency") == 0)
            g.conc = to_i(v);
        else if (strcmp(a, "--rate") == 0)
            g.rate = strtod_(v);
        else if (strcmp(a, "--seed") == 0)
            g.seed = (unsigned)to_i(v);
        else if (strcmp(a, "--prefix") == 0)
            g.prefix = v;
        else if (strcmp(a, "--uscc") == 0)
            g.uscc = v;
        else if (strcmp(a, "--origin") == 0)
            g.origin = v;
        else if (strcmp(a, "--log") == 0) {
            g.log = fopen(v, "w");
            if (g.log)
                setvbuf(g.log, NULL, _IOLBF, 0); /* progress is read while running */
        } else if (strcmp(a, "--peer-redis") == 0 && g.n_peers < MAX_PEERS)
            g.peers[g.n_peers++] = v;
        else if (strcmp(a, "--wait") == 0)
            g.wait_s = to_i(v);
        else
            usage();
    }
    if (g.n <= 0 || g.records <= 0 || g.conc <= 0)
        usage();
    srandom(g.seed);
    g.started_ms = now_ms();
    g.reqs = calloc((size_t)g.n, sizeof(req));
    g.queue = calloc((size_t)g.n, sizeof(int));
    for (int i = 0; i < g.n; i++) {
        g.reqs[i].idx = i;
        g.reqs[i].record = g.unique ? i : i % g.records;
        g.reqs[i].decision = g.unique || (i / g.records) % 2 == 0 ? "repaired" : "revoked";
        q_push(i);
    }
    g.base = event_base_new();
    g.tick = event_new(g.base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 2000};
    evtimer_add(g.tick, &tv);
    g.reconnect_ev = evtimer_new(g.base, reconnect_cb, NULL);
    connect_node();
    long long t0 = now_ms();
    event_base_dispatch(g.base);
    long long t1 = now_ms();
    if (g.log)
        fclose(g.log);
    printf("sent: %d decisions, %d answered 201, %d refused, %d resent (%d after a 503), %.2f s "
           "(%.0f/s)\n",
           g.n, g.ok, g.errors, g.retries, g.refused503, (double)(t1 - t0) / 1000.0,
           (double)g.ok * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
    int rc = g.errors ? 1 : 0;
    if (g.n_peers && g.unique)
        rc |= check_peers();
    return rc;
}
