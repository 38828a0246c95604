package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
)

// RateLimit bounds how fast one caller may call the hub: a token bucket per credential (API
// key, identity-provider subject) and, for anonymous callers, per client address. A zero rate
// is unlimited. The operator's admin token is never limited.
type RateLimit struct {
	PerSecond          float64
	Burst              int
	AnonymousPerSecond float64
	AnonymousBurst     int
}

var (
	msgRateLimited = api.Msg("Khóa %[1]s đã vượt hạn mức %[2]g yêu cầu/giây; thử lại sau %[3]d giây",
		"credential %[1]s is over its limit of %[2]g requests per second; retry in %[3]d s")
	msgAnonRateLimited = api.Msg("Địa chỉ của bạn đã vượt hạn mức %[1]g yêu cầu/giây cho truy cập không có khóa; thử lại sau %[2]d giây, hoặc dùng khóa API để có hạn mức cao hơn",
		"your address is over the limit of %[1]g requests per second without a credential; retry in %[2]d s, or use an API key for a higher limit")
)

const (
	// maxBuckets caps the memory one limiter holds (a bucket is about 100 bytes) against a
	// caller cycling through addresses.
	maxBuckets = 100_000
	// sweepEvery is how often full buckets are dropped.
	sweepEvery = time.Minute
)

// rateLimit refuses a caller over its rate with a 429 and Retry-After. It must run after
// authenticate: the bucket is the principal's.
func rateLimit(cfg RateLimit, reg *prometheus.Registry, next http.Handler) http.Handler {
	agencies := newLimiter(cfg.PerSecond, cfg.Burst)
	anonymous := newLimiter(cfg.AnonymousPerSecond, cfg.AnonymousBurst)
	if agencies == nil && anonymous == nil {
		return next
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hub_http_rate_limited_total", Help: "Requests refused with 429 by principal kind.",
	}, []string{"kind"})
	reg.MustRegister(refused)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := access.From(r.Context())
		l, key := agencies, p.Credential
		switch {
		case p.Kind == access.Admin:
			l = nil
		case p.Kind == access.Anonymous:
			l, key = anonymous, clientKey(r.RemoteAddr)
		case key == "":
			key = p.Agency + "/" + p.Application
		}
		if l == nil {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.take(key, time.Now())
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		refused.WithLabelValues(p.Kind).Inc()
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		var err *api.Error
		if p.Kind == access.Anonymous {
			err = api.Errorf(http.StatusTooManyRequests, "TooManyRequests", msgAnonRateLimited, l.rate, secs)
		} else {
			err = api.Errorf(http.StatusTooManyRequests, "TooManyRequests", msgRateLimited, key, l.rate, secs)
		}
		api.WriteError(w, r, err)
	})
}

// clientKey is the bucket of an anonymous caller: its IP address, or its /64 for IPv6, which
// one host usually holds whole and could otherwise cycle through.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limiter is a set of token buckets: each key may spend burst requests at once and gains rate
// tokens per second, up to burst.
type limiter struct {
	rate, burst float64

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns nil (unlimited) for a zero rate.
func newLimiter(rate float64, burst int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket; when there is none, it says how long until there is.
func (l *limiter) take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		// Full (the periodic sweep keeps it well below unless many addresses are in use):
		// forget some caller at random. At worst it gets a fresh burst; memory stays bounded
		// and a request never pays for a scan of the whole map.
		if len(l.buckets) >= maxBuckets {
			for k := range l.buckets {
				delete(l.buckets, k)
				break
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops the buckets that have filled up again: a full bucket is the same as none, so
// only callers active within the last burst/rate seconds take memory.
func (l *limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
