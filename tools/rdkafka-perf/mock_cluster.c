/*
 * mock_cluster: runs librdkafka's built-in mock Kafka cluster (rdkafka_mock.h) so the benchmark
 * tools can be smoke-tested against a Kafka-compatible broker that is not Odradek.
 *
 *   mock_cluster BROKERS SECONDS TOPIC:PARTITIONS...
 *
 * Prints "bootstrap HOST:PORT,..." on stdout once the topics exist, then serves for SECONDS
 * (bounded; killing it is fine). The mock is an in-memory test double, not a benchmark target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: %s BROKERS SECONDS TOPIC:PARTITIONS...\n", argv[0]);
                return 2;
        }
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", err);
                return 1;
        }
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, atoi(argv[1]));
        if (!mc) {
                fprintf(stderr, "cannot create the mock cluster\n");
                return 1;
        }
        for (int i = 3; i < argc; i++) {
                char *colon = strrchr(argv[i], ':');
                int partitions = colon ? atoi(colon + 1) : 1;
                if (colon)
                        *colon = '\0';
                rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, argv[i], partitions, 1);
                if (e) {
                        fprintf(stderr, "topic %s: %s\n", argv[i], rd_kafka_err2str(e));
                        return 1;
                }
        }
        printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        sleep((unsigned)atoi(argv[2]));
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
