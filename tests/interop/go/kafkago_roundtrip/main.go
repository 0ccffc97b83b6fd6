// kafkago_roundtrip drives Debian's segmentio/kafka-go 0.2.1, a client from before magic 2: it
// produces with Produce v2 (magic-1 message sets, plain and gzip-compressed), lists offsets with
// ListOffsets v1 and consumes with Fetch v2, which a Kafka 2.8 broker answers by down-converting
// its magic-2 batches. Every record read back is compared with what was written, offsets included.
// Exits non-zero with a "FAIL:" line at the first mismatch.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	bootstrap := flag.String("bootstrap", "", "host:port of the partition's leader")
	topic := flag.String("topic", "", "topic (partition 0 is used)")
	count := flag.Int("count", 1000, "records to write, half plain, half gzip")
	timeout := flag.Duration("timeout", 120*time.Second, "overall deadline")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", *bootstrap, *topic, 0)
	if err != nil {
		fail("dial leader: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(*timeout))

	key := func(i int) string { return fmt.Sprintf("key-%d", i) }
	value := func(i int) string { return fmt.Sprintf("value-%d-%s", i, string(make([]byte, i%40))) }
	const perBatch = 50
	for start := 0; start < *count; start += perBatch {
		msgs := []kafka.Message{}
		for i := start; i < start+perBatch && i < *count; i++ {
			msgs = append(msgs, kafka.Message{Key: []byte(key(i)), Value: []byte(value(i))})
		}
		var codec kafka.CompressionCodec
		if start >= *count/2 {
			codec = gzip.NewCompressionCodec()
		}
		if _, err := conn.WriteCompressedMessages(codec, msgs...); err != nil {
			fail("write batch at %d: %v", start, err)
		}
	}

	first, last, err := conn.ReadOffsets()
	if err != nil {
		fail("read offsets: %v", err)
	}
	if first != 0 || last != int64(*count) {
		fail("offsets [%d, %d), want [0, %d)", first, last, *count)
	}

	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		fail("seek: %v", err)
	}
	next := 0
	for next < *count {
		batch := conn.ReadBatch(1, 1<<20)
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			if m.Offset != int64(next) {
				fail("record %d came at offset %d", next, m.Offset)
			}
			if string(m.Key) != key(next) || string(m.Value) != value(next) {
				fail("record %d: key %q value %q", next, m.Key, m.Value)
			}
			if m.Time.IsZero() {
				fail("record %d has no timestamp", next)
			}
			next++
		}
		if err := batch.Close(); err != nil && next < *count {
			fail("fetch after %d records: %v", next, err)
		}
	}
	fmt.Printf("OK: %d records written and read back\n", next)
}
