package measure

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Result is what Run measured: the latency of every request that succeeded, sorted, and the
// failures. Benchmarks that print their own tables (ratios, counts checked against the
// database) start from it.
type Result struct {
	Duration  time.Duration
	Latencies []time.Duration // successful requests only, sorted
	Errors    int
	FirstErr  error
}

// Run runs run from conc clients for dur, as Report does, and returns what it measured
// instead of printing it. A request started before the deadline runs to its end.
func Run(conc int, dur time.Duration, run func(*rand.Rand) error) Result {
	var mu sync.Mutex
	res := Result{Duration: dur}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for time.Now().Before(deadline) {
				start := time.Now()
				err := run(r)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					res.Errors++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.Latencies = append(res.Latencies, d)
				}
				mu.Unlock()
			}
		}(uint64(c))
	}
	wg.Wait()
	slices.Sort(res.Latencies)
	return res
}

// Served is the number of requests that succeeded.
func (r Result) Served() int { return len(r.Latencies) }

// Rate is successful requests per second.
func (r Result) Rate() float64 { return float64(len(r.Latencies)) / r.Duration.Seconds() }

// Percentile is the latency at quantile q (0.5, 0.99) in milliseconds; 0 without a success.
func (r Result) Percentile(q float64) float64 {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := min(int(float64(len(r.Latencies))*q), len(r.Latencies)-1) // as Report picks them
	return ms(r.Latencies[i])
}

// Add merges o, measured over another slice of time, into r: benchmarks that interleave what
// they compare in short slices add the slices of each side up.
func (r *Result) Add(o Result) {
	r.Duration += o.Duration
	r.Latencies = append(r.Latencies, o.Latencies...)
	slices.Sort(r.Latencies)
	r.Errors += o.Errors
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
}
