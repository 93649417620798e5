/* The file's CRC-64: a thread on its own pread of the file, or inline for a stream. */
#include "checksum.h"

#include "crc64.h"
#include "source.h"

struct CrcThread {
    pthread_t thread;
    int fd;
    uint64_t start, length;
    volatile int stop;
    uint64_t crc;
    int ok; /* 1 done, -1 read error or stopped */
};

static void *crc_thread_main(void *arg) {
    CrcThread *t = arg;
    size_t cap = 4 * CHUNK;
    u8 *buf = malloc(cap);
    uint64_t crc = 0, pos = t->start, end = t->start + t->length;
    t->ok = -1;
    if (!buf) return NULL;
    while (pos < end && !t->stop) {
        size_t want = end - pos < cap ? (size_t)(end - pos) : cap;
        ssize_t got = pread(t->fd, buf, want, (off_t)pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        crc = crc_update(crc, buf, (size_t)got);
        pos += (uint64_t)got;
    }
    free(buf);
    if (pos == end && !t->stop) {
        t->crc = crc;
        t->ok = 1;
    }
    return NULL;
}

void crc_thread_stop(Reader *r) {
    if (!r->crc_thread) return;
    r->crc_thread->stop = 1;
    pthread_join(r->crc_thread->thread, NULL);
    free(r->crc_thread);
    r->crc_thread = NULL;
}

/* CRC of the first `upto` stream bytes: from the thread when it covered exactly that. */
static uint64_t crc_of_prefix(Reader *r, uint64_t upto) {
    CrcThread *t = r->crc_thread;
    if (t) {
        pthread_join(t->thread, NULL);
        r->crc_thread = NULL;
        int ok = t->ok == 1 && t->length == upto;
        uint64_t crc = t->crc;
        free(t);
        if (ok) return crc;
    }
    /* the file does not end where the thread assumed: read the prefix again */
    u8 *buf = malloc(CHUNK);
    if (!buf) fail_nomem(r);
    uint64_t crc = 0, pos = 0;
    while (pos < upto) {
        size_t want = upto - pos < CHUNK ? (size_t)(upto - pos) : CHUNK;
        ssize_t got = pread(r->fd, buf, want, (off_t)(r->fd_start + pos));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            free(buf);
            fail(r, pos, "the file changed while it was read");
        }
        crc = crc_update(crc, buf, (size_t)got);
        pos += (uint64_t)got;
    }
    free(buf);
    return crc;
}

void start_crc_thread(Reader *r) {
    if (r->fd < 0 || !r->verify || r->version < 5) return;
    uint64_t total = r->fd_size - r->fd_start;
    if (total < 9 + 8) return;
    CrcThread *t = calloc(1, sizeof *t);
    if (!t) return; /* crc_of_prefix computes it at the end instead */
    t->fd = r->fd;
    t->start = r->fd_start;
    t->length = total - 8; /* everything before the trailing checksum */
    if (pthread_create(&t->thread, NULL, crc_thread_main, t) != 0) {
        free(t);
        return;
    }
    r->crc_thread = t;
}

void read_trailer(Reader *r) {
    if (r->version < 5) return;
    uint64_t at = OFF(r);
    uint64_t crc;
    if (r->fd >= 0) {
        crc = r->verify ? crc_of_prefix(r, at) : 0;
    } else {
        if (r->crc_inline) {
            r->crc = crc_update(r->crc, r->buf + r->crc_upto, r->pos - r->crc_upto);
            r->crc_upto = r->pos;
            r->crc_inline = 0;
        }
        crc = r->crc;
    }
    const u8 *p = rbytes(r, 8);
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--) stored = (stored << 8) | p[i];
    if (r->verify && stored != 0 && stored != crc)
        fail(r, at, "checksum mismatch (file says %016llx, content is %016llx)",
             (unsigned long long)stored, (unsigned long long)crc);
}
