/*
 * rdkafka_perf: a small producer/consumer benchmark on librdkafka, in the spirit of librdkafka's
 * examples/rdkafka_performance.c, so that Odradek (or any Kafka-compatible broker) can be
 * measured through a real, widely deployed client rather than only through odradek-perf.
 *
 * Producer (-P): N keyless records of S bytes to a topic, either through the partitioner
 * (RD_KAFKA_PARTITION_UA, the default: librdkafka's sticky partitioning for keyless records) or
 * round-robin over explicit partitions 0..P-1 (-p P). The payload is one static buffer handed to
 * librdkafka without copying (msgflags 0), so the producer's cost is batching and I/O. Waits for
 * every delivery report; any delivery error makes the exit status 1. -K N enqueues with
 * rd_kafka_produce_batch() (N records per call, one partition per call with -p) instead of one
 * rd_kafka_produce() per record: on a 2-core machine the per-record enqueue on the application
 * thread is what limits librdkafka, so this is the client's fastest path. The final lines say how
 * long the application waited on a full librdkafka queue (broker side behind) and how long the
 * last deliveries took.
 *
 * Consumer (-C): the legacy simple consumer, NOT the group consumer (no group coordinator is
 * needed): rd_kafka_consume_start_queue() from the beginning of every partition into one queue,
 * drained with rd_kafka_consume_batch_queue() (-Q N per call, default 10000) or, with -Q cb,
 * rd_kafka_consume_callback_queue(), until N records have arrived. Fetch settings are
 * librdkafka's defaults unless set with -X.
 *
 * -S FILE writes librdkafka's statistics JSON once a second (request counts, RTTs, batch sizes,
 * queue depths) for finding out which side is the bottleneck.
 *
 * Every run is bounded by -T seconds (default 300). Any librdkafka property can be set with
 * -X key=value (applied last, so it overrides the dedicated flags).
 *
 * Build: make -C tools/rdkafka-perf   (or: gcc -O2 -o rdkafka_perf rdkafka_perf.c -lrdkafka)
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define MAX_X 64

struct options {
        char mode; /* 'P' or 'C' */
        const char *brokers;
        const char *topic;
        long long count;
        size_t size;
        const char *acks;
        const char *batch_size;
        const char *batch_num_messages;
        const char *linger_ms;
        const char *compression;
        int partitions; /* 0 = partitioner (producer) / from Metadata (consumer) */
        int timeout_s;
        int progress_s;
        int produce_batch; /* -K: rd_kafka_produce_batch() with this many records per call */
        int drain_batch; /* -Q: consume_batch_queue size; 0 = rd_kafka_consume_callback_queue */
        const char *stats_path; /* -S: librdkafka statistics JSON, one object per line */
        const char *x_keys[MAX_X];
        const char *x_vals[MAX_X];
        int x_count;
};

/* Delivery-report accounting, updated from rd_kafka_poll()/flush on this thread only. */
static struct {
        long long delivered;
        long long errors;
        long long bytes;
        int64_t latency_us_sum;
        int64_t latency_us_max;
        char first_error[256];
} dr;

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "rdkafka_perf: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        exit(2);
}

static void usage(const char *argv0) {
        fprintf(stderr,
                "usage: %s -P|-C -b HOST:PORT -t TOPIC [options]   (-V: print the librdkafka version)\n"
                "  -c N          records to produce / consume (default 1000000)\n"
                "  -s BYTES      record size (producer, default 100)\n"
                "  -a ACKS       acks: 0, 1, -1/all (producer, default 1)\n"
                "  -B BYTES      batch.size (producer)\n"
                "  -N N          batch.num.messages (producer)\n"
                "  -l MS         linger.ms (producer)\n"
                "  -z CODEC      compression.codec: none, gzip, snappy, lz4, zstd\n"
                "  -p P          producer: round-robin over partitions 0..P-1 (default: partitioner);\n"
                "                consumer: partitions 0..P-1 (default: all, from Metadata)\n"
                "  -T SECONDS    give up after this long (default 300)\n"
                "  -i SECONDS    progress interval (default 5, 0 = none)\n"
                "  -K N          producer: rd_kafka_produce_batch() with N records per call\n"
                "                (default: rd_kafka_produce() per record)\n"
                "  -Q N|cb       consumer: drain with rd_kafka_consume_batch_queue(N) (default 10000)\n"
                "                or, with cb, rd_kafka_consume_callback_queue()\n"
                "  -S FILE       write librdkafka statistics (JSON, one line per second) to FILE\n"
                "  -X KEY=VALUE  any librdkafka property (repeatable, applied last)\n",
                argv0);
        exit(2);
}

static void conf_set(rd_kafka_conf_t *conf, const char *key, const char *val) {
        char err[512];
        if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK)
                die("%s=%s: %s", key, val, err);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err) {
                if (dr.errors++ == 0)
                        snprintf(dr.first_error, sizeof(dr.first_error), "%s [%" PRId32 "]: %s",
                                 rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
                return;
        }
        dr.delivered++;
        dr.bytes += (long long)m->len;
        int64_t lat = rd_kafka_message_latency(m);
        if (lat >= 0) {
                dr.latency_us_sum += lat;
                if (lat > dr.latency_us_max)
                        dr.latency_us_max = lat;
        }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk;
        /* Warnings and worse, minus CONFWARN: the legacy consumer's own property
         * (auto.commit.enable) is reported as deprecated on every run. */
        if (level <= 4 && strcmp(fac, "CONFWARN") != 0)
                fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static FILE *stats_file;

static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
        (void)rk;
        (void)opaque;
        fwrite(json, 1, json_len, stats_file);
        fputc('\n', stats_file);
        return 0;
}

static rd_kafka_conf_t *base_conf(const struct options *o) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        conf_set(conf, "bootstrap.servers", o->brokers);
        conf_set(conf, "client.id", "rdkafka_perf");
        rd_kafka_conf_set_log_cb(conf, log_cb);
        if (o->stats_path) {
                if (!(stats_file = fopen(o->stats_path, "w")))
                        die("%s: %s", o->stats_path, strerror(errno));
                /* Served from rd_kafka_poll() / consume calls on the application thread; the
                 * interval can be changed with -X statistics.interval.ms=... */
                conf_set(conf, "statistics.interval.ms", "1000");
                rd_kafka_conf_set_stats_cb(conf, stats_cb);
        }
        return conf;
}

static void apply_x(rd_kafka_conf_t *conf, const struct options *o) {
        for (int i = 0; i < o->x_count; i++)
                conf_set(conf, o->x_keys[i], o->x_vals[i]);
}

static int run_producer(const struct options *o) {
        char err[512];
        rd_kafka_conf_t *conf = base_conf(o);
        conf_set(conf, "acks", o->acks);
        /* Deep enough queues that the application never waits on librdkafka's buffer limits
         * for lack of space, only for lack of broker throughput. */
        conf_set(conf, "queue.buffering.max.messages", "2000000");
        conf_set(conf, "queue.buffering.max.kbytes", "2097151");
        if (o->batch_size)
                conf_set(conf, "batch.size", o->batch_size);
        if (o->batch_num_messages)
                conf_set(conf, "batch.num.messages", o->batch_num_messages);
        if (o->linger_ms)
                conf_set(conf, "linger.ms", o->linger_ms);
        if (o->compression)
                conf_set(conf, "compression.codec", o->compression);
        apply_x(conf, o);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);

        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk)
                die("rd_kafka_new: %s", err);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
        if (!rkt)
                die("topic %s: %s", o->topic, rd_kafka_err2str(rd_kafka_last_error()));

        char *payload = malloc(o->size ? o->size : 1);
        if (!payload)
                die("out of memory");
        uint64_t state = 0x0d7adec0ffeeULL;
        for (size_t i = 0; i < o->size; i++) { /* random uppercase letters, like the Java tool */
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                payload[i] = (char)('A' + state % 26);
        }

        size_t bufsz;
        char batch_size[64] = "?", linger[64] = "?", num[64] = "?";
        rd_kafka_conf_t *eff = rd_kafka_conf_dup(rd_kafka_conf(rk));
        bufsz = sizeof(batch_size);
        rd_kafka_conf_get(eff, "batch.size", batch_size, &bufsz);
        bufsz = sizeof(linger);
        rd_kafka_conf_get(eff, "linger.ms", linger, &bufsz);
        bufsz = sizeof(num);
        rd_kafka_conf_get(eff, "batch.num.messages", num, &bufsz);
        rd_kafka_conf_destroy(eff);
        char api[64] = "produce";
        if (o->produce_batch > 0)
                snprintf(api, sizeof(api), "produce_batch(%d)", o->produce_batch);
        printf("rdkafka_perf (librdkafka %s) producing %lld records of %zu bytes to %s: acks=%s "
               "batch.size=%s batch.num.messages=%s linger.ms=%s compression=%s partitions=%s api=%s\n",
               rd_kafka_version_str(), o->count, o->size, o->topic, o->acks, batch_size, num, linger,
               o->compression ? o->compression : "none", o->partitions ? "round-robin" : "partitioner", api);
        fflush(stdout);

        double start = now_s(), deadline = start + o->timeout_s, next_progress = start + o->progress_s;
        long long produced = 0, last_delivered = 0, produce_failures = 0, queue_full = 0;
        double last_progress = start, queue_full_s = 0;
        int timed_out = 0;
        rd_kafka_message_t *batch = NULL;
        if (o->produce_batch > 0) {
                if (!(batch = calloc((size_t)o->produce_batch, sizeof(*batch))))
                        die("out of memory");
        }
        long long calls = 0;
        while (produced < o->count) {
                if (batch) {
                        /* One call enqueues up to K records: one partition lock and queue wakeup
                         * per call instead of per record. With -p, each call goes to the next
                         * partition; otherwise the partitioner picks per record. */
                        int n = (int)(o->count - produced < o->produce_batch ? o->count - produced : o->produce_batch);
                        int32_t partition = o->partitions ? (int32_t)(calls++ % o->partitions) : RD_KAFKA_PARTITION_UA;
                        for (int i = 0; i < n; i++) {
                                batch[i].payload = payload;
                                batch[i].len = o->size;
                                batch[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
                        }
                        int ok = rd_kafka_produce_batch(rkt, partition, 0, batch, n);
                        produced += ok;
                        if (ok < n) {
                                rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__QUEUE_FULL;
                                for (int i = 0; i < n; i++)
                                        if (batch[i].err && batch[i].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                                e = batch[i].err;
                                                break;
                                        }
                                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                        if (produce_failures++ == 0)
                                                fprintf(stderr, "produce_batch failed: %s\n", rd_kafka_err2str(e));
                                        if (produce_failures > 1000)
                                                break;
                                } else {
                                        double w0 = now_s();
                                        queue_full++;
                                        rd_kafka_poll(rk, 1);
                                        queue_full_s += now_s() - w0;
                                }
                        }
                        rd_kafka_poll(rk, 0);
                } else {
                int32_t partition = o->partitions ? (int32_t)(produced % o->partitions) : RD_KAFKA_PARTITION_UA;
                if (rd_kafka_produce(rkt, partition, 0, payload, o->size, NULL, 0, NULL) == -1) {
                        rd_kafka_resp_err_t e = rd_kafka_last_error();
                        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                if (produce_failures++ == 0)
                                        fprintf(stderr, "produce failed: %s\n", rd_kafka_err2str(e));
                                if (produce_failures > 1000)
                                        break;
                                continue;
                        }
                        /* librdkafka's queue is full: the broker side is behind. Count the waits and
                         * their time, to tell an application-bound run from a broker-bound one. */
                        double w0 = now_s();
                        queue_full++;
                        rd_kafka_poll(rk, 1);
                        queue_full_s += now_s() - w0;
                } else {
                        produced++;
                        if ((produced & 1023) == 0)
                                rd_kafka_poll(rk, 0);
                }
                }
                if (batch || (produced & 1023) == 0 || produce_failures) {
                        double t = now_s();
                        if (t > deadline) {
                                timed_out = 1;
                                break;
                        }
                        if (o->progress_s && t >= next_progress) {
                                printf("%lld records delivered, %.1f records/sec, %d in queue\n",
                                       dr.delivered - last_delivered,
                                       (dr.delivered - last_delivered) / (t - last_progress), rd_kafka_outq_len(rk));
                                fflush(stdout);
                                last_delivered = dr.delivered;
                                last_progress = t;
                                next_progress = t + o->progress_s;
                        }
                }
        }
        double produce_done = now_s();
        /* Wait for every delivery report (rd_kafka_flush, in slices to stay bounded). */
        while (!timed_out && rd_kafka_outq_len(rk) > 0) {
                rd_kafka_poll(rk, 50);
                if (now_s() > deadline)
                        timed_out = 1;
        }
        double elapsed = now_s() - start;
        int left = rd_kafka_outq_len(rk);

        double mb = (double)dr.bytes / (1024.0 * 1024.0);
        printf("%lld records delivered in %.3f s: %.1f records/sec (%.2f MB/sec), "
               "%.2f ms avg latency, %.2f ms max latency; %lld delivery errors, %lld produce() failures, "
               "%d undelivered%s\n",
               dr.delivered, elapsed, dr.delivered / elapsed, mb / elapsed,
               dr.delivered ? dr.latency_us_sum / 1000.0 / dr.delivered : 0.0, dr.latency_us_max / 1000.0,
               dr.errors, produce_failures, left, timed_out ? " (TIMED OUT)" : "");
        printf("produce() loop %.3f s, of which %.3f s waiting on a full queue (%lld waits); "
               "%.3f s flushing the last deliveries\n",
               produce_done - start, queue_full_s, queue_full, elapsed - (produce_done - start));
        if (dr.errors)
                printf("first delivery error: %s\n", dr.first_error);

        free(batch);
        rd_kafka_topic_destroy(rkt);
        if (left)
                rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk, 1000);
        rd_kafka_destroy(rk);
        free(payload);
        return (dr.errors || produce_failures || timed_out || dr.delivered < o->count) ? 1 : 0;
}

/* Partition count from Metadata (waits for the topic to appear). */
static int partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt, double deadline) {
        while (now_s() < deadline) {
                const struct rd_kafka_metadata *md;
                rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        int n = -1;
                        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                                n = md->topics[0].partition_cnt;
                        rd_kafka_metadata_destroy(md);
                        if (n > 0)
                                return n;
                }
                usleep(200 * 1000);
        }
        die("no metadata for topic %s", rd_kafka_topic_name(rkt));
        return 0;
}

struct consume_state {
        long long count, bytes, errors;
        double first_at;
        const char *topic;
};

static void consume_one(const rd_kafka_message_t *m, struct consume_state *cs) {
        if (!m->err) {
                if (cs->count++ == 0)
                        cs->first_at = now_s();
                cs->bytes += (long long)m->len;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (cs->errors++ == 0)
                        fprintf(stderr, "consume error: %s [%" PRId32 "]: %s\n", rd_kafka_topic_name(m->rkt),
                                m->partition, rd_kafka_message_errstr(m));
        }
}

/* -Q 0: librdkafka calls this for each message and destroys it afterwards. */
static void consume_cb(rd_kafka_message_t *m, void *opaque) {
        consume_one(m, opaque);
}

static int run_consumer(const struct options *o) {
        char err[512];
        rd_kafka_conf_t *conf = base_conf(o);
        /* The legacy consumer commits nothing; no group coordinator is involved. */
        conf_set(conf, "enable.auto.commit", "false");
        conf_set(conf, "auto.commit.enable", "false");
        apply_x(conf, o);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk)
                die("rd_kafka_new: %s", err);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
        if (!rkt)
                die("topic %s: %s", o->topic, rd_kafka_err2str(rd_kafka_last_error()));

        double start = now_s(), deadline = start + o->timeout_s;
        int partitions = o->partitions ? o->partitions : partition_count(rk, rkt, deadline);
        char drain[64];
        if (o->drain_batch > 0)
                snprintf(drain, sizeof(drain), "consume_batch_queue(%d)", o->drain_batch);
        else
                snprintf(drain, sizeof(drain), "consume_callback_queue");
        printf("rdkafka_perf (librdkafka %s) consuming %lld records from %s, %d partitions, legacy consumer, %s\n",
               rd_kafka_version_str(), o->count, o->topic, partitions, drain);
        fflush(stdout);

        rd_kafka_queue_t *rkqu = rd_kafka_queue_new(rk);
        start = now_s();
        for (int p = 0; p < partitions; p++)
                if (rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, rkqu) == -1)
                        die("consume_start %s [%d]: %s", o->topic, p, rd_kafka_err2str(rd_kafka_last_error()));

        int batch = o->drain_batch > 0 ? o->drain_batch : 10000;
        rd_kafka_message_t **msgs = malloc(sizeof(*msgs) * (size_t)batch);
        if (!msgs)
                die("out of memory");
        struct consume_state cs = {0};
        long long last_count = 0;
        double next_progress = start + o->progress_s, last_progress = start;
        int timed_out = 0;
        while (cs.count < o->count) {
                if (o->drain_batch > 0) {
                        ssize_t n = rd_kafka_consume_batch_queue(rkqu, 100, msgs, (size_t)batch);
                        if (n < 0)
                                die("consume_batch_queue: %s", rd_kafka_err2str(rd_kafka_last_error()));
                        for (ssize_t i = 0; i < n; i++) {
                                consume_one(msgs[i], &cs);
                                rd_kafka_message_destroy(msgs[i]);
                        }
                } else if (rd_kafka_consume_callback_queue(rkqu, 100, consume_cb, &cs) < 0) {
                        die("consume_callback_queue: %s", rd_kafka_err2str(rd_kafka_last_error()));
                }
                if (stats_file) /* statistics are served from the main queue, not rkqu */
                        rd_kafka_poll(rk, 0);
                double t = now_s();
                if (t > deadline) {
                        timed_out = 1;
                        break;
                }
                if (o->progress_s && t >= next_progress) {
                        printf("%lld records consumed, %.1f records/sec\n", cs.count - last_count,
                               (cs.count - last_count) / (t - last_progress));
                        fflush(stdout);
                        last_count = cs.count;
                        last_progress = t;
                        next_progress = t + o->progress_s;
                }
        }
        double end = now_s(), elapsed = end - start;
        double mb = (double)cs.bytes / (1024.0 * 1024.0);
        printf("%lld records consumed in %.3f s: %.1f records/sec (%.2f MB/sec payload); "
               "%.3f s to the first record; %lld consume errors%s\n",
               cs.count, elapsed, cs.count / elapsed, mb / elapsed, cs.first_at ? cs.first_at - start : -1.0, cs.errors,
               timed_out ? " (TIMED OUT)" : "");

        for (int p = 0; p < partitions; p++)
                rd_kafka_consume_stop(rkt, p);
        free(msgs);
        rd_kafka_queue_destroy(rkqu);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return (cs.errors || timed_out || cs.count < o->count) ? 1 : 0;
}

int main(int argc, char **argv) {
        struct options o = {.count = 1000000, .size = 100, .acks = "1", .timeout_s = 300, .progress_s = 5,
                             .drain_batch = 10000};
        int opt;
        while ((opt = getopt(argc, argv, "PCb:t:c:s:a:B:N:l:z:p:T:i:S:Q:K:X:Vh")) != -1) {
                switch (opt) {
                case 'P':
                case 'C':
                        o.mode = (char)opt;
                        break;
                case 'b': o.brokers = optarg; break;
                case 't': o.topic = optarg; break;
                case 'c': o.count = atoll(optarg); break;
                case 's': o.size = (size_t)atoll(optarg); break;
                case 'a': o.acks = strcmp(optarg, "all") == 0 ? "-1" : optarg; break;
                case 'B': o.batch_size = optarg; break;
                case 'N': o.batch_num_messages = optarg; break;
                case 'l': o.linger_ms = optarg; break;
                case 'z': o.compression = optarg; break;
                case 'p': o.partitions = atoi(optarg); break;
                case 'T': o.timeout_s = atoi(optarg); break;
                case 'i': o.progress_s = atoi(optarg); break;
                case 'S': o.stats_path = optarg; break;
                case 'V': printf("librdkafka %s\n", rd_kafka_version_str()); return 0;
                case 'K': o.produce_batch = atoi(optarg); break;
                case 'Q': o.drain_batch = strcmp(optarg, "cb") == 0 ? 0 : atoi(optarg); break;
                case 'X': {
                        char *eq = strchr(optarg, '=');
                        if (!eq || o.x_count == MAX_X)
                                die("-X expects KEY=VALUE (at most %d)", MAX_X);
                        *eq = '\0';
                        o.x_keys[o.x_count] = optarg;
                        o.x_vals[o.x_count++] = eq + 1;
                        break;
                }
                default: usage(argv[0]);
                }
        }
        if (!o.mode || !o.brokers || !o.topic || o.count <= 0 || o.timeout_s <= 0 || o.partitions < 0)
                usage(argv[0]);
        int rc = o.mode == 'P' ? run_producer(&o) : run_consumer(&o);
        if (stats_file)
                fclose(stats_file);
        return rc;
}
