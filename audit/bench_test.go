package audit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/haiduong/hub/audit"
)

// BenchmarkRecord measures Record with parallel callers, as a serving hub has: throughput
// (records/s) and the latency each call adds to its request (mean and 99th percentile).
// There are p×GOMAXPROCS callers (the -N suffix of the name is GOMAXPROCS): -cpu 1 and p=1
// give a lone caller.
//
//	go test ./audit -run '^$' -bench Record -benchtime 5s -cpu 1,2
func BenchmarkRecord(b *testing.B) {
	for _, parallelism := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("p=%d", parallelism), func(b *testing.B) {
			pool, _ := fresh(b)
			l := start(b, pool, audit.Options{})
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				r := rec(1)
				for pb.Next() {
					t0 := time.Now()
					if err := l.Record(context.Background(), r); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			var sum time.Duration
			for _, d := range lat {
				sum += d
			}
			b.ReportMetric(0, "ns/op") // wall time over all callers says nothing per call
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(sum.Microseconds())/float64(len(lat)), "µs/call")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/call")
		})
	}
}
