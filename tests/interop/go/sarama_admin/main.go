// sarama_admin drives Debian's Shopify/sarama 1.22.1 ClusterAdmin, configured for the newest
// Kafka it knows (2.2), through the admin calls it makes on one connection: CreateTopic,
// ListTopics (Metadata v0 for all topics, then DescribeConfigs for each), DescribeTopics,
// DescribeConfig, AlterConfig, ListConsumerGroups and DeleteTopic. Every answer is checked;
// exits non-zero with a "FAIL:" line at the first wrong one.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// eventually retries check every 200 ms until it returns "" or the deadline passes.
func eventually(what string, deadline time.Time, check func() string) {
	for {
		problem := check()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			fail("%s: %s", what, problem)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func topicConfig(admin sarama.ClusterAdmin, topic, key string) (string, error) {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{key}})
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name == key {
			return e.Value, nil
		}
	}
	return "", fmt.Errorf("no %s in %v", key, entries)
}

func main() {
	bootstrap := flag.String("bootstrap", "", "comma-separated host:port list")
	topic := flag.String("topic", "", "topic to create, inspect and delete")
	brokers := flag.Int("brokers", 3, "brokers in the cluster (the topic's replication factor)")
	timeout := flag.Duration("timeout", 120*time.Second, "overall deadline")
	flag.Parse()
	deadline := time.Now().Add(*timeout)

	config := sarama.NewConfig()
	config.Version = sarama.V2_2_0_0
	config.Admin.Timeout = 30 * time.Second
	admin, err := sarama.NewClusterAdmin(strings.Split(*bootstrap, ","), config)
	if err != nil {
		fail("new cluster admin: %v", err)
	}
	defer admin.Close()

	retention := "3600000"
	detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: int16(*brokers), ConfigEntries: map[string]*string{"retention.ms": &retention}}
	if err := admin.CreateTopic(*topic, detail, false); err != nil {
		fail("create topic: %v", err)
	}

	eventually("ListTopics shows the new topic", deadline, func() string {
		topics, err := admin.ListTopics()
		if err != nil {
			return err.Error()
		}
		d, ok := topics[*topic]
		if !ok {
			return "topic not listed"
		}
		if d.NumPartitions != 3 || int(d.ReplicationFactor) != *brokers {
			return fmt.Sprintf("%d partitions, replication factor %d", d.NumPartitions, d.ReplicationFactor)
		}
		if v := d.ConfigEntries["retention.ms"]; v == nil || *v != retention {
			return fmt.Sprintf("config entries %v", d.ConfigEntries)
		}
		return ""
	})

	metadata, err := admin.DescribeTopics([]string{*topic})
	if err != nil {
		fail("describe topics: %v", err)
	}
	if len(metadata) != 1 || metadata[0].Err != sarama.ErrNoError || len(metadata[0].Partitions) != 3 {
		fail("describe topics: %+v", metadata)
	}

	if v, err := topicConfig(admin, *topic, "retention.ms"); err != nil || v != retention {
		fail("describe config: %q %v", v, err)
	}
	longer := "7200000"
	if err := admin.AlterConfig(sarama.TopicResource, *topic, map[string]*string{"retention.ms": &longer}, false); err != nil {
		fail("alter config: %v", err)
	}
	eventually("DescribeConfig sees the altered value", deadline, func() string {
		v, err := topicConfig(admin, *topic, "retention.ms")
		if err != nil {
			return err.Error()
		}
		if v != longer {
			return "retention.ms = " + v
		}
		return ""
	})

	if _, err := admin.ListConsumerGroups(); err != nil {
		fail("list consumer groups: %v", err)
	}

	if err := admin.DeleteTopic(*topic); err != nil {
		fail("delete topic: %v", err)
	}
	eventually("ListTopics no longer shows the topic", deadline, func() string {
		topics, err := admin.ListTopics()
		if err != nil {
			return err.Error()
		}
		if _, ok := topics[*topic]; ok {
			return "still listed"
		}
		return ""
	})
	fmt.Println("OK: sarama admin calls answered")
}
